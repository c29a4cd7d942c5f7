#!/usr/bin/env bash
# Streaming figures (issue 4), on loopback against a fresh `hawker serve` with
# RTMP ingest (nginx-rtmp), the HLS origin and the nginx CDN edge:
#
#   1. the synthetic 720p30 seller (test_source.h, via `ladder_speed --publish`)
#      publishes to a new show in real time; once the edge serves the master
#      playlist and a few segments exist:
#   2. `ladder_speed --live`: the ladder's CPU (cores) and media seconds
#      produced per wall second, DURATION s, nothing else running;
#   3. baseline: `hls_players` (PLAYERS simulated hls.js players through the
#      edge) for DURATION s: live-edge delay and segment fetch latency;
#   4. spike: the same, while `buyers` (the 20,000-buyer checkout spike: 20,000
#      buyers, 256 connections, a new product with 100 units each run) runs
#      back to back against the same hawker for the whole window.
#   During 3 and 4 `ladder_speed --live` samples the ladder alongside.
# Prints the tables and the ratio of the segment fetch p99s (goal: within 20%).
#
#   bash bench/stream.sh [build/release] [--players 50] [--duration 60] [--perf] [--keep]
#                        [--players-nice N]
#
# Needs ffmpeg, libnginx-mod-rtmp, jq, curl (scripts/setup.sh) and the tools:
#   ninja -C build/release hawker buyers ladder_speed hls_players
# --perf records a system-wide profile (perf, 20 s) in the spike window and
# prints the busiest commands and symbols. --keep keeps the work folder in /tmp.
# --players-nice N runs the simulated players at nice N (as root; e.g. -5, the
# media path's own priority) so that, on this one machine, a fetch does not
# wait for a CPU behind the buyers' load generator: a stand-in for players on
# other machines than the node under test. Default: the players at nice 0.
# About 3.5 minutes with the defaults. Everything listens on 127.0.0.1, every
# step is bounded, and the trap stops whatever this script started (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build/release
if [[ $# -gt 0 && $1 != --* ]]; then BUILD="$1"; shift; fi
PLAYERS=50
DURATION=60
PERF=0
KEEP=0
PLAYERS_NICE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --players) PLAYERS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --perf) PERF=1; shift ;;
    --keep) KEEP=1; shift ;;
    --players-nice) PLAYERS_NICE="$2"; shift 2 ;;
    *) echo "stream.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in hawker buyers ladder_speed hls_players; do
  [[ -x "$BUILD/$tool" ]] || { echo "stream.sh: $BUILD/$tool missing (ninja -C $BUILD hawker buyers ladder_speed hls_players)" >&2; exit 2; }
done
for program in ffmpeg jq curl taskset; do
  command -v "$program" > /dev/null || { echo "stream.sh: $program missing (scripts/setup.sh)" >&2; exit 2; }
done

API_PORT=18810
HLS_PORT=18811
RTMP_PORT=18812
EDGE_PORT=18813
SPIKE_BUYERS=20000
SPIKE_CONNECTIONS=256
SPIKE_STOCK=100

WORK=$(mktemp -d /tmp/hawker-stream.XXXXXX)
PIDS=()
cleanup() {
  touch "$WORK/stop-spike" 2> /dev/null || true
  [[ -f "$WORK/buyers.pid" ]] && kill "$(cat "$WORK/buyers.pid")" 2> /dev/null || true
  # Newest first: the load, then the publisher, hawker last (it stops its ladder and nginx).
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill "${PIDS[i]}" 2> /dev/null || true
    wait "${PIDS[i]}" 2> /dev/null || true
  done
  if [[ $KEEP -eq 1 ]]; then echo "stream.sh: work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() {  # wait_for SECONDS COMMAND...: poll every 200 ms
  local tries=$(($1 * 5)); shift
  for _ in $(seq "$tries"); do "$@" && return 0; sleep 0.2; done
  return 1
}
edge_get() {  # edge_get PATH [curl options...]
  local path="$1"; shift
  curl -sf --max-time 5 "$@" "http://127.0.0.1:$EDGE_PORT$path"
}
segments_in() { edge_get "/hls/$SHOW/720p.m3u8" | grep -c '^#EXTINF' || true; }
have_segments() { [[ $(segments_in) -ge $1 ]]; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "stream.sh: $(nproc) cores, load average $LOAD_BEFORE, $(date -u +%Y-%m-%dT%H:%MZ), build $BUILD" >&2

# --- hawker with ingest, origin and edge ---------------------------------------------
"$BUILD/hawker" serve --data "$WORK/data" --listen "127.0.0.1:$API_PORT" --hls-listen "127.0.0.1:$HLS_PORT" \
  --rtmp-listen "127.0.0.1:$RTMP_PORT" --edge-listen "127.0.0.1:$EDGE_PORT" --log-level warn 2> "$WORK/hawker.log" &
HAWKER_PID=$!
PIDS+=($HAWKER_PID)
wait_for 30 curl -sf --max-time 2 "http://127.0.0.1:$API_PORT/healthz" -o /dev/null ||
  { echo "stream.sh: hawker did not start:" >&2; tail -20 "$WORK/hawker.log" >&2; exit 1; }
wait_for 30 edge_get /edge/healthz -o /dev/null || { echo "stream.sh: the edge did not start" >&2; exit 1; }

SELLER=$("$BUILD/hawker" token --sub stream-bench-seller --role seller --data "$WORK/data")
SHOW_JSON=$(curl -sf --max-time 10 -X POST "http://127.0.0.1:$API_PORT/v1/shows" -H "Authorization: Bearer $SELLER" \
  -H 'Content-Type: application/json' -d '{"title":"stream bench"}')
SHOW=$(jq -r .id <<< "$SHOW_JSON")
INGEST=$(jq -r .ingest.rtmp <<< "$SHOW_JSON")
echo "stream.sh: show $SHOW, publishing the 720p30 test source to rtmp://127.0.0.1:$RTMP_PORT/live/<key>" >&2

# --- the seller ------------------------------------------------------------------------
"$BUILD/ladder_speed" --publish "$INGEST" --seconds 900 --pid-file "$WORK/publisher.pid" 2> "$WORK/publisher.log" &
PIDS+=($!)
wait_for 60 edge_get "/hls/$SHOW/master.m3u8" -o /dev/null ||
  { echo "stream.sh: no master playlist at the edge after 60 s:" >&2; tail -20 "$WORK/hawker.log" "$WORK/publisher.log" >&2; exit 1; }
wait_for 60 have_segments 4 || { echo "stream.sh: fewer than 4 segments after 60 s" >&2; exit 1; }
for variant in 480p 360p 240p; do edge_get "/hls/$SHOW/$variant.m3u8" -o /dev/null || true; done
PUBLISHER_PID=$(cat "$WORK/publisher.pid")
WATCH=(--watch "publisher=$PUBLISHER_PID" --watch "hawker=$HAWKER_PID")

# live_sample NAME: ladder_speed --live for DURATION s into $WORK/live-NAME.{txt,json}
live_sample() {
  "$BUILD/ladder_speed" --live --data "$WORK/data" --show "$SHOW" --seconds "$DURATION" "${WATCH[@]}" \
    --json "$WORK/live-$1.json" > "$WORK/live-$1.txt" 2>&1
}
# players NAME: hls_players for DURATION s into $WORK/players-NAME.{txt,json}
players() {
  nice -n "$PLAYERS_NICE" "$BUILD/hls_players" --edge "127.0.0.1:$EDGE_PORT" --show "$SHOW" --players "$PLAYERS" --duration "$DURATION" \
    --origin-dir "$WORK/data/hls/$SHOW" --label "$1" --json "$WORK/players-$1.json" > "$WORK/players-$1.txt" 2>&1
}
# first_fetches: each media playlist once through the edge, after a minute nobody
# asked for it: X-Cache-Status and now - (last PDT + 2 s), i.e. what the first
# player to come back sees. Then the edge has fresh copies for the baseline.
first_fetches() {
  local variant body status pdt now_ms
  for variant in 720p 480p 360p 240p; do
    body=$(curl -s --max-time 5 -D "$WORK/headers" "http://127.0.0.1:$EDGE_PORT/hls/$SHOW/$variant.m3u8")
    now_ms=$(date +%s%3N)
    status=$(tr -d '\r' < "$WORK/headers" | awk -F': ' 'tolower($1) == "x-cache-status" { print $2 }')
    pdt=$(grep '^#EXT-X-PROGRAM-DATE-TIME:' <<< "$body" | tail -1 | cut -d: -f2-)
    echo "$variant: X-Cache-Status ${status:--}, live-edge delay $(((now_ms - $(date -d "$pdt" +%s%3N) - 2000)))ms"
  done
}

# --- 2. the ladder alone -----------------------------------------------------------
echo "stream.sh: sampling the live ladder for $DURATION s" >&2
live_sample alone || true

# --- 3. baseline ---------------------------------------------------------------------
first_fetches > "$WORK/first-fetches.txt"
sleep 2  # the background refreshes those fetches started are done
echo "stream.sh: baseline: $PLAYERS players through the edge for $DURATION s" >&2
live_sample baseline &
LIVE_PID=$!
PIDS+=($LIVE_PID)
players baseline || true
wait $LIVE_PID || true

# --- 4. spike ------------------------------------------------------------------------
# Back-to-back buyers runs until stop-spike exists (bounded by DURATION + 60 s).
spike_loop() {
  local end=$((SECONDS + DURATION + 60)) run=0 rc
  while [[ ! -e "$WORK/stop-spike" && $SECONDS -lt $end ]]; do
    run=$((run + 1))
    "$BUILD/buyers" --url "127.0.0.1:$API_PORT" --data "$WORK/data" --buyers "$SPIKE_BUYERS" \
      --connections "$SPIKE_CONNECTIONS" --stock "$SPIKE_STOCK" > "$WORK/spike.$run.log" 2>&1 &
    echo $! > "$WORK/buyers.pid"
    rc=0
    wait $! || rc=$?
    rm -f "$WORK/buyers.pid"
    # buyers reuses buyer ids and Idempotency-Keys ("k" + i), so from the second
    # run on the previous winners get 422 idempotency_key_reused ("other") and
    # buyers exits 1; what matters here is the load, no 5xx and 100 confirmed.
    echo "$run rc=$rc $(grep -hoE '^(answers|finals|throughput): .*' "$WORK/spike.$run.log" | tr '\n' ' ')" >> "$WORK/spike.runs"
  done
}
echo "stream.sh: spike: buyers back to back, and $PLAYERS players for $DURATION s" >&2
spike_loop &
SPIKE_PID=$!
PIDS+=($SPIKE_PID)
sleep 2  # the first run is past its token signing and clicking
live_sample spike &
LIVE_PID=$!
PIDS+=($LIVE_PID)
PERF_PID=""
PERF_SECONDS=$((DURATION > 32 ? 20 : (DURATION > 13 ? DURATION - 12 : 1)))
if [[ $PERF -eq 1 ]] && command -v perf > /dev/null; then
  (sleep 10; perf record -F 199 -a -g -o "$WORK/perf.data" -- sleep "$PERF_SECONDS" > /dev/null 2>&1) &
  PERF_PID=$!
  PIDS+=($PERF_PID)
fi
players spike || true
touch "$WORK/stop-spike"
[[ -n $PERF_PID ]] && { wait "$PERF_PID" || true; }
wait $LIVE_PID || true
wait $SPIKE_PID || true
METRICS=$(curl -sf --max-time 5 "http://127.0.0.1:$API_PORT/metrics" | grep -E '^hawker_(hls_requests_total|stream_ladder_restarts_total)' || true)

# --- report --------------------------------------------------------------------------
echo
echo "== ladder, live, alone (no players, no spike)"; cat "$WORK/live-alone.txt"
echo "-- first playlist fetch of each rendition through the edge after that idle minute"; cat "$WORK/first-fetches.txt"
echo
echo "== baseline"; cat "$WORK/players-baseline.txt"; echo "-- ladder meanwhile"; cat "$WORK/live-baseline.txt"
echo
echo "== during the checkout spike"; cat "$WORK/players-spike.txt"; echo "-- ladder meanwhile"; cat "$WORK/live-spike.txt"
echo "-- buyers runs back to back: $(wc -l < "$WORK/spike.runs")"
cat "$WORK/spike.runs"
awk '{ for (i = 1; i <= NF; i++) { if ($i == "5xx/failed") fivexx += $(i + 1); if ($i == "confirmed") confirmed += $(i + 1);
       if ($i == "throughput:") { clicks += $(i + 1); n++ } } }
     END { printf "buyers total: %d runs, mean %.0f clicks/s, confirmed %d, 5xx/failed %d\n", NR, n ? clicks / n : 0, confirmed, fivexx }' "$WORK/spike.runs"
echo "-- hawker /metrics after the run"; echo "$METRICS"
if [[ -f "$WORK/perf.data" ]]; then
  echo "-- perf ($PERF_SECONDS s of the spike window, whole machine): busiest commands"
  # (|| true: head closes the pipe early, and pipefail would end the script)
  perf report -i "$WORK/perf.data" --no-children --sort comm --stdio 2> /dev/null | grep -E '^ +[0-9]' | head -12 || true
  echo "-- busiest symbols"
  perf report -i "$WORK/perf.data" --no-children --sort comm,dso,sym --stdio -g none 2> /dev/null | grep -E '^ +[0-9]' |
    cut -c1-150 | head -25 || true
fi
echo
jq -rn --slurpfile b "$WORK/players-baseline.json" --slurpfile s "$WORK/players-spike.json" \
  --slurpfile la "$WORK/live-alone.json" --slurpfile ls "$WORK/live-spike.json" '
  def r(x): (x * 100 | round) / 100;
  $b[0] as $b | $s[0] as $s | $la[0] as $la | $ls[0] as $ls |
  ($s.segment_ms.p99 / $b.segment_ms.p99) as $ratio |
  "ladder live alone: \(r($la.processes["ladder ffmpeg"].cores)) cores, \(r($la.media_per_wall_s)) media s per wall s (goal: >= 1.0 on <= 1 core)",
  "ladder during the spike: \(r($ls.processes["ladder ffmpeg"].cores)) cores, \(r($ls.media_per_wall_s)) media s per wall s",
  "live-edge delay baseline: p50 \(r($b.delay_ms.p50 / 1000)) s, p99 \(r($b.delay_ms.p99 / 1000)) s (goal p99 <= 6 s: \(if $b.delay_ms.p99 <= 6000 then "met" else "NOT met" end))",
  "live-edge delay spike:    p50 \(r($s.delay_ms.p50 / 1000)) s, p99 \(r($s.delay_ms.p99 / 1000)) s",
  "newest segment age (a lower bound of the real delay): baseline p50 \(r($b.age_ms.p50 / 1000)) s, p99 \(r($b.age_ms.p99 / 1000)) s; spike p50 \(r($s.age_ms.p50 / 1000)) s, p99 \(r($s.age_ms.p99 / 1000)) s",
  "PDT lead over the file finish while the ladder keeps up (now - PDT understates the real delay by about this): \(r($la.pdt_lead_ms_mean)) ms",
  "live-edge delay + that lead (estimated real delay): baseline p50 \(r(($b.delay_ms.p50 + $la.pdt_lead_ms_mean) / 1000)) s, p99 \(r(($b.delay_ms.p99 + $la.pdt_lead_ms_mean) / 1000)) s; spike p50 \(r(($s.delay_ms.p50 + $la.pdt_lead_ms_mean) / 1000)) s, p99 \(r(($s.delay_ms.p99 + $la.pdt_lead_ms_mean) / 1000)) s",
  "segment fetches that waited on proxy_cache_lock (>= 480 ms): baseline \($b.segment_fetches_lock_wait) of \($b.segments), spike \($s.segment_fetches_lock_wait) of \($s.segments)",
  "segment fetch p99: baseline \(r($b.segment_ms.p99)) ms, spike \(r($s.segment_ms.p99)) ms, ratio \(r($ratio)) (goal within 20%: \(if $ratio <= 1.2 and $ratio >= 0.8 then "met" else "NOT met" end))"
'
