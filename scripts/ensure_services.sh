#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, starting them if they are down.
# Exits non-zero when either cannot be reached: tests never fall back to SQLite.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
DB_NAME=${SIGMASIGHT_DB_NAME:-sigmasight}
REDIS_PORT=${REDIS_PORT:-6379}

wait_for() {  # wait_for <description> <command...>
  local what=$1; shift
  for _ in $(seq 1 30); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "ERROR: $what is not reachable" >&2
  return 1
}

if ! pg_isready -h "$PGHOST" -p "$PGPORT" -q 2>/dev/null; then
  echo "PostgreSQL is down; starting it"
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
wait_for "PostgreSQL at $PGHOST:$PGPORT" pg_isready -h "$PGHOST" -p "$PGPORT" -q

if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
  echo "Redis is down; starting it"
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no || true
  fi
fi
wait_for "Redis at 127.0.0.1:$REDIS_PORT" sh -c "redis-cli -h 127.0.0.1 -p $REDIS_PORT ping | grep -q PONG"

# The main database must exist for Django to create its test database beside it.
if ! psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'" | grep -q 1; then
  createdb -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" "$DB_NAME"
fi
echo "Services ready: PostgreSQL $PGHOST:$PGPORT/$DB_NAME, Redis 127.0.0.1:$REDIS_PORT"
