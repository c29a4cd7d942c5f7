// The minimal Node.js broadcaster most teams would write instead of hawker's
// live channel (bench/fanout.sh compares the two): a `ws` server that, 10
// times a second, sends the same kind of frame hawker sends on a stock tick
// to every connected client, serialising once per broadcast.
//
//   node ws_broadcaster.js [--port 18795] [--interval-ms 100] [--wait-signal]
//
// With --wait-signal it accepts clients but starts broadcasting only on
// SIGUSR2, so the benchmark can read its memory with idle connections first.
// It stops on SIGTERM/SIGINT.
'use strict';

const { WebSocketServer, WebSocket } = require('ws');
const { performance } = require('perf_hooks');

function flag(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const port = Number(flag('--port', '18795'));
const intervalMs = Number(flag('--interval-ms', '100'));
const waitSignal = process.argv.includes('--wait-signal');

// Wall clock in microseconds (Date.now() has only milliseconds).
function nowUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

const server = new WebSocketServer({ host: '127.0.0.1', port, backlog: 4096 });
let seq = 0;
let available = 1000000000;
let timer = null;

function broadcast() {
  seq += 1;
  available -= 1;
  const frame = JSON.stringify({
    type: 'inventory', seq, product_id: 'prd_1', available, state: 'in_stock', ts_us: nowUs(),
  });
  for (const client of server.clients) {
    if (client.readyState === WebSocket.OPEN) client.send(frame);
  }
}

function start() {
  if (timer === null) timer = setInterval(broadcast, intervalMs);
}

function stop() {
  if (timer !== null) clearInterval(timer);
  for (const client of server.clients) client.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}

server.on('listening', () => console.error(`ws_broadcaster: listening on 127.0.0.1:${port}`));
server.on('error', (error) => {
  console.error(`ws_broadcaster: ${error.message}`);
  process.exit(1);
});
process.on('SIGUSR2', start);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (!waitSignal) start();
