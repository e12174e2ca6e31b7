#!/bin/bash
# As the official image: an empty data directory is initialised with POSTGRES_USER (default postgres) as superuser,
# its password POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust) and database POSTGRES_DB (default
# the user's name); remote connections need the password. The server runs as user postgres.
set -euo pipefail
if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
    echo 'Error: Database is uninitialized and superuser password is not specified (POSTGRES_PASSWORD).' >&2
    exit 1
  fi
  user=${POSTGRES_USER:-postgres} db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
  initdb -D "$PGDATA" -U "$user" --auth-local=trust --auth-host="$auth" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") >/dev/null
  echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$db" != postgres ]; then psql -v ON_ERROR_STOP=1 -U "$user" -d postgres -qc "CREATE DATABASE \"$db\""; fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
if [ "${1:-}" = postgres ]; then set -- "$@" -c listen_addresses='*'; fi
exec "$@"
