#!/bin/sh
# Entrypoint of the `postgres` OCI test image, after the official image's docker-entrypoint.sh:
# on an empty PGDATA it runs initdb (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB), opens the
# server to the network with password (scram-sha-256) auth, then runs the command as user postgres
# (setpriv: no setuid helper).
set -eu
: "${PGDATA:=/var/lib/postgresql/data/pgdata}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
export PGDATA
as_pg() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

if [ "${1:-}" = "postgres" ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql
  chmod 700 "$PGDATA"
  chmod 2775 /run/postgresql
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
      echo "postgres entrypoint: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
      exit 1
    fi
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    as_pg initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >&2
    rm -f "$pwfile"
    printf "\nhost all all all scram-sha-256\n" >> "$PGDATA/pg_hba.conf"
    printf "\nlisten_addresses = '*'\njit = off\n" >> "$PGDATA/postgresql.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
      as_pg pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >&2
      echo 'CREATE DATABASE :"db";' |
        as_pg psql -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" --username="$POSTGRES_USER" --dbname=postgres >&2
      as_pg pg_ctl -D "$PGDATA" -m fast -w stop >&2
    fi
    echo "postgres entrypoint: initialized $PGDATA" >&2
  fi
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
fi
exec "$@"
