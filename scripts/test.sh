#!/usr/bin/env bash
# Runs every test suite of the exchange and ends with one line: "N passed, N failed, N skipped".
# Installs what the suites need itself (Chromium, PostgreSQL binaries, Node packages), so it
# works on a fresh Debian machine with the .NET 10 SDK and Node 20 (and in CI).
#   ./scripts/test.sh            all suites
#   LONG=1 ./scripts/test.sh     longer crash runs (300 SIGKILLs)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=${TEST_WORK:-$root/.test-work}
mkdir -p "$work"

passed=0 failed=0 skipped=0
count() { passed=$((passed + $1)); failed=$((failed + $2)); skipped=$((skipped + ${3:-0})); }
step() { printf '\n=== %s ===\n' "$*"; }

# Sums the per-assembly summaries `dotnet test` prints ("Passed!  - Failed: 0, Passed: 69, Skipped: 0, ...").
count_dotnet() {
  local log=$1 status=$2 p f s
  read -r p f s < <(awk '
    /(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+/ {
      match($0, /Failed: +[0-9]+/); f += substr($0, RSTART + 7, RLENGTH - 7)
      match($0, /Passed: +[0-9]+/); p += substr($0, RSTART + 7, RLENGTH - 7)
      match($0, /Skipped: +[0-9]+/); s += substr($0, RSTART + 8, RLENGTH - 8)
    }
    END { print p + 0, f + 0, s + 0 }' "$log")
  # A build error or crashed test host leaves no summary: count it as a failure.
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  count "$p" "$f" "$s"
}

step "install what the suites need"
need=()
command -v chromium >/dev/null || need+=(chromium)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
  if ! { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }; then
    # The suites that need them fail below rather than skip: count the cause here too.
    echo "could not install ${need[*]} (needs root or sudo): the browser and PostgreSQL suites cannot run"; count 0 1
  fi
fi
(cd web && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed"; count 0 1; }
# The PostgreSQL tests fail instead of skipping when the server they need cannot start.
export REQUIRE_POSTGRES=1

step "format (dotnet format --verify-no-changes)"
if dotnet format Exchange.slnx --verify-no-changes -v q >"$work/format.log" 2>&1; then
  count 1 0
else
  cat "$work/format.log"; echo "dotnet format found changes to make"; count 0 1
fi

step "build (Release; builds the web terminal too)"
dotnet build Exchange.slnx -c Release -v q -nologo >"$work/build.log" 2>&1
build_status=$?
if [ "$build_status" -eq 0 ]; then tail -n 3 "$work/build.log"; else grep -E 'error|Error' "$work/build.log" | sort -u | head -n 40; echo "build failed (full log: $work/build.log)"; fi

step ".NET tests (unit, property, journal and crash recovery, database, feed, API integration)"
if [ "$build_status" -eq 0 ]; then
  # A test that hangs is stopped after 5 minutes and named, and counts as a failure, instead of holding CI.
  dotnet test Exchange.slnx -c Release --no-build -nologo --blame-hang-timeout 5m --blame-hang-dump-type none 2>&1 | tee "$work/dotnet-test.log"
  count_dotnet "$work/dotnet-test.log" "${PIPESTATUS[0]}"
else
  count 0 1
fi

step "web unit tests (vitest)"
(cd web && npx vitest run 2>&1) | tee "$work/vitest.log"
vitest_status=${PIPESTATUS[0]}
read -r p f < <(sed 's/\x1b\[[0-9;]*m//g' "$work/vitest.log" | awk '/^ *Tests +/ {
    p = 0; f = 0
    if (match($0, /[0-9]+ passed/)) p = substr($0, RSTART, RLENGTH) + 0
    if (match($0, /[0-9]+ failed/)) f = substr($0, RSTART, RLENGTH) + 0
  } END { print p + 0, f + 0 }')
[ "$vitest_status" -ne 0 ] && [ "$f" -eq 0 ] && f=1
count "$p" "$f"

# Runs a script against the built server and counts its last "N passed, N failed" line; no
# build, or no such line, counts as one failure.
count_script() {
  local log="$work/$(basename "$1" .sh).log" p f
  if [ "$build_status" -ne 0 ]; then count 0 1; return; fi
  "$1" 2>&1 | tee "$log"
  read -r p f < <(awk '/^[0-9]+ passed, [0-9]+ failed$/ {print $1, $3}' "$log" | tail -n 1)
  p=${p:-0} f=${f:-1}
  # A script that ran nothing (its steps not found) has tested nothing.
  [ $((p + f)) -eq 0 ] && f=1
  count "$p" "$f"
}

step "README walkthrough against a running server (scripts/walkthrough.sh)"
count_script ./scripts/walkthrough.sh

step "browser end-to-end tests in headless Chromium (scripts/e2e.sh; screenshots in artifacts/screenshots)"
count_script ./scripts/e2e.sh

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
