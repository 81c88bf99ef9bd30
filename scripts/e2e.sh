#!/usr/bin/env bash
# Browser end-to-end tests: starts the exchange (Release build, fast-moving simulated prices),
# runs web/e2e in headless Chromium (Debian's /usr/bin/chromium via playwright-core) and prints
# "N passed, N failed". Screenshots land in artifacts/screenshots/.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
port=${1:-3106}
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

EXCHANGE_DATA_DIR="$work/data" ASPNETCORE_ENVIRONMENT=Development POLLER_UPDATE_INTERVAL=250 POLLER_VOLATILITY=0.001 \
  Logging__LogLevel__Default=Warning \
  dotnet run --no-build -c "${CONFIGURATION:-Release}" --project src/Exchange.Server -- --urls "http://127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.5
done
sleep 1

cd web
EXCHANGE_URL="http://127.0.0.1:$port" SCREENSHOT_DIR="$root/artifacts/screenshots" node --test --test-reporter=spec e2e/terminal.e2e.mjs 2>&1 | tee "$work/e2e.log"
status=${PIPESTATUS[0]}
pass=$(awk '/^ℹ pass /{print $3}' "$work/e2e.log" | tail -n 1)
fail=$(awk '/^ℹ fail /{print $3}' "$work/e2e.log" | tail -n 1)
if [ -z "$pass" ]; then pass=0; fail=1; tail -n 30 "$work/server.log"; fi
[ "$status" -ne 0 ] && [ "${fail:-0}" -eq 0 ] && fail=1
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
