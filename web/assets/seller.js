// The seller console, /seller: products (create, restock), shows (create,
// ingest URL and stream key, test stream, key rotation, pinning a product),
// and live figures and notices from the seller channel.

import {
  LiveSocket,
  copyText,
  currencyDigits,
  decodeToken,
  el,
  formatPrice,
  request,
  saveSellerToken,
  sellerToken,
  showConnectionState,
  tokenExpired,
} from "/assets/api.js";

// --- Limits -------------------------------------------------------------------

const kPageLimit = 100;
const kProductPagesMax = 10;     // up to 1,000 products
const kShowPagesMax = 20;        // shows have no seller filter: read at most 2,000
const kShowRefreshMs = 10_000;
const kNoticesMax = 100;
const kChartWindowMs = 5 * 60_000;
const kChartSamplesMax = 600;    // stats come about once a second
const kPriceCentsMax = 100_000_000_000;

// --- Elements and state ---------------------------------------------------------

const $ = (id) => document.getElementById(id);
const ui = {
  connection: $("connection-status"),
  signInPanel: $("sign-in-panel"),
  signInForm: $("seller-sign-in-form"),
  tokenInput: $("seller-token"),
  signInError: $("sign-in-error"),
  console: $("console"),
  sellerName: $("seller-name"),
  signOut: $("seller-sign-out"),
  statViewers: $("stat-viewers"),
  statOrdersPerSecond: $("stat-orders-per-second"),
  statOrdersConfirmed: $("stat-orders-confirmed"),
  statRevenue: $("stat-revenue"),
  chart: $("orders-chart"),
  notices: $("notices"),
  showForm: $("show-form"),
  showFormStatus: $("show-form-status"),
  showList: $("show-list"),
  productForm: $("product-form"),
  productFormStatus: $("product-form-status"),
  productList: $("product-list"),
};

const state = {
  token: null,
  sub: null,
  products: new Map(),     // id → product, in list order
  shows: new Map(),        // id → show
  testSourceOffered: true, // false once the server says it does not offer one
  samples: [],             // {at, value}: orders per second
  lastStats: null,
  socket: null,
  showTimer: null,
};

const STOCK_TEXT = { in_stock: "In stock", low: "Low", sold_out: "Sold out" };

// --- Session ---------------------------------------------------------------------

// A usable seller token, or an explanation why not.
function checkToken(token) {
  const payload = decodeToken(token);
  if (!payload || typeof payload.sub !== "string" || !payload.sub) return { error: "That is not a hawker token." };
  if (payload.role !== "seller") return { error: `That token is for a ${payload.role || "non-seller"}, not a seller.` };
  if (tokenExpired(token)) return { error: "That token has expired. Ask for a new one." };
  return { sub: payload.sub };
}

function takeTokenFromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (!token) return;
  saveSellerToken(token);
  // The token must not linger in the address bar, history or a bookmark.
  history.replaceState(null, "", location.pathname + location.search);
}

function showSignIn(message = "") {
  stopConsole();
  ui.console.hidden = true;
  ui.connection.hidden = true;
  ui.signInPanel.hidden = false;
  ui.signInError.textContent = message;
  ui.tokenInput.focus();
}

function signOut(message = "") {
  saveSellerToken(null);
  state.token = null;
  state.sub = null;
  showSignIn(message);
}

// Called on any 401: the server refused the token.
function tokenRefused() {
  signOut("The server refused this token (expired, or signed with another secret). Sign in again.");
}

async function signIn(token) {
  const checked = checkToken(token);
  if (checked.error) {
    saveSellerToken(null);
    showSignIn(checked.error);
    return;
  }
  // Reads ignore a bad token, so the server's verdict comes with the first
  // write (any 401) or from the seller channel refusing us (onConnectFailed).
  saveSellerToken(token);
  state.token = token;
  state.sub = checked.sub;
  ui.sellerName.textContent = checked.sub;
  ui.signInPanel.hidden = true;
  ui.signInError.textContent = "";
  ui.tokenInput.value = "";
  ui.console.hidden = false;
  ui.connection.hidden = false;
  startConsole();
}

ui.signInForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void signIn(ui.tokenInput.value.trim());
});

ui.signOut.addEventListener("click", () => signOut(""));

// --- API helper ------------------------------------------------------------------

async function call(method, path, body) {
  const answer = await request(method, path, { token: state.token, body });
  if (answer.status === 401) tokenRefused();
  return answer;
}

function setMessage(element, text, kind = "") {
  element.textContent = text;
  if (kind) element.dataset.state = kind;
  else delete element.dataset.state;
}

// --- Products ----------------------------------------------------------------------

async function loadProducts() {
  const items = [];
  let cursor = null;
  for (let page = 0; page < kProductPagesMax; page++) {
    const query = new URLSearchParams({ seller: state.sub, limit: String(kPageLimit) });
    if (cursor) query.set("cursor", cursor);
    const answer = await call("GET", `/v1/products?${query}`);
    if (!answer.ok) {
      setMessage(ui.productFormStatus, `Could not load products: ${answer.error?.message}`, "error");
      return;
    }
    items.push(...(answer.data?.items ?? []));
    cursor = answer.data?.next;
    if (!cursor) break;
  }
  state.products = new Map(items.map((product) => [product.id, product]));
  renderProducts();
  renderPinChoices();
}

function productRow(product) {
  const id = product.id;
  const restockId = `restock-${id}`;
  const message = el("p", { class: "row-message", role: "status", "aria-live": "polite" });
  const input = el("input", { id: restockId, class: "restock", type: "number", min: "1", step: "1", value: "10", required: true });
  const form = el(
    "form",
    { class: "inline-form restock-form" },
    el("label", { for: restockId }, "Restock by"),
    input,
    el("button", { type: "submit", class: "restock-submit" }, "Restock"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const quantity = Number(input.value);
    if (!Number.isInteger(quantity) || quantity < 1) {
      setMessage(message, "Enter a whole number of at least 1.", "error");
      return;
    }
    const button = form.querySelector("button");
    button.disabled = true;
    const answer = await call("POST", `/v1/products/${encodeURIComponent(id)}/restock`, { quantity });
    button.disabled = false;
    if (answer.ok) {
      state.products.set(id, answer.data);
      updateProductRow(answer.data);
      setMessage(message, `Added ${quantity}. ${answer.data.available} available.`, "ok");
    } else {
      setMessage(message, `Restock failed: ${answer.error?.message}`, "error");
    }
  });
  const row = el(
    "li",
    { class: "product-row", dataset: { productId: id } },
    el(
      "div",
      { class: "row-head" },
      el("h3", { class: "product-title" }),
      el("span", { class: "product-price" }),
    ),
    el(
      "p",
      { class: "figures" },
      el("span", {}, "Available ", el("strong", { class: "product-available" })),
      el("span", { class: "product-state" }),
      el("span", { class: "product-limit" }),
      el("span", { class: "product-id" }, id),
    ),
    form,
    message,
  );
  return row;
}

function updateProductRow(product, row = ui.productList.querySelector(`.product-row[data-product-id="${CSS.escape(product.id)}"]`)) {
  if (!row) return;
  row.querySelector(".product-title").textContent = product.title;
  row.querySelector(".product-price").textContent = formatPrice(product.price_cents, product.currency);
  setStock(row, product.available, product.state);
  row.querySelector(".product-limit").textContent =
    product.max_per_buyer > 0 ? `Limit ${product.max_per_buyer} per buyer` : "No limit per buyer";
}

function setStock(row, available, stockState) {
  row.querySelector(".product-available").textContent = String(available);
  const stateElement = row.querySelector(".product-state");
  stateElement.dataset.state = stockState;
  stateElement.textContent = STOCK_TEXT[stockState] ?? stockState;
}

function renderProducts() {
  const existing = new Map([...ui.productList.children].map((row) => [row.dataset.productId, row]));
  let index = 0;
  for (const product of state.products.values()) {
    let row = existing.get(product.id);
    existing.delete(product.id);
    if (!row) row = productRow(product);
    updateProductRow(product, row);
    if (ui.productList.children[index] !== row) ui.productList.insertBefore(row, ui.productList.children[index] ?? null);
    index += 1;
  }
  for (const gone of existing.values()) gone.remove();
  if (state.products.size === 0 && !ui.productFormStatus.textContent)
    setMessage(ui.productFormStatus, "No products yet: add your first one above.");
}

// "39.90" in USD → 3990; null when it is not a price.
function parsePrice(text, currency) {
  const match = /^\s*(\d+)(?:[.,](\d+))?\s*$/.exec(text);
  if (!match) return null;
  const digits = currencyDigits(currency);
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return null;
  const cents = Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, "0") || 0);
  return Number.isSafeInteger(cents) && cents <= kPriceCentsMax ? cents : null;
}

ui.productForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(ui.productForm);
  const currency = String(form.get("currency") || "USD").trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) {
    setMessage(ui.productFormStatus, "Currency is three letters, like USD or EUR.", "error");
    return;
  }
  const priceCents = parsePrice(String(form.get("price") || ""), currency);
  if (priceCents == null) {
    setMessage(ui.productFormStatus, `Price must be a number like 39.90 (at most ${currencyDigits(currency)} decimals).`, "error");
    return;
  }
  const body = {
    title: String(form.get("title") || "").trim(),
    price_cents: priceCents,
    currency,
    stock: Number(form.get("stock")),
    max_per_buyer: Number(form.get("max_per_buyer") || 0),
  };
  const submit = ui.productForm.querySelector("button[type=submit]");
  submit.disabled = true;
  const answer = await call("POST", "/v1/products", body);
  submit.disabled = false;
  if (!answer.ok) {
    setMessage(ui.productFormStatus, `Could not add the product: ${answer.error?.message}`, "error");
    return;
  }
  setMessage(ui.productFormStatus, `Added “${answer.data.title}” (${answer.data.id}).`, "ok");
  ui.productForm.reset();
  await loadProducts();
});

// --- Shows ----------------------------------------------------------------------------

async function loadShows() {
  const mine = [];
  let cursor = null;
  for (let page = 0; page < kShowPagesMax; page++) {
    const query = new URLSearchParams({ limit: String(kPageLimit) });
    if (cursor) query.set("cursor", cursor);
    const answer = await call("GET", `/v1/shows?${query}`);
    if (!answer.ok) {
      setMessage(ui.showFormStatus, `Could not load shows: ${answer.error?.message}`, "error");
      return;
    }
    for (const show of answer.data?.items ?? []) if (show.seller === state.sub) mine.push(show);
    cursor = answer.data?.next;
    if (!cursor) break;
  }
  state.shows = new Map(mine.map((show) => [show.id, show]));
  renderShows();
}

// OBS wants the server URL and the key apart; ingest.rtmp is both together.
function splitIngest(show) {
  const full = show.ingest?.rtmp || "";
  const key = show.stream_key || "";
  const server = key && full.endsWith("/" + key) ? full.slice(0, -(key.length + 1)) : full;
  return { full, server, key };
}

function copyLine(label, codeClass, buttonClass, what) {
  const code = el("code", { class: codeClass });
  const button = el("button", { type: "button", class: buttonClass, "aria-label": `Copy ${what}` }, "Copy");
  button.addEventListener("click", async () => {
    const copied = await copyText(code.textContent);
    button.textContent = copied ? "Copied" : "Copy failed";
    setTimeout(() => (button.textContent = "Copy"), 2000);
  });
  return el("div", { class: "copy-line" }, el("span", { class: "copy-label" }, label), code, button);
}

function showRow(show) {
  const id = show.id;
  const pinId = `pin-${id}`;
  const message = el("p", { class: "row-message", role: "status", "aria-live": "polite" });
  const say = (text, kind) => setMessage(message, text, kind);

  const select = el("select", { id: pinId, class: "pin-product" });
  const pin = el("button", { type: "button", class: "pin" }, "Pin");
  pin.addEventListener("click", async () => {
    if (!select.value) {
      say("Add a product first.", "error");
      return;
    }
    pin.disabled = true;
    const answer = await call("POST", `/v1/shows/${encodeURIComponent(id)}/showcase`, { product_id: select.value });
    pin.disabled = false;
    if (!answer.ok) {
      say(`Could not pin: ${answer.error?.message}`, "error");
      return;
    }
    state.shows.set(id, answer.data);
    updateShowRow(answer.data);
    const at = answer.data.program_date_time ? ` (in the video at ${new Date(Date.parse(answer.data.program_date_time)).toLocaleTimeString()})` : "";
    say(`Pinned “${answer.data.showcase?.title ?? select.value}”${at}.`, "ok");
  });

  const testSource = el("button", { type: "button", class: "start-test-source" }, "Start test stream");
  testSource.hidden = !state.testSourceOffered;
  testSource.addEventListener("click", async () => {
    testSource.disabled = true;
    const answer = await call("POST", `/v1/shows/${encodeURIComponent(id)}/test-source`);
    testSource.disabled = false;
    if (answer.ok) {
      say("Test stream starting: the show goes live in a few seconds.", "ok");
      setTimeout(() => void loadShows(), 3000);
      return;
    }
    if (answer.status === 403 && /does not offer/i.test(answer.error?.message ?? "")) {
      state.testSourceOffered = false;
      for (const button of ui.showList.querySelectorAll(".start-test-source")) button.hidden = true;
      say("This server does not offer a test stream: publish with OBS or ffmpeg instead.", "error");
      return;
    }
    say(`Could not start the test stream: ${answer.error?.message}`, "error");
  });

  const rotate = el("button", { type: "button", class: "rotate-key" }, "Rotate stream key");
  rotate.addEventListener("click", async () => {
    rotate.disabled = true;
    const answer = await call("POST", `/v1/shows/${encodeURIComponent(id)}/stream-key`);
    rotate.disabled = false;
    if (!answer.ok) {
      say(`Could not rotate the key: ${answer.error?.message}`, "error");
      return;
    }
    state.shows.set(id, answer.data);
    updateShowRow(answer.data);
    say("New stream key issued. The old key stops working within 10 s: update your encoder.", "ok");
  });

  return el(
    "li",
    { class: "show-row", dataset: { showId: id } },
    el(
      "div",
      { class: "row-head" },
      el("h3", { class: "show-title" }),
      el("span", { class: "badge show-status" }),
    ),
    el(
      "p",
      { class: "figures" },
      el("a", { class: "viewer-link", href: `/shows/${encodeURIComponent(id)}` }, "Open viewer page"),
      " · ",
      el("span", { class: "show-viewers" }),
      " watching · Pinned: ",
      el("span", { class: "show-pinned" }),
    ),
    el(
      "div",
      { class: "secret-box" },
      el(
        "p",
        { class: "secret-warning" },
        "The stream key is secret: anyone who has it can broadcast on this show. Never show it on stream; rotate it if it leaks.",
      ),
      copyLine("RTMP server", "rtmp-server", "copy-rtmp-server", "RTMP server URL"),
      copyLine("Stream key", "stream-key", "copy-stream-key", "stream key"),
      copyLine("Full URL", "rtmp-url", "copy-rtmp-url", "full RTMP URL with key"),
      el("p", { class: "muted no-ingest" }, "This server has no RTMP ingest configured."),
    ),
    el("div", { class: "row-actions" }, el("label", { for: pinId }, "Pinned product"), select, pin),
    el("div", { class: "row-actions" }, testSource, rotate),
    message,
  );
}

function updateShowRow(show, row = ui.showList.querySelector(`.show-row[data-show-id="${CSS.escape(show.id)}"]`)) {
  if (!row) return;
  row.querySelector(".show-title").textContent = show.title || show.id;
  const status = row.querySelector(".show-status");
  status.dataset.status = show.status;
  status.textContent = show.status;
  row.querySelector(".show-viewers").textContent = String(show.viewers ?? 0);
  row.querySelector(".show-pinned").textContent = show.showcase?.title ?? "nothing";
  const { full, server, key } = splitIngest(show);
  row.querySelector(".rtmp-server").textContent = server;
  row.querySelector(".stream-key").textContent = key;
  row.querySelector(".rtmp-url").textContent = full;
  row.querySelector(".rtmp-server").parentElement.hidden = !server;
  row.querySelector(".rtmp-url").parentElement.hidden = !full || full === server;
  row.querySelector(".stream-key").parentElement.hidden = !key;
  row.querySelector(".no-ingest").hidden = Boolean(full);
  row.querySelector(".start-test-source").hidden = !state.testSourceOffered;
  fillPinChoices(row.querySelector(".pin-product"), show.showcase?.id ?? null);
}

// Keeps the seller's own choice unless they have not touched the select.
function fillPinChoices(select, pinnedId) {
  const signature = [...state.products.values()].map((product) => `${product.id}:${product.title}`).join("|");
  const touched = select.dataset.touched === "1";
  if (select.dataset.signature !== signature) {
    const chosen = select.value;
    select.replaceChildren(
      ...[...state.products.values()].map((product) => el("option", { value: product.id }, `${product.title} (${product.id})`)),
    );
    select.dataset.signature = signature;
    if (touched && chosen && state.products.has(chosen)) select.value = chosen;
  }
  if (!touched && pinnedId && state.products.has(pinnedId)) select.value = pinnedId;
  if (!select.dataset.listening) {
    select.dataset.listening = "1";
    select.addEventListener("change", () => (select.dataset.touched = "1"));
  }
  const button = select.parentElement?.querySelector(".pin");
  if (button) button.disabled = state.products.size === 0;
}

function renderPinChoices() {
  for (const show of state.shows.values()) updateShowRow(show);
}

function renderShows() {
  const existing = new Map([...ui.showList.children].map((row) => [row.dataset.showId, row]));
  let index = 0;
  for (const show of state.shows.values()) {
    let row = existing.get(show.id);
    existing.delete(show.id);
    if (!row) row = showRow(show);
    updateShowRow(show, row);
    if (ui.showList.children[index] !== row) ui.showList.insertBefore(row, ui.showList.children[index] ?? null);
    index += 1;
  }
  for (const gone of existing.values()) gone.remove();
  if (state.shows.size === 0 && !ui.showFormStatus.textContent)
    setMessage(ui.showFormStatus, "No shows yet: create one above, then stream to it.");
}

ui.showForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const title = String(new FormData(ui.showForm).get("title") || "").trim();
  if (!title) return;
  const submit = ui.showForm.querySelector("button[type=submit]");
  submit.disabled = true;
  const answer = await call("POST", "/v1/shows", { title });
  submit.disabled = false;
  if (!answer.ok) {
    setMessage(ui.showFormStatus, `Could not create the show: ${answer.error?.message}`, "error");
    return;
  }
  setMessage(ui.showFormStatus, `Created “${answer.data.title}” (${answer.data.id}).`, "ok");
  ui.showForm.reset();
  // Newest first, as GET /v1/shows orders them among scheduled shows.
  state.shows = new Map([[answer.data.id, answer.data], ...state.shows]);
  renderShows();
});

// --- Live figures --------------------------------------------------------------------------

function revenueCurrency() {
  const counts = new Map();
  for (const product of state.products.values()) counts.set(product.currency, (counts.get(product.currency) ?? 0) + 1);
  let best = "USD";
  let bestCount = 0;
  for (const [currency, count] of counts) if (count > bestCount) [best, bestCount] = [currency, count];
  return best;
}

function onStats(frame) {
  state.lastStats = frame;
  ui.statViewers.textContent = String(frame.viewers ?? 0);
  const perSecond = Number(frame.orders_per_second) || 0;
  ui.statOrdersPerSecond.textContent = perSecond.toFixed(perSecond >= 100 ? 0 : 1);
  ui.statOrdersConfirmed.textContent = String(frame.orders_confirmed ?? 0);
  ui.statRevenue.textContent = formatPrice(frame.revenue_cents ?? 0, revenueCurrency());
  let unknown = false;
  for (const entry of frame.stock ?? []) {
    const product = state.products.get(entry.product_id);
    if (!product) {
      unknown = true;
      continue;
    }
    if (product.available === entry.available && product.state === entry.state) continue;
    product.available = entry.available;
    product.state = entry.state;
    updateProductRow(product);
  }
  if (unknown) scheduleProductReload();
  const now = Date.now();
  state.samples.push({ at: now, value: perSecond });
  while (state.samples.length > kChartSamplesMax || (state.samples.length && state.samples[0].at < now - kChartWindowMs))
    state.samples.shift();
  drawChart();
}

let productReload = null;
function scheduleProductReload() {
  if (productReload) return;
  productReload = setTimeout(async () => {
    await loadProducts();
    productReload = null;
  }, 1000);
}

function noticeText(frame) {
  const product = state.products.get(frame.product_id);
  const title = product?.title ?? frame.product_id;
  const quantity = Number(frame.quantity) || 1;
  switch (frame.kind) {
    case "sale": {
      const amount = frame.amount_cents != null ? ` for ${formatPrice(frame.amount_cents, product?.currency ?? revenueCurrency())}` : "";
      const left = frame.available != null ? ` · ${frame.available} left` : "";
      return `Sale: ${quantity} × ${title}${amount}${left}`;
    }
    case "low_stock":
      return `Low stock: ${title}${frame.available != null ? ` · only ${frame.available} left` : ""}`;
    case "sold_out":
      return `Sold out: ${title}`;
    case "payment_failed":
      return `Payment failed: ${title}${frame.order_id ? `, order ${frame.order_id}` : ""}${frame.reason ? ` (${frame.reason.replace(/_/g, " ")})` : ""}`;
    default:
      return `${frame.kind}: ${title}`;
  }
}

function onNotice(frame) {
  const now = new Date();
  const item = el(
    "li",
    { class: "notice", dataset: { kind: String(frame.kind ?? ""), productId: String(frame.product_id ?? "") } },
    el("time", { datetime: now.toISOString() }, now.toLocaleTimeString()),
    " ",
    noticeText(frame),
  );
  if (frame.order_id) item.dataset.orderId = frame.order_id;
  ui.notices.prepend(item);
  while (ui.notices.children.length > kNoticesMax) ui.notices.lastElementChild.remove();
  const product = state.products.get(frame.product_id);
  if (product && frame.available != null && (frame.kind === "sold_out" || frame.kind === "low_stock")) {
    product.available = frame.available;
    product.state = frame.kind === "sold_out" ? "sold_out" : "low";
    updateProductRow(product);
  }
}

// Orders per second over the last 5 minutes: a line over a filled area.
function drawChart() {
  const canvas = ui.chart;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (width === 0 || height === 0) return;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const style = getComputedStyle(document.documentElement);
  const color = (name) => style.getPropertyValue(name).trim();
  const pad = { left: 36, right: 8, top: 10, bottom: 20 };
  const plotWidth = width - pad.left - pad.right;
  const plotHeight = height - pad.top - pad.bottom;
  const now = Date.now();
  const peak = Math.max(1, ...state.samples.map((sample) => sample.value));
  const top = niceCeiling(peak);
  const x = (at) => pad.left + ((at - (now - kChartWindowMs)) / kChartWindowMs) * plotWidth;
  const y = (value) => pad.top + plotHeight - (value / top) * plotHeight;

  context.font = "11px system-ui, sans-serif";
  context.fillStyle = color("--muted");
  context.strokeStyle = color("--border");
  context.lineWidth = 1;
  for (const fraction of [0, 0.5, 1]) {
    const lineY = Math.round(y(top * fraction)) + 0.5;
    context.beginPath();
    context.moveTo(pad.left, lineY);
    context.lineTo(width - pad.right, lineY);
    context.stroke();
    context.textAlign = "right";
    context.textBaseline = "middle";
    context.fillText(formatAxis(top * fraction), pad.left - 6, lineY);
  }
  context.textBaseline = "alphabetic";
  context.textAlign = "left";
  context.fillText("5 min ago", pad.left, height - 4);
  context.textAlign = "right";
  context.fillText("now", width - pad.right, height - 4);

  const points = state.samples.filter((sample) => sample.at >= now - kChartWindowMs);
  if (points.length === 0) return;
  context.beginPath();
  points.forEach((sample, index) => {
    if (index === 0) context.moveTo(x(sample.at), y(sample.value));
    else context.lineTo(x(sample.at), y(sample.value));
  });
  context.strokeStyle = color("--accent");
  context.lineWidth = 2;
  context.stroke();
  context.lineTo(x(points.at(-1).at), y(0));
  context.lineTo(x(points[0].at), y(0));
  context.closePath();
  context.globalAlpha = 0.15;
  context.fillStyle = color("--accent");
  context.fill();
  context.globalAlpha = 1;
}

function niceCeiling(value) {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function formatAxis(value) {
  return value >= 1000 ? `${Math.round(value / 1000)}k` : value % 1 === 0 ? String(value) : value.toFixed(1);
}

new ResizeObserver(() => drawChart()).observe(ui.chart);

// --- Start and stop ------------------------------------------------------------------------

function startConsole() {
  state.socket = new LiveSocket({
    path: "/v1/sellers/me/live",
    token: () => state.token,
    resume: false,  // the seller channel takes no frames
    dedupe: false,
    onState: (connection) => showConnectionState(ui.connection, connection),
    onConnectFailed: async (count) => {
      if (count !== 2 || !state.token) return;
      const probe = await request("GET", "/v1/orders/ord_check", { token: state.token });
      if (probe.status === 401) tokenRefused();
    },
    onFrame: (frame) => {
      if (frame.type === "stats") onStats(frame);
      else if (frame.type === "notice") onNotice(frame);
    },
  });
  state.socket.start();
  void loadProducts().then(() => loadShows());
  clearInterval(state.showTimer);
  state.showTimer = setInterval(() => {
    if (document.visibilityState !== "hidden" && state.token) void loadShows();
  }, kShowRefreshMs);
  drawChart();
}

function stopConsole() {
  state.socket?.stop();
  state.socket = null;
  clearInterval(state.showTimer);
  state.showTimer = null;
  state.samples = [];
  ui.notices.replaceChildren();
  ui.productList.replaceChildren();
  ui.showList.replaceChildren();
}

function main() {
  takeTokenFromHash();
  const token = sellerToken();
  if (token) void signIn(token);
  else showSignIn("");
}

window.addEventListener("hashchange", () => {
  if (new URLSearchParams(location.hash.slice(1)).get("token")) {
    stopConsole();
    main();
  }
});

main();
