#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the test suite and print how to reach it.
#
#   eval "$(bash .ci/postgres.sh | grep '^export ')"   # or: source "$ML_INTERN_PG_DIR/env" afterwards
#
# Idempotent: a second run finds the server up and prints the same line. Works as root on a fresh
# Debian machine (installs the `postgresql` package when missing and runs the server as the
# `postgres` user) or as an ordinary user with PostgreSQL already installed.
# Loopback only (127.0.0.1), its own port and data folder, so it never clashes with a system cluster.
# Durability is switched off (fsync, synchronous_commit): it holds test data only.
set -euo pipefail

PORT="${ML_INTERN_PG_PORT:-54329}"
DIR="${ML_INTERN_PG_DIR:-/var/tmp/ml-intern-postgres}"
ROLE="ml_intern"
PASSWORD="${ML_INTERN_PG_PASSWORD:-ml_intern_test_pw}"
DB="ml_intern_test"
URL="postgresql://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/${DB}"

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

BIN="$(find_bin)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed and this is not root: apt-get install -y postgresql"
    exit 1
  fi
  log "installing postgresql (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN="$(find_bin)"
fi

# Run server commands as `postgres` when root (the server refuses to run as root).
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  as_pg() { (cd / && runuser -u postgres -- "$@"); }  # from a folder postgres may enter
  mkdir -p "$DIR"
  chown postgres: "$DIR"
else
  as_pg() { "$@"; }
  mkdir -p "$DIR"
fi
chmod 700 "$DIR"

DATA="$DIR/data"
if [ ! -f "$DATA/PG_VERSION" ]; then
  log "initialising a cluster in $DATA"
  pwfile="$DIR/.superuser_pw"
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pwfile"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$pwfile"
  as_pg "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
  rm -f "$pwfile"
fi

if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  running_port="$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true)"
  if [ -n "$running_port" ] && [ "$running_port" != "$PORT" ]; then
    log "the server in $DATA already runs on port $running_port; using that"
    PORT="$running_port"
    URL="postgresql://${ROLE}:${PASSWORD}@127.0.0.1:${PORT}/${DB}"
  fi
  log "server already running on port $PORT"
else
  log "starting the server on 127.0.0.1:$PORT"
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 30 \
    -o "-p $PORT -c listen_addresses=127.0.0.1 -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >&2 || { tail -n 20 "$DIR/server.log" >&2; exit 1; }
fi

psql_su() { as_pg "$BIN/psql" -h "$DIR" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }

if [ "$(psql_su -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != "1" ]; then
  psql_su -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" >/dev/null
else
  psql_su -c "ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" >/dev/null
fi
# Tests drop their databases WITH (FORCE): the role may end other sessions still attached to them.
psql_su -c "GRANT pg_signal_backend TO $ROLE" >/dev/null
if [ "$(psql_su -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
  psql_su -c "CREATE DATABASE $DB OWNER $ROLE" >/dev/null
fi

echo "export ML_INTERN_TEST_DATABASE_URL=$URL" >"$DIR/env"
chmod 644 "$DIR/env"
echo "export ML_INTERN_TEST_DATABASE_URL=$URL"
