# Sourced by the test scripts: start a built exchange on a port and stop it on exit.
# Usage: start_exchange PORT DATA_DIR LOG [VAR=value ...]; sets server_pid; waits for /readyz.
server_pid=
start_exchange() {
  local port=$1 data=$2 log=$3
  shift 3
  # Something else on the port (a server left by a killed run, another checkout's tests) would
  # answer /readyz for ours, which exits on the taken address: the suite would test the wrong server.
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
    echo "port $port is already in use: stop what listens there, or pass another port"
    return 1
  fi
  env EXCHANGE_DATA_DIR="$data" ASPNETCORE_ENVIRONMENT=Development Logging__LogLevel__Default=Warning "$@" \
    dotnet run --no-build -c "${CONFIGURATION:-Release}" --project src/Exchange.Server -- --urls "http://127.0.0.1:$port" >"$log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 120); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "the exchange exited before it was ready:"; tail -n 30 "$log"
      return 1
    fi
    curl -sf --max-time 2 "http://127.0.0.1:$port/readyz" >/dev/null && return 0
    sleep 0.5
  done
  echo "the exchange did not become ready on port $port:"; tail -n 30 "$log"
  return 1
}

# Stops it as Ctrl-C would (final snapshot); one that has not exited after 30 s is killed, so a
# shutdown that hangs fails the suite instead of holding the whole run.
stop_exchange() {
  [ -n "$server_pid" ] || return 0
  kill "$server_pid" 2>/dev/null
  for _ in $(seq 1 60); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$server_pid" 2>/dev/null; then
    echo "the exchange did not stop within 30 s: killed"
    pkill -KILL -P "$server_pid" 2>/dev/null
    kill -KILL "$server_pid" 2>/dev/null
  fi
  wait "$server_pid" 2>/dev/null
  server_pid=
}
