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

# History read right after the close waits for the recorder as long as a loaded CI machine may need.
start_exchange "$port" "$work/data" "$work/server.log" HISTORY_WAIT_MS=30000 || { echo "0 passed, 1 failed"; exit 1; }
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
  # An engine command must say it succeeded, not merely come back without an error.
  if [ $status -eq 0 ] && ! grep -q '"success":false\|"status":4[0-9][0-9]\|"status":5[0-9][0-9]' <<<"$output" \
     && { [[ $line != *"/api/v1/engine"* ]] || grep -q '"success":true' <<<"$output"; }; then
    passed=$((passed + 1)); echo "ok   $line"
  else
    failed=$((failed + 1)); echo "FAIL $line"; echo "$output" | head -5
  fi
  last_output=$output
done <"$work/walkthrough.sh"

# What the session did: a trade id came back, and the closed trade is in the history the last line read.
TRADE_ID=
source ./env.sh 2>/dev/null
if [[ $TRADE_ID =~ ^[0-9a-f]{32}$ ]] && grep -q "\"tradeId\":\"$TRADE_ID\"" <<<"${last_output:-}" && grep -q '"closeReason":"MANUAL"' <<<"${last_output:-}"; then
  passed=$((passed + 1)); echo "ok   the trade it opened ($TRADE_ID) is in the closed history, closed by hand"
else
  failed=$((failed + 1)); echo "FAIL the trade it opened (${TRADE_ID:-none}) is not in the closed history:"; echo "${last_output:-}" | head -5
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
