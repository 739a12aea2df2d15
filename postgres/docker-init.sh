#!/usr/bin/env bash
# docker-entrypoint-initdb.d hook of docker-compose.yml: the same databases and DDL as `stack up`.
set -euo pipefail
for db in crm_db telemetry_db schema_registry; do
  psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -c "CREATE DATABASE $db"
done
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d crm_db -f /bionicpro/postgres/001_crm_db.sql
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d telemetry_db -f /bionicpro/postgres/002_telemetry_db.sql
