#!/usr/bin/env bash
# Durable buy-click ingest vs. nginx's ceiling, in one run on one machine.
#
# 1. nginx answering `return 200` on loopback, driven by wrk.
# 2. hawker serve (embedded default: every 202 after a synced RocksDB append),
#    one product with ample stock, wrk POSTing /v1/orders with a unique
#    Idempotency-Key per request, buyer tokens spread over 64 users.
# Both with the same wrk settings (default: 2 threads, 256 connections, 10 s).
# Prints requests/s of each and the ratio. Everything runs on 127.0.0.1 and is
# stopped at the end.
#   bench/ingest.sh [build/release]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD="${1:-build/release}"
HAWKER="$BUILD/hawker"
THREADS="${WRK_THREADS:-2}"
CONNECTIONS="${WRK_CONNECTIONS:-256}"
DURATION="${WRK_DURATION:-10s}"
WORK=$(mktemp -d /tmp/hawker-ingest.XXXXXX)
NGINX_PORT=18790
HAWKER_PORT=18791
cleanup() {
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  [ -n "${HAWKER_PID:-}" ] && kill "$HAWKER_PID" 2>/dev/null && wait "$HAWKER_PID" 2>/dev/null || true
  [ -z "${KEEP:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT

requests_per_second() { grep "Requests/sec" | awk '{print $2}'; }

# --- nginx ceiling
cat > "$WORK/nginx.conf" <<NGINX
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { return 200 "ok"; }
  }
}
NGINX
nginx -c "$WORK/nginx.conf"
sleep 0.5
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$NGINX_PORT/" > "$WORK/nginx.txt"
kill "$(cat "$WORK/nginx.pid")"; rm -f "$WORK/nginx.pid"
NGINX_RPS=$(requests_per_second < "$WORK/nginx.txt")

# --- hawker durable ingest
"$HAWKER" serve --data "$WORK/data" --listen "127.0.0.1:$HAWKER_PORT" --log-level warn 2> "$WORK/hawker.log" &
HAWKER_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HAWKER_PORT/healthz" > /dev/null && break; sleep 0.1; done
SELLER=$("$HAWKER" token --sub bench-seller --role seller --data "$WORK/data")
PRODUCT=$(curl -sf -X POST "http://127.0.0.1:$HAWKER_PORT/v1/products" -H "Authorization: Bearer $SELLER" \
  -d '{"title":"ingest bench","price_cents":100,"stock":1000000000}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
{
  echo "tokens = {"
  for i in $(seq 64); do echo "\"$("$HAWKER" token --sub "bench-buyer-$i" --data "$WORK/data")\","; done
  echo "}"
  cat <<LUA
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end
local counter = 0
local body = '{"product_id":"$PRODUCT","quantity":1,"payment_token":"tok_visa"}'
function request()
  counter = counter + 1
  local headers = {}
  headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]
  headers["Idempotency-Key"] = "w" .. tid .. "-" .. counter
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/v1/orders", headers, body)
end
LUA
} > "$WORK/orders.lua"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/orders.lua" "http://127.0.0.1:$HAWKER_PORT" > "$WORK/hawker.txt"
HAWKER_RPS=$(requests_per_second < "$WORK/hawker.txt")
NON_2XX=$(grep -E "Non-2xx" "$WORK/hawker.txt" || true)
ACCEPTED=$(curl -sf "http://127.0.0.1:$HAWKER_PORT/metrics" | grep 'hawker_order_clicks_total{answer="accepted"}' | awk '{print $2}')
BATCH_SUM=$(curl -sf "http://127.0.0.1:$HAWKER_PORT/metrics" | grep '^hawker_intake_batch_size_sum' | awk '{print $2}')
BATCH_COUNT=$(curl -sf "http://127.0.0.1:$HAWKER_PORT/metrics" | grep '^hawker_intake_batch_size_count' | awk '{print $2}')

echo "== nginx return 200 (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)"
cat "$WORK/nginx.txt"
echo "== hawker POST /v1/orders, durable (wrk -t$THREADS -c$CONNECTIONS -d$DURATION)"
cat "$WORK/hawker.txt"
echo "accepted (202) orders: $ACCEPTED; synced appends: $BATCH_COUNT; mean requests per append: $(awk "BEGIN{printf \"%.1f\", $BATCH_SUM/$BATCH_COUNT}")"
[ -n "$NON_2XX" ] && echo "WARNING: $NON_2XX"
echo "nginx_rps=$NGINX_RPS hawker_rps=$HAWKER_RPS ratio=$(awk "BEGIN{printf \"%.2f\", $HAWKER_RPS/$NGINX_RPS}")"
