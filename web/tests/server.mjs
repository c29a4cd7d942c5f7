// The server fixture for the end-to-end tests: starts a real `hawker demo`
// (HTTP API, HLS origin, nginx RTMP ingest + CDN edge, the synthetic test
// stream through the ffmpeg ABR ladder) on free loopback ports in a fresh
// data folder, waits until the demo show is live, and stops it again.
//
// One server is shared by every test of a run; startHawker() is called from
// the before() hook of the single top-level describe.

import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, createWriteStream, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const kRepoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const kWebRoot = join(kRepoRoot, 'web');
export const kBinary = process.env.HAWKER_BINARY || join(kRepoRoot, 'build', 'release', 'hawker');
export const kShowId = 'shw_1';

const kStartTimeoutMs = 90_000;   // the demo prints its URLs after the show went live (≤ 30 s) + seeding
const kLiveTimeoutMs = 60_000;
const kStopGraceMs = 10_000;      // SIGTERM, then SIGKILL
const kPollIntervalMs = 250;

// A free TCP port on 127.0.0.1: listen on port 0, read it, close.
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls `probe` until `accept(value)` holds or `timeout_ms` passes; returns the
// value. The error names what was awaited and the last value seen.
export async function pollUntil(what, probe, accept, timeout_ms, interval_ms = kPollIntervalMs) {
  const deadline = Date.now() + timeout_ms;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (error) {
      last = `error: ${error.message}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    }
    await sleep(interval_ms);
  }
}

// Starts `hawker demo`. Resolves to { base_url, seller_token, data_dir, api(), token(), stop() }.
export async function startHawker() {
  if (!existsSync(kBinary)) throw new Error(`no hawker binary at ${kBinary} (set HAWKER_BINARY)`);
  const data_dir = mkdtempSync(join(tmpdir(), 'hawker-e2e-'));
  const [http_port, hls_port, rtmp_port, edge_port] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const args = [
    'demo',
    '--data', join(data_dir, 'data'),
    '--listen', `127.0.0.1:${http_port}`,
    '--hls-listen', `127.0.0.1:${hls_port}`,
    '--rtmp-listen', `127.0.0.1:${rtmp_port}`,
    '--edge-listen', `127.0.0.1:${edge_port}`,
    '--web-root', kWebRoot,
  ];
  const log_path = join(data_dir, 'hawker.log');
  const log = createWriteStream(log_path);
  // Its own process group, so a SIGKILL fallback also reaches nginx and ffmpeg.
  const child = spawn(kBinary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let exited = null;
  child.stdout.on('data', (chunk) => { stdout += chunk; log.write(chunk); });
  child.stderr.on('data', (chunk) => log.write(chunk));
  const exit_promise = new Promise((r) => child.on('exit', (code, signal) => { exited = { code, signal }; r(exited); }));
  const kill_group_on_exit = () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ } };
  process.on('exit', kill_group_on_exit);

  const base_url = `http://127.0.0.1:${http_port}`;
  const server = {
    base_url,
    data_dir,
    seller_token: '',
    log_tail(lines = 40) {
      try { return readFileSync(log_path, 'utf8').split('\n').slice(-lines).join('\n'); } catch { return ''; }
    },
    // A JSON API call; resolves to { status, body }.
    async api(method, path, { token, body, headers = {} } = {}) {
      const response = await fetch(base_url + path, {
        method,
        headers: {
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...headers,
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      let parsed = text;
      try { parsed = JSON.parse(text); } catch { /* not JSON */ }
      return { status: response.status, body: parsed };
    },
    // A signed token for another user, minted by the binary.
    token(sub, role) {
      return execFileSync(kBinary, ['token', '--sub', sub, '--role', role, '--data', join(data_dir, 'data')],
                          { encoding: 'utf8', timeout: 10_000 }).trim();
    },
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        const stopped = await Promise.race([exit_promise, sleep(kStopGraceMs).then(() => null)]);
        if (stopped === null) {
          try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
          await Promise.race([exit_promise, sleep(5_000)]);
        }
      }
      process.off('exit', kill_group_on_exit);
      log.end();
      if (!process.env.HAWKER_KEEP_DATA) rmSync(data_dir, { recursive: true, force: true });
    },
  };

  try {
    const seller_line = await pollUntil('the demo to print the seller console URL', () => {
      if (exited) throw new Error(`hawker exited early (${JSON.stringify(exited)})`);
      return stdout.match(/seller console\s+(\S+)\/seller#token=(\S+)/);
    }, Boolean, kStartTimeoutMs);
    server.seller_token = seller_line[2];
    await pollUntil('GET /healthz to answer 200', () => server.api('GET', '/healthz').then((r) => r.status),
                    (status) => status === 200, kLiveTimeoutMs);
    const show = await pollUntil(`GET /v1/shows/${kShowId} to be live`, () => server.api('GET', `/v1/shows/${kShowId}`)
      .then((r) => r.body), (body) => body && body.status === 'live', kLiveTimeoutMs);
    // "live" and the printed URLs come a few seconds before the ladder's first
    // segment (and so the master playlist) exists; the video tests need it.
    server.playback_url = show.playback.hls;
    await pollUntil(`the master playlist ${show.playback.hls} to answer 200`,
                    () => fetch(show.playback.hls, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status),
                    (status) => status === 200, kLiveTimeoutMs);
  } catch (error) {
    const tail = server.log_tail();
    await server.stop();
    error.message += `\n--- hawker log (tail) ---\n${tail}`;
    throw error;
  }
  return server;
}
