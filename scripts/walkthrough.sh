#!/usr/bin/env bash
# Runs the README's curl walkthrough, line for line, against a freshly started exchange.
# Prints "N passed, N failed" for the test summary. Usage: scripts/walkthrough.sh [port]
set -uo pipefail
cd "$(dirname "$0")/.."
port=${1:-3105}
work=$(mktemp -d)
source scripts/lib/exchange.sh
trap 'stop_exchange; rm -rf "$work"' EXIT

# The block between the walkthrough markers in README.md, with a fresh email and our port.
awk '/<!-- walkthrough:start -->/{on=1;next} /<!-- walkthrough:end -->/{on=0} on' README.md \
  | sed -e '/^```/d' \
        -e "s/trader@example.com/walk-$$-$RANDOM@example.com/g" \
        -e "s#http://localhost:3005#http://127.0.0.1:$port#g" >"$work/walkthrough.sh"

start_exchange "$port" "$work/data" "$work/server.log" || { echo "0 passed, 1 failed"; exit 1; }
# Give the simulated feed a moment to publish the first prices.
sleep 2

passed=0 failed=0
cd "$work"
# Each non-comment line of the block is one step; a step passes when curl succeeds and the
# answer is not an error document.
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  # A step the server never answers fails after 60 s instead of holding the whole run.
  output=$(timeout 60 bash -c "set -euo pipefail; source ./env.sh 2>/dev/null || true; $line; declare -p TRADE_ID 2>/dev/null >> ./env.sh || true" 2>&1)
  status=$?
  if [ $status -eq 0 ] && ! grep -q '"success":false\|"status":4[0-9][0-9]\|"status":5[0-9][0-9]' <<<"$output"; then
    passed=$((passed + 1)); echo "ok   $line"
  else
    failed=$((failed + 1)); echo "FAIL $line"; echo "$output" | head -5
  fi
done <"$work/walkthrough.sh"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
