#!/usr/bin/env bash
# 20,000 buyers over 256 connections on one product with 100 units, against
# a fresh `hawker serve` on loopback; see bench/buyers.cc for the checks.
#   bash bench/buyers.sh [build/release] [buyers] [connections] [stock]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build/release}"
BUYERS="${2:-20000}"
CONNECTIONS="${3:-256}"
STOCK="${4:-100}"
WORK=$(mktemp -d /tmp/hawker-buyers.XXXXXX)
PORT=18793
"$BUILD/hawker" serve --data "$WORK/data" --listen "127.0.0.1:$PORT" --log-level warn 2> "$WORK/hawker.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break; sleep 0.1; done
"$BUILD/buyers" --url "127.0.0.1:$PORT" --data "$WORK/data" --buyers "$BUYERS" --connections "$CONNECTIONS" --stock "$STOCK"
