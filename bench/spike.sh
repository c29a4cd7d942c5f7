#!/usr/bin/env bash
# The flash-crowd figure of issue #6: `hawker spike` against a fresh
# `hawker serve` (embedded default) on loopback. Defaults: 50,000 buyers
# clicking within 1 s on 1,000 units, 2,000 WebSocket viewers watching, 256
# keep-alive connections (override with BUYERS, STOCK, VIEWERS, ARRIVAL,
# CONNECTIONS; further `hawker spike` flags after the build folder). Prints the spike's table; the report (results.json,
# report.html, plots) goes to $OUT (default /tmp/hawker-spike-report). With
# DOCS=1 the plots are also copied to docs/bench/spike-*.svg.
#   bash bench/spike.sh [build/release] [more `hawker spike` flags]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build/release}"
shift || true
HAWKER="$BUILD/hawker"
OUT="${OUT:-/tmp/hawker-spike-report}"
PORT="${PORT:-18794}"
[ -x "$HAWKER" ] || { echo "spike.sh: $HAWKER is missing; run: bash scripts/build.sh release hawker" >&2; exit 2; }
WORK=$(mktemp -d /tmp/hawker-spike.XXXXXX)
cleanup() {
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  [ -z "${KEEP:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT
"$HAWKER" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" --hls-listen "" --log-level warn 2> "$WORK/hawker.log" &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null || { echo "spike.sh: the server did not start:" >&2; tail "$WORK/hawker.log" >&2; exit 1; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)"
set +e
"$HAWKER" spike --url "127.0.0.1:$PORT" --data "$WORK/data" --buyers "${BUYERS:-50000}" \
  --stock "${STOCK:-1000}" --viewers "${VIEWERS:-2000}" --arrival "${ARRIVAL:-ramp:1s}" \
  --connections "${CONNECTIONS:-256}" --out "$OUT" "$@"
STATUS=$?
set -e
if [ "${DOCS:-0}" = 1 ] && [ -f "$OUT/latency.svg" ]; then
  mkdir -p docs/bench
  for plot in latency answers stock; do cp "$OUT/$plot.svg" "docs/bench/spike-$plot.svg"; done
  echo "plots copied to docs/bench/spike-{latency,answers,stock}.svg"
fi
exit $STATUS
