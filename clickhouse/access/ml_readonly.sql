-- Server mode only (CLICKHOUSE_URL): read-only ClickHouse access for ML engineers (docs/ml.md).
-- Applied by `npm run cli -- ml-access apply` (`--print` shows the SQL it runs; read it there, not
-- here: this file is a template). Placeholders:
--   ${db}                  the marts database (CLICKHOUSE_DATABASE, default reports)
--   ${ml_view}             the statement is repeated once per view of clickhouse/access/ml-views.ts
--   ${password_sha256_hex} string literal: hex SHA-256 of BIONICPRO_ML_CLICKHOUSE_PASSWORD + salt
--   ${password_salt}       string literal: random per apply. The password itself never appears
-- Idempotent: running it again resets the profile's limits, the role's grants and the user.
-- Needs migration 011 (the views run with their definer's rights, so SELECT on them is enough).

-- readonly = 2, not 1: SELECT only (no INSERT, ALTER, CREATE, DROP, SYSTEM, ...), but clients may
-- still send harmless settings with a query (notebook drivers do; readonly = 1 refuses them all).
-- The limits are CONST: no query, SET or URL parameter can raise them.
CREATE SETTINGS PROFILE IF NOT EXISTS ml_readonly;

ALTER SETTINGS PROFILE ml_readonly SETTINGS
    readonly = 2,
    allow_ddl = 0 CONST,
    max_execution_time = 60 CONST,
    max_memory_usage = 4000000000 CONST,
    max_result_rows = 1000000 CONST,
    result_overflow_mode = 'throw' CONST,
    max_rows_to_read = 1000000000 CONST,
    read_overflow_mode = 'throw' CONST,
    max_concurrent_queries_for_user = 4 CONST;

CREATE ROLE IF NOT EXISTS ml_reader;

ALTER ROLE ml_reader SETTINGS PROFILE 'ml_readonly';

-- Start from nothing, then grant SELECT on the ml_* views only.
REVOKE ALL ON *.* FROM ml_reader;

GRANT SELECT ON ${db}.${ml_view} TO ml_reader;

CREATE USER OR REPLACE ml_engineer
    IDENTIFIED WITH sha256_hash BY ${password_sha256_hex} SALT ${password_salt}
    DEFAULT DATABASE ${db}
    GRANTEES NONE
    SETTINGS PROFILE 'ml_readonly';

GRANT ml_reader TO ml_engineer;

ALTER USER ml_engineer DEFAULT ROLE ml_reader;
