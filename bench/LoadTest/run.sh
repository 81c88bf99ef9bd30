#!/usr/bin/env bash
# Builds the server and the load generator in Release, starts the server on a fresh data
# folder (AUTH_RATE_LIMIT_PER_MINUTE raised so the generator can sign up its traders), runs
# the generator against it with the given options, and stops the server by its pid.
#   bench/LoadTest/run.sh --traders 200 --rate 2000 --seconds 30 --warmup 60
#   DATA_DIR=/dev/shm/x bench/LoadTest/run.sh --find-max --rate 2000   # tmpfs: fsync costs nothing
# Before the server starts, 10 s of `LoadTest disk` on the data folder say how the disk's fsyncs
# behave right now (DISK_CHECK=0 skips it): on a shared host their stalls move the p99 from run to run.
# A data folder it made itself is deleted at the end (a 30 s run at 2,000/s leaves ~100 MB of
# database); one given in DATA_DIR, or any with KEEP_DATA=1, is kept for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-3300}
for arg in "$@"; do
    case $arg in --url|--url=*|--server-pid|--server-pid=*) echo "run.sh starts and measures its own server: drop $arg (or run the LoadTest dll directly)"; exit 2 ;; esac
done
OWN_DATA=
[[ -n ${DATA_DIR:-} || ${KEEP_DATA:-} == 1 ]] || OWN_DATA=1
DATA_DIR=${DATA_DIR:-$(mktemp -d)}
mkdir -p "$DATA_DIR"
SERVER=
# A failed run keeps the server's log (printed here) even where the data folder goes.
stop() {
    local status=$?
    [[ -z $SERVER ]] || { kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true; }
    [[ $status -eq 0 || ! -f $DATA_DIR/server.log ]] || tail -n 30 "$DATA_DIR/server.log"
    [[ -z $OWN_DATA ]] || rm -rf "$DATA_DIR"
}
trap stop EXIT
# A server left on the port would answer for ours, which exits on the taken address.
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then echo "port $PORT is in use: stop what listens there, or set PORT"; exit 1; fi
[[ ${SKIP_BUILD:-} == 1 ]] || { dotnet build -c Release src/Exchange.Server -v q -nologo && dotnet build -c Release bench/LoadTest -v q -nologo; } >/dev/null
[[ ${DISK_CHECK:-1} == 0 ]] || dotnet bench/LoadTest/bin/Release/net10.0/LoadTest.dll disk --dir "$DATA_DIR" --seconds 10

# Same as `dotnet run -c Release --no-build --project src/Exchange.Server` (content root is the
# project folder), but exec'd so that $! is the server itself, not a dotnet-run parent.
# Production, as an operator runs it (no developer exception page), with a throwaway JWT secret.
# The exchange as configured by default: settings in the caller's environment (a DATABASE_URL,
# other roles) would measure another set-up. DOTNET_* and POLLER_* pass through on purpose, and
# are printed below so the record says what ran.
(cd src/Exchange.Server && exec env -u DATABASE_URL -u REDIS_URL -u EXCHANGE_ROLES -u ASPNETCORE_URLS \
    EXCHANGE_DATA_DIR="$DATA_DIR" AUTH_RATE_LIMIT_PER_MINUTE=1000000 \
    ASPNETCORE_ENVIRONMENT=Production AUTH_JWT_SECRET="$(head -c 48 /dev/urandom | base64)" Logging__LogLevel__Default=Warning \
    dotnet bin/Release/net10.0/Exchange.Server.dll --urls "http://127.0.0.1:$PORT") >"$DATA_DIR/server.log" 2>&1 &
SERVER=$!
ready=
for _ in $(seq 1 300); do
    kill -0 "$SERVER" 2>/dev/null || { echo "the server exited before it was ready"; exit 1; }
    curl -sf --max-time 2 "http://127.0.0.1:$PORT/readyz" >/dev/null && { ready=1; break; }
    sleep 0.2
done
[[ -n $ready ]] || { echo "the server was not ready after 60 s"; exit 1; }
echo "server pid $SERVER, data $DATA_DIR, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)'), server dll of $(date -u -r src/Exchange.Server/bin/Release/net10.0/Exchange.Server.dll '+%Y-%m-%d %H:%M UTC')$(env | grep -E '^(DOTNET|POLLER)_' | grep -vE '^DOTNET_(CLI_|NOLOGO|GENERATE_ASPNET_CERTIFICATE)' | paste -sd ' ' | sed 's/^./, environment: &/')"
dotnet bench/LoadTest/bin/Release/net10.0/LoadTest.dll --url "http://127.0.0.1:$PORT" --server-pid "$SERVER" "$@"
