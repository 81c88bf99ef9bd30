# Sourced by the test scripts: start a built exchange on a port and stop it on exit.
# Usage: start_exchange PORT DATA_DIR LOG [VAR=value ...]; sets server_pid; waits for /readyz.
server_pid=
start_exchange() {
  local port=$1 data=$2 log=$3
  shift 3
  env EXCHANGE_DATA_DIR="$data" ASPNETCORE_ENVIRONMENT=Development Logging__LogLevel__Default=Warning "$@" \
    dotnet run --no-build -c "${CONFIGURATION:-Release}" --project src/Exchange.Server -- --urls "http://127.0.0.1:$port" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0
    sleep 0.5
  done
  echo "the exchange did not become ready on port $port:"; tail -n 30 "$log"
  return 1
}

stop_exchange() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
}
