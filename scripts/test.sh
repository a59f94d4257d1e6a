#!/usr/bin/env bash
# Quick start, command 2: install what is missing, then run the whole suite: typecheck, lint,
# format, unit and API tests on PGlite and on a throwaway PostgreSQL cluster, and real-VM tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "test: typecheck, lint, format"
npx tsc -p .
npx eslint . --max-warnings 0
npx prettier --check . --log-level warn

cleanup() { :; }
if [ -z "${HEARTH_TEST_PG_URL:-}" ]; then
  # A throwaway PostgreSQL cluster from Debian's postgresql package, owned by the postgres user.
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pgdir=$(mktemp -d /tmp/hearth-pg.XXXXXX)
  chown postgres:postgres "$pgdir"
  port=$(( 40000 + RANDOM % 20000 ))
  runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  cleanup() {
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pgdir"
  }
  export HEARTH_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "test: throwaway PostgreSQL on port $port"
fi
trap cleanup EXIT

echo "test: vitest"
npx vitest run "$@"
