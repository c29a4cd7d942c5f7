#!/usr/bin/env bash
# Issue #7's figures, in one run on one machine: the same flash crowd
# (`hawker spike`) against
#   1. `hawker serve` on the embedded default (RocksDB, SQLite), and
#   2. a loopback cluster: PostgreSQL 15 (default durability), one nats-server
#      with JetStream (file storage), 2 `hawker worker`s and 2 `hawker gateway`s,
#      the spike's connections and viewers spread over both gateways.
# For each it reports buy-clicks answered per second (over the arrival
# window: every click gets a 202, 409 or 429), click->final p99, and for the cluster the PostgreSQL transactions
# per confirmed order: the workers' checkout commits
# (hawker_checkout_commits_total), every transaction that wrote (transaction
# ids handed out: checkout, projection, anything else), and every transaction
# including reads (xact_commit of hawker's database).
#
#   bash bench/cluster.sh [build/release]
# Spike settings: BUYERS (50000), STOCK (1000), VIEWERS (2000), ARRIVAL
# (ramp:1s), CONNECTIONS (256); the issue #6 spike's defaults. Reports go to
# $OUT/{embedded,cluster} (default /tmp/hawker-cluster-report). KEEP=1 keeps
# the work folders. Every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build/release}"
HAWKER="$BUILD/hawker"
OUT="${OUT:-/tmp/hawker-cluster-report}"
BUYERS="${BUYERS:-50000}"
STOCK="${STOCK:-1000}"
VIEWERS="${VIEWERS:-2000}"
ARRIVAL="${ARRIVAL:-ramp:1s}"
CONNECTIONS="${CONNECTIONS:-256}"

. bench/lib.sh
bench_init cluster
[ -x "$HAWKER" ] || bench_die "$HAWKER is missing; build it: bash scripts/build.sh release hawker"
for package in postgresql-15 nats-server python3; do bench_need_package "$package"; done
NATS_SERVER="${HAWKER_NATS_SERVER:-/usr/sbin/nats-server}"
[ -x "$NATS_SERVER" ] || bench_die "nats-server not found at $NATS_SERVER"

MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "machine: $MACHINE, $(date -u +%Y-%m-%dT%H:%MZ)"
SECRET="$BENCH_WORK/jwt.secret"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SECRET"
chmod 600 "$SECRET"

# wait_healthy PORT WHAT: until GET /healthz answers (at most 30 s).
wait_healthy() {
  local try
  for ((try = 0; try < 300; try++)); do
    curl -sf "http://127.0.0.1:$1/healthz" > /dev/null && return 0
    sleep 0.1
  done
  bench_die "$2 did not answer /healthz on 127.0.0.1:$1 within 30 s (log: $BENCH_WORK/$2.log)"
}

# start_hawker NAME COMMAND ARGS...: `hawker COMMAND` on a free port, in the
# background, stopped on exit; sets PORT_<NAME> and PID_<NAME>.
start_hawker() {
  local name="$1" command="$2" port pid
  shift 2
  port=$(bench_free_port 18900)
  "$HAWKER" --log-level "${LOG_LEVEL:-warn}" "$command" --listen "127.0.0.1:$port" --hls-listen "" --data "$BENCH_WORK/$name" \
    --secret-file "$SECRET" "$@" 2> "$BENCH_WORK/$name.log" &
  pid=$!
  bench_at_exit "bench_stop_pid $pid"
  wait_healthy "$port" "$name"
  printf -v "PORT_$name" '%s' "$port"
  printf -v "PID_$name" '%s' "$pid"
}

# spike NAME URLS: runs the spike, its report in $OUT/NAME; prints its table.
spike() {
  local status=0
  "$HAWKER" spike --url "$2" --secret-file "$SECRET" --buyers "$BUYERS" --stock "$STOCK" --viewers "$VIEWERS" \
    --arrival "$ARRIVAL" --connections "$CONNECTIONS" --out "$OUT/$1" > "$BENCH_WORK/spike-$1.txt" || status=$?
  cat "$BENCH_WORK/spike-$1.txt"
  [ "$status" = 0 ] || bench_log "warning: the $1 spike exited $status (an invariant failed, or it could not run)"
}

# figure NAME FIELD: from the spike's results.json.
figure() {
  python3 - "$OUT/$1/results.json" "$2" << 'PY'
import json, sys
r = json.load(open(sys.argv[1]))
field = sys.argv[2]
if field == "answered_per_s": print(round(r["throughput"]["answered_per_s"]))
elif field == "accepted": print(r["answers"]["202"])
elif field == "final_p99": print(r["latency"]["click_to_final"]["p99_ms"])
elif field == "confirmed": print(r["finals"]["confirmed"])
elif field == "pass": print("PASS" if r["pass"] else "FAIL")
PY
}

metric() { curl -sf "http://127.0.0.1:$1/metrics" | awk -v name="$2" '$1 == name {print $2; exit}'; }

mkdir -p "$OUT"
# --- 1. the embedded default
bench_log "embedded hawker serve, spike of $BUYERS buyers ($ARRIVAL) on $STOCK units, $VIEWERS viewers..."
start_hawker embedded serve
spike embedded "127.0.0.1:$PORT_embedded"
bench_stop_pid "$PID_embedded"

# --- 2. the cluster
bench_log "PostgreSQL 15 and nats-server (JetStream)..."
bench_pg_start
pg_psql -c "CREATE DATABASE hawker" > /dev/null
NATS_PORT=$(bench_free_port 18850)
mkdir -p "$BENCH_WORK/nats"
"$NATS_SERVER" -js -sd "$BENCH_WORK/nats" -a 127.0.0.1 -p "$NATS_PORT" > "$BENCH_WORK/nats.log" 2>&1 &
NATS_PID=$!
bench_at_exit "bench_stop_pid $NATS_PID"
bench_wait_port "$NATS_PORT" nats-server
CLUSTER=(--nats "nats://127.0.0.1:$NATS_PORT" --postgres "host=127.0.0.1 port=$PG_PORT user=postgres dbname=hawker")
bench_log "2 workers, 2 gateways..."
start_hawker worker1 worker "${CLUSTER[@]}"
start_hawker worker2 worker "${CLUSTER[@]}"
start_hawker gateway1 gateway "${CLUSTER[@]}"
start_hawker gateway2 gateway "${CLUSTER[@]}"
XACT_BEFORE=$(pg_psql -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'hawker'")
XID_BEFORE=$(pg_psql -c "SELECT pg_snapshot_xmax(pg_current_snapshot())")
COMMITS_BEFORE=$(($(metric "$PORT_worker1" hawker_checkout_commits_total) + $(metric "$PORT_worker2" hawker_checkout_commits_total)))
bench_log "cluster spike of $BUYERS buyers ($ARRIVAL) on $STOCK units, $VIEWERS viewers over both gateways..."
spike cluster "127.0.0.1:$PORT_gateway1,127.0.0.1:$PORT_gateway2"
XACT_AFTER=$(pg_psql -c "SELECT xact_commit FROM pg_stat_database WHERE datname = 'hawker'")
XID_AFTER=$(pg_psql -c "SELECT pg_snapshot_xmax(pg_current_snapshot())")
COMMITS_AFTER=$(($(metric "$PORT_worker1" hawker_checkout_commits_total) + $(metric "$PORT_worker2" hawker_checkout_commits_total)))

CONFIRMED=$(figure cluster confirmed)
for worker in worker1 worker2; do
  port_var="PORT_$worker"
  bench_log "$worker: $(metric "${!port_var}" hawker_checkout_commits_total) commits," \
    "$(metric "${!port_var}" hawker_checkout_commit_conflicts_total) version conflicts," \
    "$(metric "${!port_var}" hawker_checkout_redelivered_total) redelivered"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
echo
echo "| setup | buy-clicks answered/s | 202s | click->final p99 ms | confirmed | invariants |"
echo "|---|---:|---:|---:|---:|---|"
for name in embedded cluster; do
  echo "| $name | $(figure "$name" answered_per_s) | $(figure "$name" accepted) | $(figure "$name" final_p99) |" \
    "$(figure "$name" confirmed) | $(figure "$name" pass) |"
done
echo
echo "PostgreSQL transactions per confirmed order (cluster, $CONFIRMED confirmed):" \
  "$(ratio $((COMMITS_AFTER - COMMITS_BEFORE)) "$CONFIRMED") checkout commits ($((COMMITS_AFTER - COMMITS_BEFORE)))," \
  "$(ratio $((XID_AFTER - XID_BEFORE)) "$CONFIRMED") writing transactions of any kind ($((XID_AFTER - XID_BEFORE)) xids: checkout, projection, shows)," \
  "$(ratio $((XACT_AFTER - XACT_BEFORE)) "$CONFIRMED") with reads ($((XACT_AFTER - XACT_BEFORE)) commits, mostly the spike's order polls)"
echo "spike: $BUYERS buyers, $ARRIVAL, $STOCK units, $VIEWERS viewers, $CONNECTIONS connections; reports in $OUT"
