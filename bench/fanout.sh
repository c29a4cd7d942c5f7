#!/usr/bin/env bash
# Fan-out figures (issue 3): PROCESSES x VIEWERS WebSocket viewers on one
# show, stock ticking 10 times a second, against a fresh `hawker serve` and
# then, in the same run, against the minimal Node.js `ws` broadcaster
# (bench/peers/ws_broadcaster.js) under the same load. For each: messages
# delivered per second (sum over the load processes), delivery latency
# broadcast -> received (p50 and p99: the worst load process), and the
# server's RSS before and after the viewers connected (idle: no broadcasts
# yet), divided by the connections opened.
#
#   bash bench/fanout.sh [--build build/release] [--processes 3] [--viewers 5000]
#                        [--duration 30] [--interval-ms 100] [--keep]
#
# Everything listens on 127.0.0.1 and stops by itself; the trap stops what is
# left. --keep keeps the work folder (logs, per-process JSON) in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build/release
PROCESSES=3
VIEWERS=5000          # per load process
DURATION=30           # seconds measured
INTERVAL_MS=100       # one stock tick (a purchase / a broadcast) every 100 ms
HAWKER_PORT=18794
NODE_PORT=18795
KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD="$2"; shift 2 ;;
    --processes) PROCESSES="$2"; shift 2 ;;
    --viewers) VIEWERS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --interval-ms) INTERVAL_MS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "fanout.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in "$BUILD/hawker" "$BUILD/fanout_load"; do
  [[ -x "$tool" ]] || { echo "fanout.sh: $tool missing (ninja -C $BUILD hawker fanout_load)" >&2; exit 2; }
done

# Each process may hold as many files as the hard limit allows (20,000 here).
ulimit -n "$(ulimit -Hn)"

if ! command -v node > /dev/null || ! command -v npm > /dev/null || ! command -v jq > /dev/null; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get install -y nodejs npm jq
fi
(cd bench/peers && npm install --no-audit --no-fund --silent)

WORK=$(mktemp -d /tmp/hawker-fanout.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2> /dev/null || true; done
  if [[ $KEEP -eq 1 ]]; then echo "fanout.sh: work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # user + system, in CLK_TCK
CLK_TCK=$(getconf CLK_TCK)

wait_for() {  # wait_for SECONDS COMMAND...: poll every 100 ms
  local tries=$(($1 * 10)); shift
  for _ in $(seq "$tries"); do "$@" && return 0; sleep 0.1; done
  return 1
}

all_ready() {  # all_ready PREFIX: every load process finished its ramp
  for i in $(seq "$PROCESSES"); do [[ -f "$1.$i" ]] || return 1; done
}

# start_load NAME URL PATH: PROCESSES viewer processes; their PIDs in LOAD_PIDS.
start_load() {
  LOAD_PIDS=()
  for i in $(seq "$PROCESSES"); do
    "$BUILD/fanout_load" --url "$2" --path "$3" --connections "$VIEWERS" --duration "$DURATION" \
      --ready-file "$WORK/$1-ready.$i" > "$WORK/$1-load.$i.json" 2> "$WORK/$1-load.$i.log" &
    LOAD_PIDS+=($!)
    PIDS+=($!)
  done
}

wait_load() {
  for pid in "${LOAD_PIDS[@]}"; do wait "$pid" || true; done
}

# summarise NAME RSS_BEFORE_KB RSS_AFTER_KB SERVER_CPU_TICKS: one JSON object for the peer.
summarise() {
  jq -s --arg name "$1" --argjson before "$2" --argjson after "$3" --argjson ticks "$4" --argjson hz "$CLK_TCK" '
    (map(.opened) | add) as $opened |
    (map(.window_s) | max) as $window |
    { name: $name,
      opened: $opened, failed: (map(.failed) | add), closed: (map(.closed) | add),
      frames_per_s: (map(.frames_per_s) | add),
      latency_ms_p50: (map(.latency_ms_p50) | max),
      latency_ms_p99: (map(.latency_ms_p99) | max),
      latency_ms_max: (map(.latency_ms_max) | max),
      rss_before_mb: ($before / 1024), rss_after_mb: ($after / 1024),
      kb_per_connection: (if $opened > 0 then ($after - $before) / $opened else null end),
      server_cpu_s: ($ticks / $hz),
      server_cpu_percent: (if $window > 0 then 100 * $ticks / $hz / $window else null end),
      load_cpu_s: (map(.cpu_s) | add),
      failures: ([.[].failures | to_entries[]] | group_by(.key) | map({(.[0].key): (map(.value) | add)}) | add // {}) }
  ' "$WORK/$1"-load.*.json
}

TOTAL=$((PROCESSES * VIEWERS))
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "fanout.sh: $PROCESSES load processes x $VIEWERS viewers = $TOTAL, a tick every $INTERVAL_MS ms, $DURATION s measured" >&2

# --- hawker -----------------------------------------------------------------------
"$BUILD/hawker" serve --data "$WORK/data" --listen "127.0.0.1:$HAWKER_PORT" --log-level warn 2> "$WORK/hawker.log" &
HAWKER_PID=$!
PIDS+=($HAWKER_PID)
wait_for 30 curl -sf "http://127.0.0.1:$HAWKER_PORT/healthz" -o /dev/null || { echo "fanout.sh: hawker did not start" >&2; exit 1; }
SELLER=$("$BUILD/hawker" token --sub fanout-seller --role seller --data "$WORK/data")
api() {  # api PATH BODY: POST as the seller, print the answer's id
  curl -sf -X POST "http://127.0.0.1:$HAWKER_PORT$1" -H "Authorization: Bearer $SELLER" \
    -H 'Content-Type: application/json' -d "$2" | jq -r .id
}
PRODUCT=$(api /v1/products '{"title":"fanout bench","price_cents":100,"stock":1000000000}')
SHOW=$(api /v1/shows '{"title":"fanout bench"}')
api "/v1/shows/$SHOW/showcase" "{\"product_id\":\"$PRODUCT\"}" > /dev/null
# The driver connects now: once the viewers are in, the server may be at its connection limit.
"$BUILD/fanout_load" --url "127.0.0.1:$HAWKER_PORT" --buy "$PRODUCT" --data "$WORK/data" --interval-ms "$INTERVAL_MS" \
  --buy-connections 16 --duration $((DURATION + 3)) --start-file "$WORK/hawker-start" > "$WORK/driver.json" 2> "$WORK/driver.log" &
DRIVER_PID=$!
PIDS+=($DRIVER_PID)
sleep 1
HAWKER_RSS_BEFORE=$(rss_kb $HAWKER_PID)
start_load hawker "127.0.0.1:$HAWKER_PORT" "/v1/shows/$SHOW/live"
wait_for 200 all_ready "$WORK/hawker-ready" || echo "fanout.sh: hawker viewers did not settle" >&2
sleep 2
HAWKER_RSS_AFTER=$(rss_kb $HAWKER_PID)
HAWKER_CPU0=$(cpu_ticks $HAWKER_PID)
touch "$WORK/hawker-start"
wait_load
HAWKER_CPU1=$(cpu_ticks $HAWKER_PID)
wait $DRIVER_PID || echo "fanout.sh: driver: not every purchase answered 202 (see below)" >&2
HAWKER_METRICS=$(curl -sf --max-time 5 "http://127.0.0.1:$HAWKER_PORT/metrics" |
  grep -E '^hawker_(live_inventory_frames_total|live_slow_consumers_closed_total|websockets_open|websockets_slow_closed_total)' || true)
kill $HAWKER_PID; wait $HAWKER_PID 2> /dev/null || true
HAWKER=$(summarise hawker "$HAWKER_RSS_BEFORE" "$HAWKER_RSS_AFTER" $((HAWKER_CPU1 - HAWKER_CPU0)))

# --- Node.js ws -------------------------------------------------------------------
node bench/peers/ws_broadcaster.js --port "$NODE_PORT" --interval-ms "$INTERVAL_MS" --wait-signal 2> "$WORK/node.log" &
NODE_PID=$!
PIDS+=($NODE_PID)
wait_for 30 grep -q listening "$WORK/node.log" || { echo "fanout.sh: node did not start" >&2; exit 1; }
sleep 1
NODE_RSS_BEFORE=$(rss_kb $NODE_PID)
start_load node "127.0.0.1:$NODE_PORT" /
wait_for 200 all_ready "$WORK/node-ready" || echo "fanout.sh: node viewers did not settle" >&2
sleep 2
NODE_RSS_AFTER=$(rss_kb $NODE_PID)
NODE_CPU0=$(cpu_ticks $NODE_PID)
kill -USR2 $NODE_PID
wait_load
NODE_CPU1=$(cpu_ticks $NODE_PID)
kill $NODE_PID; wait $NODE_PID 2> /dev/null || true
NODE=$(summarise node "$NODE_RSS_BEFORE" "$NODE_RSS_AFTER" $((NODE_CPU1 - NODE_CPU0)))

# --- Report -------------------------------------------------------------------------
FORMAT='def r(x; d): if x == null then "-" else ((x * pow(10; d) | round) / pow(10; d) | tostring) end;'
echo "== per load process (JSON lines) =="
cat "$WORK"/hawker-load.*.json "$WORK"/node-load.*.json
echo "== hawker driver =="; cat "$WORK/driver.json"
echo "== hawker /metrics after the run =="; echo "$HAWKER_METRICS"
echo
echo "load average before the run: $LOAD_BEFORE (on $(nproc) cores; other work on the machine skews the figures)"
echo "== fan-out: $TOTAL viewers requested, one product ticking every $INTERVAL_MS ms, $DURATION s =="
jq -rn --argjson h "$HAWKER" --argjson n "$NODE" "$FORMAT"'
  (["peer", "opened", "failed", "closed", "msgs/s", "p50_ms", "p99_ms", "max_ms", "rss0_MB", "rss1_MB", "KB/conn",
    "server_cpu%", "load_cpu_s"] | @tsv),
  ([$h, $n][] | [.name, (.opened | tostring), (.failed | tostring), (.closed | tostring), r(.frames_per_s; 0),
                 r(.latency_ms_p50; 2), r(.latency_ms_p99; 2), r(.latency_ms_max; 2),
                 r(.rss_before_mb; 1), r(.rss_after_mb; 1), r(.kb_per_connection; 2),
                 r(.server_cpu_percent; 0), r(.load_cpu_s; 1)] | @tsv)
' | column -t -s $'\t'
echo
jq -rn --argjson h "$HAWKER" --argjson n "$NODE" "$FORMAT"'
  "messages/s hawker / node: \(r(if $n.frames_per_s > 0 then $h.frames_per_s / $n.frames_per_s else null end; 2))x (goal >= 3x)",
  "p99 hawker \(r($h.latency_ms_p99; 2)) ms vs node \(r($n.latency_ms_p99; 2)) ms (goal: hawker <= node, and <= 100 ms)",
  "memory per idle connection: hawker \(r($h.kb_per_connection; 2)) KB, node \(r($n.kb_per_connection; 2)) KB",
  ([$h, $n][] | select(.failed > 0) | "\(.name) refused \(.failed) of the viewers: \(.failures | tostring)")
'
