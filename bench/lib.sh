# shellcheck shell=bash
# Shared helpers of the load benchmarks (bench/ingest.sh, bench/compare.sh).
# Source it, then call bench_init once:
#
#   . bench/lib.sh
#   bench_init ingest          # BENCH_WORK=/tmp/hawker-ingest.XXXXXX, exit hooks armed
#
# What lives here, once:
#   - a work folder and a stack of exit hooks: every process a script starts is
#     stopped on exit, on failure and on Ctrl-C; the folder is removed unless KEEP=1;
#   - free loopback ports (bounded search) and bounded waits for them;
#   - nginx answering `return 200` (the ceiling);
#   - hawker serve on the embedded default, a seller's product with 10^9 units,
#     and the wrk Lua script POSTing /v1/orders (unique Idempotency-Key per
#     request, buyer tokens spread over 64 users);
#   - wrk with the shared settings (WRK_THREADS, WRK_CONNECTIONS, WRK_DURATION)
#     and parsing its requests/s;
#   - PostgreSQL 15 (initdb in its own folder, default durability) and a
#     nats-server with JetStream (file storage in the work folder);
#   - a one-line description of the machine.
# Only PIDs these helpers started are ever signalled; nothing is killed by name.
# Everything listens on 127.0.0.1.

BENCH_THREADS="${WRK_THREADS:-2}"
BENCH_CONNECTIONS="${WRK_CONNECTIONS:-256}"
BENCH_DURATION="${WRK_DURATION:-10s}"
BENCH_NAME=bench
BENCH_EXIT_HOOKS=()

bench_log() { echo "$BENCH_NAME: $*" >&2; }
bench_die() { echo "$BENCH_NAME: error: $*" >&2; exit 1; }

# bench_at_exit CMD: run CMD (a string for eval) on exit; hooks run newest first.
bench_at_exit() { BENCH_EXIT_HOOKS+=("$1"); }

bench_run_exit_hooks() {
  local status=$? i
  trap - EXIT
  for ((i = ${#BENCH_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
    eval "${BENCH_EXIT_HOOKS[i]}" || true
  done
  exit "$status"
}

# bench_init NAME: work folder $BENCH_WORK, exit/signal traps, progress prefix NAME.
bench_init() {
  BENCH_NAME="$1"
  BENCH_WORK=$(mktemp -d "/tmp/hawker-$1.XXXXXX")
  : > "$BENCH_WORK/ports.claimed"
  trap bench_run_exit_hooks EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'echo "$BENCH_NAME: error: line $LINENO: \`$BASH_COMMAND\` failed" >&2' ERR
  # shellcheck disable=SC2016 # expanded when the hook runs
  bench_at_exit 'if [ -n "${KEEP:-}" ] && [ "${KEEP:-}" != 0 ]; then echo "$BENCH_NAME: kept $BENCH_WORK" >&2; else rm -rf "$BENCH_WORK"; fi'
}

# bench_need_package PKG: installs the Debian package when it is missing (root only).
bench_need_package() {
  dpkg -s "$1" > /dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || bench_die "package $1 is missing and installing it needs root: apt-get install -y $1"
  bench_log "installing $1..."
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" > "$BENCH_WORK/apt-$1.log" 2>&1; then
    bench_log "apt-get install $1 failed; refreshing the package index once"
    apt-get update > "$BENCH_WORK/apt-update.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$1" > "$BENCH_WORK/apt-$1.log" 2>&1 \
      || { tail -5 "$BENCH_WORK/apt-$1.log" >&2; bench_die "apt-get install -y $1 failed"; }
  fi
}

bench_port_listening() { [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }

# bench_free_port FIRST: the first loopback TCP port >= FIRST that nobody listens
# on and this script has not handed out already (at most 200 tried).
bench_free_port() {
  local port
  for ((port = $1; port < $1 + 200; port++)); do
    grep -qx "$port" "$BENCH_WORK/ports.claimed" && continue
    bench_port_listening "$port" && continue
    echo "$port" >> "$BENCH_WORK/ports.claimed"
    echo "$port"
    return 0
  done
  bench_die "no free TCP port in $1..$(($1 + 199))"
}

# bench_wait_port PORT WHAT [TRIES]: until 127.0.0.1:PORT accepts (0.1 s per try).
bench_wait_port() {
  local try
  for ((try = 0; try < ${3:-100}; try++)); do
    (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null && return 0
    sleep 0.1
  done
  bench_die "$2 did not listen on 127.0.0.1:$1 within $((${3:-100} / 10)) s"
}

# bench_stop_pid PID [SIGNAL]: signal, wait up to 10 s, then SIGKILL. PID must be ours.
bench_stop_pid() {
  local pid="$1" try
  [ -n "$pid" ] || return 0
  kill -"${2:-TERM}" "$pid" 2> /dev/null || return 0
  for ((try = 0; try < 100; try++)); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2> /dev/null && kill -KILL "$pid" 2> /dev/null
  wait "$pid" 2> /dev/null || true
}

# bench_nginx_start: nginx (return 200) on a free port; sets NGINX_PORT.
bench_nginx_start() {
  local dir="$BENCH_WORK/nginx"
  mkdir -p "$dir"
  NGINX_PORT=$(bench_free_port "${NGINX_PORT_FIRST:-18790}")
  cat > "$dir/nginx.conf" << NGINX
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { return 200 "ok"; }
  }
}
NGINX
  bench_at_exit bench_nginx_stop
  nginx -c "$dir/nginx.conf" -e "$dir/error.log" || bench_die "nginx did not start (see $dir/error.log)"
  bench_wait_port "$NGINX_PORT" nginx
  local try
  for ((try = 0; try < 50; try++)); do
    [ -s "$dir/nginx.pid" ] && return 0
    sleep 0.1
  done
  bench_die "nginx wrote no pid file $dir/nginx.pid"
}

bench_nginx_stop() {
  local pid_file="$BENCH_WORK/nginx/nginx.pid"
  [ -f "$pid_file" ] || return 0
  bench_stop_pid "$(cat "$pid_file")"
  rm -f "$pid_file"
}

# bench_hawker_start HAWKER: hawker serve on the embedded default, data in
# $BENCH_WORK/data, on a free port; sets HAWKER_PORT, HAWKER_PID. No HLS origin
# (it is not measured, and its default port may belong to someone else's server).
bench_hawker_start() {
  BENCH_HAWKER="$1"
  [ -x "$BENCH_HAWKER" ] || bench_die "$BENCH_HAWKER is missing; build it: bash scripts/build.sh release hawker"
  HAWKER_PORT=$(bench_free_port "${HAWKER_PORT_FIRST:-18791}")
  "$BENCH_HAWKER" serve --data "$BENCH_WORK/data" --listen "127.0.0.1:$HAWKER_PORT" --hls-listen '' \
    --log-level warn 2> "$BENCH_WORK/hawker.log" &
  HAWKER_PID=$!
  bench_at_exit bench_hawker_stop
  local try
  for ((try = 0; try < 100; try++)); do
    curl -sf "http://127.0.0.1:$HAWKER_PORT/healthz" > /dev/null && return 0
    kill -0 "$HAWKER_PID" 2> /dev/null || break
    sleep 0.1
  done
  tail -5 "$BENCH_WORK/hawker.log" >&2 || true
  bench_die "hawker serve did not answer /healthz on 127.0.0.1:$HAWKER_PORT"
}

bench_hawker_stop() {
  bench_stop_pid "${HAWKER_PID:-}"
  HAWKER_PID=
}

# bench_hawker_orders_script: a seller's product with 10^9 units and the wrk
# script $BENCH_WORK/orders.lua buying it (64 buyers, a unique key per request).
bench_hawker_orders_script() {
  local seller product i
  seller=$("$BENCH_HAWKER" token --sub bench-seller --role seller --data "$BENCH_WORK/data")
  product=$(curl -sf -X POST "http://127.0.0.1:$HAWKER_PORT/v1/products" -H "Authorization: Bearer $seller" \
    -d '{"title":"ingest bench","price_cents":100,"stock":1000000000}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
  [ -n "$product" ] || bench_die "hawker did not create the bench product"
  {
    echo "tokens = {"
    for i in $(seq 64); do echo "\"$("$BENCH_HAWKER" token --sub "bench-buyer-$i" --data "$BENCH_WORK/data")\","; done
    echo "}"
    cat << LUA
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end
local counter = 0
local body = '{"product_id":"$product","quantity":1,"payment_token":"tok_visa"}'
function request()
  counter = counter + 1
  local headers = {}
  headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]
  headers["Idempotency-Key"] = "w" .. tid .. "-" .. counter
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/v1/orders", headers, body)
end
LUA
  } > "$BENCH_WORK/orders.lua"
}

# bench_hawker_metric NAME_PREFIX: the value of the first /metrics line starting so.
bench_hawker_metric() {
  curl -sf "http://127.0.0.1:$HAWKER_PORT/metrics" | awk -v prefix="$1" '!found && index($0, prefix) == 1 { value = $2; found = 1 } END { print value }'
}

# bench_wrk OUT URL [wrk args...]: wrk with the shared settings, output to OUT.
bench_wrk() {
  local out="$1" url="$2"
  shift 2
  wrk -t"$BENCH_THREADS" -c"$BENCH_CONNECTIONS" -d"$BENCH_DURATION" "$@" "$url" > "$out" \
    || bench_die "wrk against $url failed: $(cat "$out")"
  [ -n "$(bench_requests_per_second < "$out")" ] || bench_die "wrk against $url measured nothing: $(cat "$out")"
}

# wrk output on stdin -> requests/s.
bench_requests_per_second() { grep "Requests/sec" | awk '{print $2}'; }

# wrk output on stdin -> 2xx answers/s ((requests - non-2xx) / seconds).
bench_2xx_per_second() {
  awk '/requests in/ { n = $1; s = $4; sub(/,$/, "", s);
         if (s ~ /ms$/) { sub(/ms$/, "", s); s /= 1000 } else if (s ~ /m$/) { sub(/m$/, "", s); s *= 60 } else sub(/s$/, "", s) }
       /Non-2xx/ { bad = $NF }
       END { if (s > 0) printf "%.2f\n", (n - bad) / s }'
}

# One line: cores, CPU model, RAM, kernel, OS.
bench_machine() {
  local model ram_gib os
  model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
  ram_gib=$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)
  os=$(. /etc/os-release 2> /dev/null && echo "$PRETTY_NAME")
  echo "$(nproc) cores, ${model:-unknown CPU}, $ram_gib GiB RAM, Linux $(uname -r)${os:+, $os}"
}

# --- PostgreSQL 15 on loopback: bench_pg_start sets PG_WORK (its folder, owned
# by the postgres user when root runs this) and PG_PORT; pg_psql runs SQL as
# the postgres superuser on database postgres; stopped on exit.
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
pg_as() {
  if [ "$(id -u)" = 0 ]; then
    (cd "$PG_WORK" && runuser -u postgres -- "$@")
  else
    (cd "$PG_WORK" && "$@")
  fi
}
pg_psql() { pg_as "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@" postgres; }
bench_pg_stop() {
  [ -f "$PG_WORK/data/postmaster.pid" ] || return 0
  pg_as "$PG_BIN/pg_ctl" -D "$PG_WORK/data" -m fast -w -t 30 stop > /dev/null 2>&1 && return 0
  bench_stop_pid "$(head -1 "$PG_WORK/data/postmaster.pid")" KILL
}
bench_pg_start() {
  [ -x "$PG_BIN/postgres" ] || bench_die "PostgreSQL 15 binaries not found in $PG_BIN"
  # Its own folder: the postgres user must own it, and $BENCH_WORK is root's alone.
  PG_WORK=$(mktemp -d "/tmp/hawker-$BENCH_NAME-pg.XXXXXX")
  # shellcheck disable=SC2016 # expanded when the hook runs
  bench_at_exit 'if [ -n "${KEEP:-}" ] && [ "${KEEP:-}" != 0 ]; then echo "$BENCH_NAME: kept $PG_WORK" >&2; else rm -rf "$PG_WORK"; fi'
  bench_at_exit bench_pg_stop
  if [ "$(id -u)" = 0 ]; then
    id -u postgres > /dev/null 2>&1 || bench_die "no 'postgres' user (the postgresql-15 package creates it)"
    chown -R postgres:postgres "$PG_WORK"
  fi
  PG_PORT=$(bench_free_port 18800)
  pg_as "$PG_BIN/initdb" -D "$PG_WORK/data" -A trust -U postgres -E UTF8 --locale=C --no-instructions \
    > "$BENCH_WORK/initdb.log" 2>&1 || { tail -5 "$BENCH_WORK/initdb.log" >&2; bench_die "initdb failed"; }
  pg_as "$PG_BIN/pg_ctl" -D "$PG_WORK/data" -l "$PG_WORK/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_WORK -c max_connections=300" \
    start > /dev/null 2>&1 || { tail -5 "$PG_WORK/postgres.log" >&2; bench_die "PostgreSQL did not start on 127.0.0.1:$PG_PORT"; }
  [ "$(pg_psql -c 'SHOW fsync')/$(pg_psql -c 'SHOW synchronous_commit')" = on/on ] \
    || bench_die "PostgreSQL is not at default durability (fsync, synchronous_commit)"
}
