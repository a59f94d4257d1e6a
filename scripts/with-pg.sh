#!/usr/bin/env bash
# Runs a command with HEARTH_TEST_PG_URL pointing at a throwaway PostgreSQL cluster (Debian's
# postgresql package, run as the postgres user, on a random loopback port), removed afterwards.
# When HEARTH_TEST_PG_URL is already set, the command just runs against that server.
set -euo pipefail
if [ -n "${HEARTH_TEST_PG_URL:-}" ]; then exec "$@"; fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pgdir=$(mktemp -d /tmp/hearth-pg.XXXXXX)
chown postgres:postgres "$pgdir"
port=$(( 40000 + RANDOM % 20000 ))
cleanup() {
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pgdir"
}
trap cleanup EXIT
runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
  -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
export HEARTH_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "with-pg: throwaway PostgreSQL on port $port" >&2
"$@"
