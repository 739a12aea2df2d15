#!/usr/bin/env bash
# Installs the host packages the native stack needs, from Debian's archive, only when missing:
# a Java 17+ runtime (Kafka, Connect, Keycloak), a Java 21+ runtime (Apicurio Registry 3), Maven (resolves the
# stack from Maven Central), PostgreSQL server binaries (the project runs its own cluster), Prometheus
# (the metrics test scrapes with it).
# `npm run stack -- up` (and so `npm start`) runs it first; it installs as root, or through `sudo -n`,
# and otherwise says which command to run.
set -euo pipefail

apt_get() {
  if [ "$(id -u)" -eq 0 ]; then
    apt-get "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo -n apt-get "$@"
  else
    echo "[host-packages] missing Debian packages; install them as root: apt-get install ${need[*]:-} (or run this script as root: bash scripts/stack/host-packages.sh)" >&2
    exit 1
  fi
}

need=()
have_java() { # $1 = minimum major version; $2 = "jdk": javac beside it too
  local j v
  for j in /usr/lib/jvm/*/bin/java $(command -v java || true); do
    [ -x "$j" ] || continue
    [ "${2:-}" != jdk ] || [ -x "$(dirname "$(readlink -f "$j")")/javac" ] || continue
    v=$("$j" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
    [ -n "$v" ] && [ "$v" -ge "$1" ] && return 0
  done
  return 1
}

# A JDK: the install compiles the connectors' Debezium snapshotter (connectors/snapshotter).
have_java 17 jdk || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v prometheus >/dev/null || need+=(prometheus)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  echo "[host-packages] apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! have_java 21; then
  # Debian 12 ships no Java 21; take one from Debian's archive where it exists (trixie and later).
  if apt-cache show openjdk-21-jdk-headless >/dev/null 2>&1; then
    need=(openjdk-21-jdk-headless)
    apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  elif apt-cache show openjdk-25-jdk-headless >/dev/null 2>&1; then
    need=(openjdk-25-jdk-headless)
    apt_get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "[host-packages] Apicurio Registry 3 needs Java 21+: install a JDK 21+ (e.g. Temurin) under /usr/lib/jvm" >&2
    echo "[host-packages] or set BIONICPRO_JAVA21_HOME to its home directory" >&2
    exit 1
  fi
fi
echo "[host-packages] host packages present"
