#!/usr/bin/env bash
# hawker beside its peers, in one run on one machine (issue #6).
#
#   bash bench/compare.sh [build/release] [--no-append]
#
# Measures, one after the other, everything on 127.0.0.1:
#   1. nginx answering `return 200` under wrk (the ceiling);
#   2. hawker serve on the embedded default: wrk POSTing /v1/orders, a unique
#      Idempotency-Key per request, 64 buyers, one product with 10^9 units,
#      every 202 after a synced append (the same load as bench/ingest.sh);
#   3. the traditional synchronous checkout: PostgreSQL 15 with default
#      durability (fsync on, synchronous_commit on), pgbench running
#      bench/compare/checkout.sql (UPDATE the stock row, INSERT the order, one
#      transaction) with 1, 8, 64 and 256 clients on one hot product, then on
#      1,000 products;
#   4. the usual "seckill" stack: Redis 7 with appendonly yes, appendfsync
#      always and then everysec (a fresh server each), redis-benchmark calling
#      EVALSHA of bench/compare/seckill.lua (check stock, DECR, XADD the order).
# Then prints every figure and the issue's three ratio goals (met / not met),
# and appends the same, dated, with the machine and the command, to
# docs/BENCHMARKS.md under "## Issue #6" (skip with --no-append or
# COMPARE_APPEND=0).
#
# Settings: WRK_THREADS (2), WRK_CONNECTIONS (256), WRK_DURATION (10s) as in
# bench/ingest.sh; COMPARE_SECONDS sets the length of every measurement at once
# (wrk, pgbench -T, and the size of the redis-benchmark run), e.g.
# COMPARE_SECONDS=2 while developing. KEEP=1 keeps the temp folders.
# Missing peers are installed from Debian packages (needs root). PostgreSQL
# runs as the `postgres` user when this runs as root (it refuses root).
# Only processes this script started are stopped; nothing is killed by name.
set -euo pipefail
cd "$(dirname "$0")/.."
# The command as typed, with the settings that were given in the environment.
COMMAND_LINE="bash bench/compare.sh${*:+ $*}"
for setting in COMPARE_PG_CLIENTS COMPARE_SECONDS WRK_DURATION WRK_CONNECTIONS WRK_THREADS; do
  case "${!setting:-}" in
    '') ;;
    *[!A-Za-z0-9._/-]*) COMMAND_LINE="$setting='${!setting}' $COMMAND_LINE" ;;
    *) COMMAND_LINE="$setting=${!setting} $COMMAND_LINE" ;;
  esac
done

BUILD=build/release
APPEND="${COMPARE_APPEND:-1}"
for arg in "$@"; do
  case "$arg" in
    --no-append) APPEND=0 ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    -*) echo "compare: unknown option $arg (try --help)" >&2; exit 2 ;;
    *) BUILD="$arg" ;;
  esac
done

# One length for every measurement: COMPARE_SECONDS, else WRK_DURATION, else 10 s.
duration_seconds() {
  case "$1" in
    *[!0-9smh]* | "") return 1 ;;
    *h) echo $((${1%h} * 3600)) ;;
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}
if [ -n "${COMPARE_SECONDS:-}" ]; then
  SECONDS_EACH="$COMPARE_SECONDS"
  export WRK_DURATION="${WRK_DURATION:-${COMPARE_SECONDS}s}"
else
  export WRK_DURATION="${WRK_DURATION:-10s}"
  SECONDS_EACH=$(duration_seconds "$WRK_DURATION") || { echo "compare: cannot read WRK_DURATION=$WRK_DURATION as seconds" >&2; exit 2; }
fi
case "$SECONDS_EACH" in '' | *[!0-9]* | 0) echo "compare: COMPARE_SECONDS must be a whole number of seconds > 0" >&2; exit 2 ;; esac

. bench/lib.sh
bench_init compare
WORK="$BENCH_WORK"
PG_CLIENTS="${COMPARE_PG_CLIENTS:-1 8 64 256}"
STOCK=1000000000000 # 10^12: no run comes near selling out
REDIS_CLIENTS=256

# --- peers from Debian packages, installed if missing
for package in postgresql-15 postgresql-client-15 redis-server redis-tools wrk nginx; do bench_need_package "$package"; done
if [ ! -x "$PG_BIN/postgres" ] || [ ! -x "$PG_BIN/pgbench" ]; then bench_die "PostgreSQL 15 binaries not found in $PG_BIN"; fi
[ -x "$BUILD/hawker" ] || bench_die "$BUILD/hawker is missing; build it: bash scripts/build.sh release hawker"

# --- 1. the ceiling: nginx return 200
bench_log "nginx return 200 ($BENCH_DURATION)..."
bench_nginx_start
bench_wrk "$WORK/nginx.txt" "http://127.0.0.1:$NGINX_PORT/"
bench_nginx_stop
NGINX_RPS=$(bench_requests_per_second < "$WORK/nginx.txt")

# --- 2. hawker durable buy-clicks
bench_log "hawker POST /v1/orders ($BENCH_DURATION)..."
bench_hawker_start "$BUILD/hawker"
bench_hawker_orders_script
bench_wrk "$WORK/hawker.txt" "http://127.0.0.1:$HAWKER_PORT" -s "$WORK/orders.lua"
HAWKER_RPS=$(bench_2xx_per_second < "$WORK/hawker.txt")
HAWKER_NON_2XX=$(awk '/Non-2xx/ {print $NF}' "$WORK/hawker.txt")
HAWKER_ACCEPTED=$(bench_hawker_metric 'hawker_order_clicks_total{answer="accepted"}')
HAWKER_BATCH_SUM=$(bench_hawker_metric 'hawker_intake_batch_size_sum')
HAWKER_BATCH_COUNT=$(bench_hawker_metric 'hawker_intake_batch_size_count')
bench_hawker_stop

# --- 3. PostgreSQL synchronous checkout
pg_start() {
  bench_pg_start
  cp bench/compare/schema.sql bench/compare/checkout.sql "$PG_WORK/"
  [ "$(id -u)" != 0 ] || chown postgres:postgres "$PG_WORK/schema.sql" "$PG_WORK/checkout.sql"
  pg_psql -v stock="$STOCK" -f "$PG_WORK/schema.sql"
  pg_psql -c 'VACUUM ANALYZE'
}
# pg_checkout PRODUCTS CLIENTS -> tx/s on stdout
pg_checkout() {
  local out="$WORK/pgbench-$1-$2.txt" tps failed
  pg_psql -c CHECKPOINT > /dev/null # every run starts from the same WAL state
  pg_as "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -f "$PG_WORK/checkout.sql" -D products="$1" \
    -c "$2" -j 2 -T "$SECONDS_EACH" postgres > "$out" 2>&1 || { tail -5 "$out" >&2; bench_die "pgbench ($1 products, $2 clients) failed"; }
  tps=$(awk '/^tps = / {print $3; exit}' "$out")
  failed=$(awk '/number of failed transactions/ {print $5; exit}' "$out")
  [ -n "$tps" ] || { cat "$out" >&2; bench_die "pgbench ($1 products, $2 clients) printed no tps"; }
  [ "${failed:-0}" = 0 ] || bench_log "warning: pgbench $1 products, $2 clients: $failed failed transactions"
  echo "$tps"
}
bench_log "PostgreSQL 15: initdb and start..."
pg_start
PG_VERSION=$(pg_psql -c 'SHOW server_version' | awk '{print $1}')
declare -A PG_HOT PG_SPREAD
for clients in $PG_CLIENTS; do
  bench_log "postgres hot $clients client(s) ($SECONDS_EACH s)..."
  PG_HOT[$clients]=$(pg_checkout 1 "$clients")
done
for clients in $PG_CLIENTS; do
  bench_log "postgres 1,000 products $clients client(s) ($SECONDS_EACH s)..."
  PG_SPREAD[$clients]=$(pg_checkout 1000 "$clients")
done
# Every committed checkout took exactly one unit and wrote exactly one order.
PG_CHECK=$(pg_psql -c "SELECT (SELECT count(*) FROM orders) || ' orders, ' ||
  (SELECT sum($STOCK - stock) FROM inventory) || ' units taken'")
bench_pg_stop

# --- 4. Redis seckill: Lua check-DECR-XADD, AOF always / everysec
REDIS_PID=
redis_stop() { bench_stop_pid "$REDIS_PID"; REDIS_PID=; }
redis_benchmark() { # PORT SHA REQUESTS OUT
  redis-benchmark -h 127.0.0.1 -p "$1" -c "$REDIS_CLIENTS" -P 1 --threads 2 -r 1000000 -n "$3" --csv \
    EVALSHA "$2" 2 seckill:stock seckill:orders __rand_int__ > "$4" 2>&1 \
    || { tail -5 "$4" >&2; bench_die "redis-benchmark failed"; }
  awk -F'"' 'NR == 2 {print $4}' "$4"
}
# redis_seckill FSYNC: sets REDIS_RPS; its checks in $WORK/redis-FSYNC/check. Not in
# a subshell, so the exit hook knows REDIS_PID.
redis_seckill() {
  local dir="$WORK/redis-$1" port try sha probe_rps requests rps sold calls
  mkdir -p "$dir"
  port=$(bench_free_port 18850)
  redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes --dir "$dir" --daemonize no \
    --appendonly yes --appendfsync "$1" --save '' --logfile "$dir/redis.log" > /dev/null 2>&1 &
  REDIS_PID=$!
  for ((try = 0; try < 100; try++)); do
    [ "$(redis-cli -h 127.0.0.1 -p "$port" PING 2> /dev/null)" = PONG ] && break
    kill -0 "$REDIS_PID" 2> /dev/null || break
    sleep 0.1
  done
  [ "$(redis-cli -h 127.0.0.1 -p "$port" PING 2> /dev/null)" = PONG ] \
    || { tail -5 "$dir/redis.log" >&2; bench_die "redis-server (appendfsync $1) did not answer on 127.0.0.1:$port"; }
  [ "$(redis-cli -h 127.0.0.1 -p "$port" CONFIG GET appendfsync | tail -1)" = "$1" ] || bench_die "redis appendfsync is not $1"
  redis-cli -h 127.0.0.1 -p "$port" SET seckill:stock "$STOCK" > /dev/null
  sha=$(redis-cli -h 127.0.0.1 -p "$port" SCRIPT LOAD "$(cat bench/compare/seckill.lua)")
  [[ "$sha" =~ ^[0-9a-f]{40}$ ]] || bench_die "SCRIPT LOAD failed: $sha"
  # redis-benchmark has no time bound: a short probe sizes the run to ~SECONDS_EACH.
  probe_rps=$(redis_benchmark "$port" "$sha" 20000 "$dir/probe.csv")
  requests=$(awk -v r="$probe_rps" -v s="$SECONDS_EACH" 'BEGIN { n = int(r * s); if (n < 20000) n = 20000; print n }')
  rps=$(redis_benchmark "$port" "$sha" "$requests" "$dir/run.csv")
  [ -n "$rps" ] || { cat "$dir/run.csv" >&2; bench_die "redis-benchmark printed no requests/s"; }
  calls=$((20000 + requests))
  # A probe that was slower than the real run leaves it short: resize once from the run's own rate.
  if awk -v n="$requests" -v r="$rps" -v s="$SECONDS_EACH" 'BEGIN { exit !(n / r < 0.7 * s) }'; then
    requests=$(awk -v r="$rps" -v s="$SECONDS_EACH" 'BEGIN { print int(r * s) }')
    rps=$(redis_benchmark "$port" "$sha" "$requests" "$dir/run.csv")
    [ -n "$rps" ] || { cat "$dir/run.csv" >&2; bench_die "redis-benchmark printed no requests/s"; }
    calls=$((calls + requests))
  fi
  sold=$(redis-cli -h 127.0.0.1 -p "$port" XLEN seckill:orders)
  echo "$calls calls, $sold orders in the stream, $((STOCK - $(redis-cli -h 127.0.0.1 -p "$port" GET seckill:stock))) units taken" > "$dir/check"
  redis_stop
  REDIS_RPS="$rps"
}
bench_at_exit redis_stop
bench_log "redis appendfsync always (~$SECONDS_EACH s)..."
redis_seckill always
REDIS_ALWAYS="$REDIS_RPS"
bench_log "redis appendfsync everysec (~$SECONDS_EACH s)..."
redis_seckill everysec
REDIS_EVERYSEC="$REDIS_RPS"
REDIS_VERSION=$(redis-server --version | sed -E 's/.* v=([^ ]+).*/\1/')

# --- the table
best_of() { # name of an associative array -> "clients tps" of the best run
  local -n runs="$1"
  local clients best_clients='' best=0
  for clients in $PG_CLIENTS; do
    if awk -v a="${runs[$clients]}" -v b="$best" 'BEGIN { exit !(a > b) }'; then best="${runs[$clients]}"; best_clients="$clients"; fi
  done
  echo "$best_clients $best"
}
read -r PG_HOT_BEST_CLIENTS PG_HOT_BEST <<< "$(best_of PG_HOT)"
read -r PG_SPREAD_BEST_CLIENTS PG_SPREAD_BEST <<< "$(best_of PG_SPREAD)"
clients_text() { if [ "$1" = 1 ]; then echo "1 client"; else echo "$1 clients"; fi; }
thousands() { awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } print s r }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { r = a / b; if (r >= 10) printf "%.1f", r; else printf "%.2f", r }'; }
verdict() { awk -v a="$1" -v b="$2" -v goal="$3" 'BEGIN { print (a / b >= goal) ? "**met**" : "**not met**" }'; }
WRK_SETTING="wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION"
REDIS_SETTING="redis-benchmark -c $REDIS_CLIENTS --threads 2 -P 1 -r 1000000, EVALSHA, ~$SECONDS_EACH s"
MEAN_PER_APPEND=$(awk -v s="${HAWKER_BATCH_SUM:-0}" -v c="${HAWKER_BATCH_COUNT:-0}" 'BEGIN { if (c > 0) printf "%.1f", s / c; else print "?" }')

REPORT="$WORK/report.md"
{
  echo "Machine: $(bench_machine). Peers: nginx $(nginx -v 2>&1 | sed 's|.*/||'), PostgreSQL $PG_VERSION, Redis $REDIS_VERSION, $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')."
  echo "Command: \`$COMMAND_LINE\`"
  echo
  echo "| what | load | per second |"
  echo "|---|---|---|"
  echo "| nginx \`return 200\` (the ceiling) | $WRK_SETTING | $(thousands "$NGINX_RPS") req |"
  echo "| hawker \`POST /v1/orders\`, 202 after a synced append | $WRK_SETTING, 64 buyers, one product | $(thousands "$HAWKER_RPS") orders |"
  for clients in $PG_CLIENTS; do
    echo "| PostgreSQL checkout, one hot product | pgbench -c $clients -j 2 -T $SECONDS_EACH | $(thousands "${PG_HOT[$clients]}") tx |"
  done
  for clients in $PG_CLIENTS; do
    echo "| PostgreSQL checkout, 1,000 products | pgbench -c $clients -j 2 -T $SECONDS_EACH | $(thousands "${PG_SPREAD[$clients]}") tx |"
  done
  echo "| Redis Lua seckill, appendfsync always | $REDIS_SETTING | $(thousands "$REDIS_ALWAYS") req |"
  echo "| Redis Lua seckill, appendfsync everysec | $REDIS_SETTING | $(thousands "$REDIS_EVERYSEC") req |"
  echo
  echo "| goal | ratio | result |"
  echo "|---|---|---|"
  echo "| hawker ≥ 0.5× nginx's ceiling | $(ratio "$HAWKER_RPS" "$NGINX_RPS")× | $(verdict "$HAWKER_RPS" "$NGINX_RPS" 0.5) |"
  echo "| hawker ≥ 20× PostgreSQL's hot-product checkout at its best ($(clients_text "$PG_HOT_BEST_CLIENTS"), $(thousands "$PG_HOT_BEST") tx/s) | $(ratio "$HAWKER_RPS" "$PG_HOT_BEST")× | $(verdict "$HAWKER_RPS" "$PG_HOT_BEST" 20) |"
  echo "| hawker ≥ 1× Redis Lua with appendfsync always | $(ratio "$HAWKER_RPS" "$REDIS_ALWAYS")× | $(verdict "$HAWKER_RPS" "$REDIS_ALWAYS" 1) |"
  echo "| hawker vs Redis Lua with appendfsync everysec (informational) | $(ratio "$HAWKER_RPS" "$REDIS_EVERYSEC")× | — |"
  echo "| hawker vs PostgreSQL on 1,000 products at its best ($(clients_text "$PG_SPREAD_BEST_CLIENTS"), $(thousands "$PG_SPREAD_BEST") tx/s; informational) | $(ratio "$HAWKER_RPS" "$PG_SPREAD_BEST")× | — |"
  echo
  echo "Checks: hawker accepted $(thousands "${HAWKER_ACCEPTED:-0}") orders (202), ${HAWKER_NON_2XX:-0} non-2xx answers, $MEAN_PER_APPEND requests per synced append;" \
    "PostgreSQL $PG_CHECK; Redis always: $(cat "$WORK/redis-always/check"); Redis everysec: $(cat "$WORK/redis-everysec/check")."
} > "$REPORT"

RUN_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "== hawker beside its peers, $RUN_DATE"
cat "$REPORT"

# --- docs/BENCHMARKS.md: the heading once, then a dated subsection per run at the end of its section
if [ "$APPEND" != 0 ]; then
  DOC="${COMPARE_DOC:-docs/BENCHMARKS.md}" # another file only to test this step
  # shellcheck disable=SC2016 # literal backquotes
  HEADING='## Issue #6 — hawker beside its peers (`bench/compare.sh`)'
  [ -f "$DOC" ] || bench_die "$DOC not found"
  if ! grep -qxF "$HEADING" "$DOC"; then
    cat >> "$DOC" << INTRO

$HEADING

Written by \`bash bench/compare.sh\`, one run on one machine, everything on
127.0.0.1 with the load generator on the same cores. hawker: \`hawker serve\`
(embedded default), wrk POSTing /v1/orders with a unique Idempotency-Key per
request, 64 buyers, one product with 10^9 units (the load of
\`bench/ingest.sh\`); the figure counts 2xx answers only. PostgreSQL 15 at
default durability (fsync and synchronous_commit on, max_connections 300):
pgbench running \`bench/compare/checkout.sql\` (UPDATE the stock row, INSERT
the order, one transaction) on one hot product and on 1,000 products. Redis 7
with appendonly yes (no RDB snapshots), a fresh server per appendfsync
setting: redis-benchmark calling EVALSHA of \`bench/compare/seckill.lua\`
(check stock, DECR, XADD the order). Stock never runs out in any of them.
INTRO
  fi
  {
    echo
    echo "### Run of $RUN_DATE"
    echo
    cat "$REPORT"
  } > "$WORK/section.md"
  # Insert at the end of our section: before the next "## " heading, or at the
  # end of the file; blank lines before that point are replaced by the section's own.
  awk -v heading="$HEADING" -v section="$WORK/section.md" '
    function put() { while ((getline line < section) > 0) print line; done = 1 }
    $0 == heading { inside = 1; print; next }
    inside && /^## / { put(); print ""; inside = 0; blanks = 0 }
    inside && /^$/ { blanks++; next }
    inside { for (; blanks > 0; blanks--) print ""; print; next }
    { print }
    END { if (!done) put() }' "$DOC" > "$WORK/BENCHMARKS.md"
  cat "$WORK/BENCHMARKS.md" > "$DOC"
  bench_log "appended the run to $DOC"
fi
