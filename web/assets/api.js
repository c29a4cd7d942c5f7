// Shared by every page: HTTP helpers, token storage, formatting, and a
// WebSocket that reconnects with backoff and resumes from the last sequence
// number it saw. No framework, no build step: import it as an ES module.

// --- Tokens -------------------------------------------------------------------

const kViewerTokenKey = "hawker.token";
const kViewerSubKey = "hawker.sub";
const kSellerTokenKey = "hawker.seller.token";

// The payload of a JWT (no signature check: the server does that), or null.
export function decodeToken(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const payload = JSON.parse(new TextDecoder().decode(bytes));
    return payload && typeof payload === "object" ? payload : null;
  } catch {
    return null;
  }
}

// True when the token's exp is in the past (with a minute of slack).
export function tokenExpired(token) {
  const payload = decodeToken(token);
  if (!payload) return true;
  return typeof payload.exp === "number" && payload.exp * 1000 < Date.now() + 60_000;
}

function storageGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;  // storage disabled: behave as signed out
  }
}

function storageSet(key, value) {
  try {
    if (value == null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // storage disabled: the session still works until the page closes
  }
}

// The viewer's (buyer's) session: {token, sub} or null.
export function viewerSession() {
  const token = storageGet(kViewerTokenKey);
  if (!token) return null;
  if (tokenExpired(token)) {
    clearViewerSession();
    return null;
  }
  const sub = storageGet(kViewerSubKey) || decodeToken(token)?.sub || "";
  return { token, sub };
}

export function saveViewerSession(token, sub) {
  storageSet(kViewerTokenKey, token);
  storageSet(kViewerSubKey, sub);
}

export function clearViewerSession() {
  storageSet(kViewerTokenKey, null);
  storageSet(kViewerSubKey, null);
}

// POST /v1/auth/guest → stores and returns {token, sub}; throws ApiError.
export async function signInAsGuest() {
  const answer = await request("POST", "/v1/auth/guest");
  if (!answer.ok || !answer.data?.token) throw new ApiError(answer);
  saveViewerSession(answer.data.token, answer.data.sub || decodeToken(answer.data.token)?.sub || "");
  return viewerSession();
}

export function sellerToken() {
  return storageGet(kSellerTokenKey);
}

export function saveSellerToken(token) {
  storageSet(kSellerTokenKey, token);
}

// --- HTTP ---------------------------------------------------------------------

const kRequestTimeoutMs = 15_000;

export class ApiError extends Error {
  constructor(answer) {
    super(answer?.error?.message || `request failed (${answer?.status ?? "network"})`);
    this.status = answer?.status ?? 0;
    this.code = answer?.error?.code || "network";
  }
}

// One HTTP call. Never throws: resolves to
// {ok, status, data, error: {code, message} | null, headers}.
// status 0 means the request never got an answer (network down, timeout).
export async function request(method, path, { token = null, body = undefined, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, cache: "no-store" };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), kRequestTimeoutMs);
  init.signal = controller.signal;
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    clearTimeout(timer);
    const message = error?.name === "AbortError" ? "the server did not answer in time" : "cannot reach the server";
    return { ok: false, status: 0, data: null, error: { code: "network", message }, headers: new Headers() };
  }
  let data = null;
  try {
    const text = await response.text();
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;  // not JSON (a proxy's error page): keep the status
  } finally {
    clearTimeout(timer);
  }
  const error = response.ok
    ? null
    : data?.error && typeof data.error === "object"
      ? { code: String(data.error.code || "error"), message: String(data.error.message || response.statusText) }
      : { code: "http_" + response.status, message: response.statusText || `HTTP ${response.status}` };
  return { ok: response.ok, status: response.status, data, error, headers: response.headers };
}

// --- Formatting ---------------------------------------------------------------

const priceFormats = new Map();

function priceFormat(currency) {
  const code = /^[A-Z]{3}$/.test(currency || "") ? currency : "USD";
  let format = priceFormats.get(code);
  if (!format) {
    try {
      format = new Intl.NumberFormat(undefined, { style: "currency", currency: code });
    } catch {
      format = new Intl.NumberFormat(undefined, { style: "currency", currency: "USD" });
    }
    priceFormats.set(code, format);
  }
  return format;
}

// Digits after the decimal point of a currency's minor unit (USD 2, JPY 0).
export function currencyDigits(currency) {
  return priceFormat(currency).resolvedOptions().maximumFractionDigits ?? 2;
}

// price_cents is in the currency's minor unit.
export function formatPrice(priceCents, currency) {
  const amount = Number(priceCents) / 10 ** currencyDigits(currency);
  return priceFormat(currency).format(Number.isFinite(amount) ? amount : 0);
}

// ISO 8601 with "+0000" or "+00:00" or "Z" → milliseconds since the epoch, or NaN.
export function parseIsoDate(text) {
  if (typeof text !== "string") return NaN;
  return Date.parse(text.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
}

// --- Small DOM helpers --------------------------------------------------------

// el("li", {class: "x", dataset: {id: 1}}, "text", child) — text is never parsed as HTML.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value == null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child == null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Copies text; falls back to a selection where the Clipboard API is missing
// (plain http on a host that is not localhost).
export async function copyText(text) {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // denied: try the old way
    }
  }
  const area = el("textarea", { readonly: true, class: "offscreen", "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

// Sets #connection-status (data-state and a human message).
export function showConnectionState(element, state) {
  if (!element) return;
  element.dataset.state = state;
  const messages = {
    connecting: "Connecting…",
    live: "Live updates on",
    reconnecting: "Connection lost — reconnecting…",
    closed: "Not connected",
  };
  element.textContent = messages[state] ?? state;
}

// --- Live channel ---------------------------------------------------------------

const kBackoffFirstMs = 1_000;
const kBackoffMaxMs = 10_000;

// A WebSocket to one of hawker's live channels that never gives up:
// on close or error it reconnects after 1 s, 2 s, 4 s, 8 s, then every 10 s,
// and once reconnected (with `resume`) sends {"type":"resume","since_seq"}.
//
// Frames carry a per-channel `seq`. `hello` resets last_seq; `order` and
// `error` frames are addressed to this connection and reuse the current seq,
// so they are always delivered; every other frame with a seq at or below
// last_seq was seen already and is dropped.
export class LiveSocket {
  // path: "/v1/shows/shw_1/live"; token(): the current token or null;
  // onFrame(frame); onState("connecting" | "live" | "reconnecting").
  // With dedupe false (the seller channel, which has no resume) every frame is delivered.
  // onConnectFailed(count) is told how many attempts in a row never opened
  // (a browser hides the handshake's status: a 401 looks like any failure).
  constructor({
    path,
    token = () => null,
    onFrame,
    onState = () => {},
    onConnectFailed = () => {},
    resume = true,
    dedupe = true,
  }) {
    this.path = path;
    this.token = token;
    this.onFrame = onFrame;
    this.onState = onState;
    this.resume = resume;
    this.dedupe = dedupe;
    this.onConnectFailed = onConnectFailed;
    this.failedInARow = 0;
    this.lastSeq = 0;
    this.socket = null;
    this.backoffMs = kBackoffFirstMs;
    this.timer = null;
    this.everOpened = false;
    this.stopped = false;
    this.state = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.detach();
  }

  // Reconnects at once (e.g. with a new token after signing in).
  reconnect() {
    clearTimeout(this.timer);
    this.detach();
    this.backoffMs = kBackoffFirstMs;
    this.connect();
  }

  get open() {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  // Sends a JSON frame; false when the socket is not open.
  send(frame) {
    if (!this.open) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const token = this.token();
    const query = token ? `?token=${encodeURIComponent(token)}` : "";
    return `${scheme}//${location.host}${this.path}${query}`;
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }

  detach() {
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(1000, "bye");
    } catch {
      // already closed
    }
  }

  connect() {
    if (this.stopped) return;
    this.setState(this.everOpened ? "reconnecting" : "connecting");
    let socket;
    try {
      socket = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    const reconnecting = this.everOpened;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.failedInARow = 0;
      this.everOpened = true;
      this.setState("live");
      if (reconnecting && this.resume && this.lastSeq > 0) this.send({ type: "resume", since_seq: this.lastSeq });
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onerror = () => {
      // onclose follows and reconnects
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!opened) {
        this.failedInARow += 1;
        try {
          this.onConnectFailed(this.failedInARow);
        } catch (error) {
          console.error("onConnectFailed failed", error);
        }
      }
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    this.everOpened = true;  // from here on every attempt is a reconnect
    this.setState("reconnecting");
    clearTimeout(this.timer);
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, kBackoffMaxMs);
    this.timer = setTimeout(() => this.connect(), wait);
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    const seq = Number(frame.seq) || 0;
    if (frame.type === "hello") {
      this.lastSeq = seq;
    } else if (this.dedupe && frame.type !== "order" && frame.type !== "error" && seq > 0) {
      if (seq <= this.lastSeq) return;  // a replay of something already applied
      this.lastSeq = seq;
    }
    // A channel that delivers real frames is healthy again: start backoff over.
    if (frame.type !== "error") this.backoffMs = kBackoffFirstMs;
    try {
      this.onFrame(frame);
    } catch (error) {
      console.error("live frame handler failed", frame.type, error);
    }
  }
}
