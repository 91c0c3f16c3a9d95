#!/usr/bin/env bash
# Stop the ODK Central backend started by start.sh (SIGTERM to pm2-runtime, which stops its workers).
HERE="${ODK_HOME:?set ODK_HOME to the directory holding central-backend and node24 (bench/ODK.md)}"
[ -f "$HERE/server.pid" ] || { echo "not running"; exit 0; }
PID="$(cat "$HERE/server.pid")"
if kill -0 "$PID" 2>/dev/null; then
  kill -TERM "$PID"
  for _ in $(seq 1 80); do kill -0 "$PID" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$PID" 2>/dev/null; then kill -KILL -- "-$PID" 2>/dev/null || kill -KILL "$PID"; fi
fi
rm -f "$HERE/server.pid"
echo "stopped"
