#!/usr/bin/env bash
# Durable buy-click ingest vs. nginx's ceiling, in one run on one machine.
#
# 1. nginx answering `return 200` on loopback, driven by wrk.
# 2. hawker serve (embedded default: every 202 after a synced RocksDB append),
#    one product with ample stock, wrk POSTing /v1/orders with a unique
#    Idempotency-Key per request, buyer tokens spread over 64 users.
# Both with the same wrk settings (default: 2 threads, 256 connections, 10 s;
# WRK_THREADS, WRK_CONNECTIONS, WRK_DURATION override them).
# Prints requests/s of each and the ratio. Everything runs on 127.0.0.1 and is
# stopped at the end (the servers and the wrk script come from bench/lib.sh,
# shared with bench/compare.sh).
#   bench/ingest.sh [build/release]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
BUILD="${1:-build/release}"
bench_init ingest
WORK="$BENCH_WORK"

# --- nginx ceiling
bench_nginx_start
bench_wrk "$WORK/nginx.txt" "http://127.0.0.1:$NGINX_PORT/"
bench_nginx_stop
NGINX_RPS=$(bench_requests_per_second < "$WORK/nginx.txt")

# --- hawker durable ingest
bench_hawker_start "$BUILD/hawker"
bench_hawker_orders_script
bench_wrk "$WORK/hawker.txt" "http://127.0.0.1:$HAWKER_PORT" -s "$WORK/orders.lua"
HAWKER_RPS=$(bench_requests_per_second < "$WORK/hawker.txt")
NON_2XX=$(grep -E "Non-2xx" "$WORK/hawker.txt" || true)
ACCEPTED=$(bench_hawker_metric 'hawker_order_clicks_total{answer="accepted"}')
BATCH_SUM=$(bench_hawker_metric 'hawker_intake_batch_size_sum')
BATCH_COUNT=$(bench_hawker_metric 'hawker_intake_batch_size_count')

echo "== nginx return 200 (wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION)"
cat "$WORK/nginx.txt"
echo "== hawker POST /v1/orders, durable (wrk -t$BENCH_THREADS -c$BENCH_CONNECTIONS -d$BENCH_DURATION)"
cat "$WORK/hawker.txt"
echo "accepted (202) orders: $ACCEPTED; synced appends: $BATCH_COUNT; mean requests per append: $(awk "BEGIN{printf \"%.1f\", $BATCH_SUM/$BATCH_COUNT}")"
if [ -n "$NON_2XX" ]; then echo "WARNING: $NON_2XX"; fi
echo "nginx_rps=$NGINX_RPS hawker_rps=$HAWKER_RPS ratio=$(awk "BEGIN{printf \"%.2f\", $HAWKER_RPS/$NGINX_RPS}")"
