#!/usr/bin/env bash
# Creates one database and one login role per Allsak service:
#   database <service>, role allsak_<service> (owner of that database, and no other).
# The postgres image runs this from /docker-entrypoint-initdb.d once, when its data
# volume is empty. It is idempotent, so it can also be run by hand against a server:
#   POSTGRES_USER=postgres PGHOST=db.example ALLSAK_DB_PASSWORD=... ./init-databases.sh
#
# Environment:
#   ALLSAK_DB_PASSWORD  password of every service role (required)
#   ALLSAK_DATABASES    services to create (default: all six)
#   POSTGRES_USER       superuser to connect as (set by the postgres image)
set -euo pipefail

services="${ALLSAK_DATABASES:-intake cases notify reporting integration gateway}"
password="${ALLSAK_DB_PASSWORD:?ALLSAK_DB_PASSWORD must be set}"

for service in $services; do
    role="allsak_${service}"
    echo "init-databases: database ${service}, role ${role}"
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
        -v role="$role" -v db="$service" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
-- A service connects to its own database only: no other role may connect to it.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT ALL PRIVILEGES ON DATABASE :"db" TO :"role";
SQL
done
