#!/usr/bin/env bash
# Browser end-to-end tests: starts the exchange (Release build, fast-moving simulated prices),
# runs web/e2e in headless Chromium (Debian's /usr/bin/chromium via playwright-core) and prints
# "N passed, N failed". Screenshots land in artifacts/screenshots/.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
port=${1:-3106}
work=$(mktemp -d)
source scripts/lib/exchange.sh
trap 'stop_exchange; rm -rf "$work"' EXIT

# Fast, lively prices so the tests see them move within seconds; history read after a close
# waits for the recorder as long as the tests do (a busy machine can stall it for seconds).
start_exchange "$port" "$work/data" "$work/server.log" POLLER_UPDATE_INTERVAL=250 POLLER_VOLATILITY=0.001 HISTORY_WAIT_MS=30000 \
  || { echo "0 passed, 1 failed"; exit 1; }
sleep 1

cd web
# A test that hangs fails after 2 minutes, and the whole run is stopped after 10 (it takes ~25 s).
EXCHANGE_URL="http://127.0.0.1:$port" SCREENSHOT_DIR="$root/artifacts/screenshots" \
  timeout 600 node --test --test-timeout=120000 --test-reporter=spec e2e/terminal.e2e.mjs 2>&1 | tee "$work/e2e.log"
status=${PIPESTATUS[0]}
pass=$(awk '/^ℹ pass /{print $3}' "$work/e2e.log" | tail -n 1)
fail=$(awk '/^ℹ fail /{print $3}' "$work/e2e.log" | tail -n 1)
if [ -z "$pass" ]; then pass=0; fail=1; tail -n 30 "$work/server.log"; fi
[ "$status" -ne 0 ] && [ "${fail:-0}" -eq 0 ] && fail=1
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
