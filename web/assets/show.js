// The viewer page, /shows/{id}: video (hls.js), the pinned product with live
// stock and Buy Now, chat, and the viewer count, all fed by the show's live
// channel. See docs/API.md for the HTTP and WebSocket contract.

import {
  LiveSocket,
  clearViewerSession,
  el,
  formatPrice,
  parseIsoDate,
  request,
  showConnectionState,
  signInAsGuest,
  sleep,
  viewerSession,
} from "/assets/api.js";

// --- Limits -------------------------------------------------------------------

const kShowcaseClass = "com.hawker.showcase";
const kShowcaseWaitMaxMs = 10_000;      // a showcase frame waits for the video at most this long
const kTickMs = 250;                    // how often pending showcases and moments are checked
const kChatMessagesMax = 200;           // chat items kept in the DOM
const kOutboxMax = 5;                   // chat messages waiting for the channel to open
const kOutboxWaitMs = 10_000;           // how long they wait
const kMomentsMax = 500;                // product moments remembered from playlists
const kEarlyOrderFramesMax = 50;        // order frames that beat their 202 to us
const kOrderRetriesMax = 3;             // retries of one click after 429 / 503 / no answer
const kRetryAfterMaxMs = 10_000;
const kOrderFrameWaitMs = 5_000;        // then poll GET /v1/orders/{id}
const kOrderPollIntervalMs = 1_000;
const kOrderPollMaxMs = 60_000;
const kShowPollMs = 5_000;              // while the show has not started
const kPlayerRetryFirstMs = 2_000;
const kPlayerRetryMaxMs = 15_000;

// --- Elements and state ---------------------------------------------------------

const $ = (id) => document.getElementById(id);
const ui = {
  connection: $("connection-status"),
  player: $("player"),
  videoMessage: $("video-message"),
  unmute: $("unmute"),
  showTitle: $("show-title"),
  showSeller: $("show-seller"),
  showStatus: $("show-status"),
  viewers: $("viewer-count"),
  quality: $("quality"),
  card: $("product-card"),
  productTitle: $("product-title"),
  productPrice: $("product-price"),
  productStock: $("product-stock"),
  buy: $("buy-now"),
  orderStatus: $("order-status"),
  chatLog: $("chat-log"),
  chatError: $("chat-error"),
  chatForm: $("chat-form"),
  chatInput: $("chat-input"),
  chatSend: $("chat-send"),
  signedOut: $("chat-signed-out"),
  signIn: $("sign-in"),
  identity: $("viewer-identity"),
};

const showId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");

const state = {
  session: viewerSession(),  // {token, sub} or null
  show: null,
  product: null,             // the product on the card
  productVersion: 0,         // bumped on every card change; stale fetches compare it
  pending: [],               // showcase frames waiting for the video: {product, dueMs, deadline}
  hls: null,
  playerUrl: null,
  playerRetryMs: kPlayerRetryFirstMs,
  playerTimer: null,
  moments: new Map(),        // id → {id, productId, startMs}, from EXT-X-DATERANGE
  momentsLoaded: false,
  lastMomentId: undefined,   // undefined until the first look at the playhead
  order: null,               // the current Buy Now click, see buyNow()
  buying: false,
  earlyOrderFrames: new Map(),
  signingIn: null,
};

let socket = null;
let helloCount = 0;

// --- Header, viewers ------------------------------------------------------------------

function renderShow(show) {
  if (!show) return;
  state.show = show;
  ui.showTitle.textContent = show.title || show.id;
  document.title = `${show.title || show.id} · hawker`;
  ui.showSeller.textContent = show.seller ? `by ${show.seller}` : "";
  const status = show.status || "";
  ui.showStatus.dataset.status = status;
  ui.showStatus.textContent = { live: "Live", scheduled: "Starting soon", ended: "Replay" }[status] ?? status;
  if (typeof show.viewers === "number" && helloCount === 0) setViewers(show.viewers);
  if (!state.playerUrl && (status === "live" || status === "ended")) startPlayer(show.playback?.hls);
  if (status === "scheduled" && !state.playerUrl) showVideoMessage("This show hasn't started yet. It will play here when it does.");
}

function setViewers(count) {
  const number = Number(count);
  if (Number.isFinite(number)) ui.viewers.textContent = String(number);
}

// --- Product card ---------------------------------------------------------------------

function setProduct(product) {
  state.productVersion += 1;
  state.product = product ? { ...product } : null;
  renderProduct();
}

function renderProduct() {
  const product = state.product;
  if (!product) {
    ui.card.dataset.productId = "";
    ui.productTitle.textContent = "No product pinned yet";
    ui.productPrice.textContent = "";
    ui.productStock.textContent = "";
    delete ui.productStock.dataset.state;
    updateBuyButton();
    return;
  }
  const changed = ui.card.dataset.productId !== product.id;
  ui.card.dataset.productId = product.id;
  ui.productTitle.textContent = product.title ?? product.id;
  ui.productPrice.textContent = formatPrice(product.price_cents, product.currency);
  renderStock();
  if (changed) {
    ui.card.classList.remove("pop");
    void ui.card.offsetWidth;  // restart the highlight animation
    ui.card.classList.add("pop");
  }
}

function stockState(product) {
  if (!product) return null;
  if (product.state === "sold_out" || Number(product.available) <= 0) return "sold_out";
  return product.state === "low" ? "low" : "in_stock";
}

function renderStock() {
  const product = state.product;
  const stock = stockState(product);
  if (!stock) return;
  ui.productStock.dataset.state = stock;
  ui.productStock.textContent =
    stock === "sold_out" ? "Sold out" : stock === "low" ? `Only ${Number(product.available)} left` : "In stock";
  updateBuyButton();
}

function updateBuyButton() {
  const stock = stockState(state.product);
  ui.buy.disabled = !state.product || stock === "sold_out" || state.buying;
  ui.buy.textContent = stock === "sold_out" ? "Sold out" : "Buy now";
}

// GET /v1/products/{id} for a product moment, unless something newer won meanwhile.
async function showProductById(productId) {
  if (!productId || state.product?.id === productId) return;
  const waiting = state.pending.find((entry) => entry.product?.id === productId);
  if (waiting) {
    setProduct(waiting.product);
    return;
  }
  const version = state.productVersion;
  const answer = await request("GET", `/v1/products/${encodeURIComponent(productId)}`);
  if (!answer.ok || version !== state.productVersion) return;
  setProduct(answer.data);
}

// --- Showcase frames, timed to the video --------------------------------------------

function playingDateMs() {
  if (state.hls) {
    const date = state.hls.playingDate;
    return date ? date.getTime() : null;
  }
  const video = ui.player;
  if (typeof video.getStartDate === "function") {
    const start = video.getStartDate().getTime();
    if (Number.isFinite(start) && start > 0) return start + video.currentTime * 1000;
  }
  return null;
}

function videoPlaying() {
  const video = ui.player;
  return !video.paused && !video.ended && video.readyState >= 2 && playingDateMs() != null;
}

// A showcase frame: apply when the video reaches program_date_time, at
// once when no video plays, and anyway after kShowcaseWaitMaxMs.
function onShowcase(frame) {
  const product = frame.product ?? null;
  const dueMs = parseIsoDate(frame.program_date_time);
  if (!product || !Number.isFinite(dueMs) || !videoPlaying()) {
    state.pending = [];
    setProduct(product);
    return;
  }
  state.pending.push({ product: { ...product }, dueMs, deadline: performance.now() + kShowcaseWaitMaxMs });
}

function applyDueShowcases() {
  if (state.pending.length === 0) return;
  const playing = videoPlaying() ? playingDateMs() : null;
  const now = performance.now();
  while (state.pending.length > 0) {
    const next = state.pending[0];
    if (playing != null && playing < next.dueMs && now < next.deadline) break;
    state.pending.shift();
    if (state.product?.id === next.product.id) {
      Object.assign(state.product, next.product);
      renderProduct();
    } else {
      setProduct(next.product);
    }
  }
}

// --- Product moments from the playlists (EXT-X-DATERANGE) -----------------------------

function collectMoments(details) {
  const ranges = details?.dateRanges;
  if (!ranges) return;
  for (const id of Object.keys(ranges)) {
    const range = ranges[id];
    if (range?.class !== kShowcaseClass) continue;
    const productId = range.attr?.["X-PRODUCT-ID"];
    const startMs = range.startDate?.getTime?.();
    if (!productId || !Number.isFinite(startMs)) continue;
    state.moments.set(id, { id, productId: String(productId), startMs });
  }
  if (state.moments.size > kMomentsMax) {
    const oldest = [...state.moments.values()].sort((a, b) => a.startMs - b.startMs);
    for (const moment of oldest.slice(0, state.moments.size - kMomentsMax)) state.moments.delete(moment.id);
  }
  state.momentsLoaded = true;
}

// The last moment the playhead has crossed: null for none, undefined when
// the player cannot tell yet.
function currentMoment() {
  if (state.hls) {
    const playing = playingDateMs();
    if (playing == null || !state.momentsLoaded) return undefined;
    let best = null;
    for (const moment of state.moments.values())
      if (moment.startMs <= playing && (!best || moment.startMs > best.startMs)) best = moment;
    return best;
  }
  // Native HLS (Safari): DATERANGE attributes arrive as metadata cues.
  const video = ui.player;
  if (video.readyState < 2) return undefined;
  let best = null;
  for (const track of video.textTracks) {
    if (track.kind !== "metadata") continue;
    if (track.mode === "disabled") track.mode = "hidden";
    for (const cue of track.activeCues ?? []) {
      const value = cue.value;
      if (value?.key !== "X-PRODUCT-ID") continue;
      if (!best || cue.startTime > best.startTime)
        best = { id: cue.id || `${value.data}@${cue.startTime}`, productId: String(value.data), startTime: cue.startTime };
    }
  }
  return best;
}

// Shows the product of a moment when the playhead crosses into it. The first
// look only records where we are (the live channel's hello already showed the
// current pin), except in a replay, where the video is the only truth.
function followMoments() {
  const moment = currentMoment();
  if (moment === undefined) return;
  const id = moment ? moment.id : null;
  if (state.lastMomentId === undefined) {
    state.lastMomentId = id;
    if (moment && state.show?.status === "ended") void showProductById(moment.productId);
    return;
  }
  if (id === state.lastMomentId) return;
  state.lastMomentId = id;
  if (moment) void showProductById(moment.productId);
}

function tick() {
  applyDueShowcases();
  followMoments();
}

// --- Video -------------------------------------------------------------------------------

function showVideoMessage(text) {
  ui.videoMessage.textContent = text || "";
  ui.videoMessage.hidden = !text;
}

function startPlayer(url) {
  if (!url) {
    showVideoMessage("No video for this show yet.");
    return;
  }
  state.playerUrl = url;
  const video = ui.player;
  const Hls = window.Hls;
  if (Hls?.isSupported?.()) {
    startHls(Hls, url);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = url;
    ui.quality.disabled = true;  // the browser picks the rendition
    video.play().catch(() => {});
  } else {
    showVideoMessage("This browser cannot play the live video.");
    return;
  }
  video.textTracks.addEventListener?.("addtrack", (event) => {
    event.track?.addEventListener("cuechange", followMoments);
  });
}

function startHls(Hls, url) {
  const hls = new Hls({
    lowLatencyMode: true,
    liveSyncDurationCount: 2,
    liveMaxLatencyDurationCount: 6,
    maxLiveSyncPlaybackRate: 1.2,
    backBufferLength: 30,
    enableDateRangeMetadataCues: true,
  });
  state.hls = hls;
  hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
    fillQualities(data.levels ?? hls.levels);
    showVideoMessage("");
    ui.player.play().catch(() => {});
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
    ui.quality.dataset.level = String(data.level);
  });
  hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => collectMoments(data.details));
  hls.on(Hls.Events.LEVEL_UPDATED, (_event, data) => collectMoments(data.details));
  hls.on(Hls.Events.FRAG_BUFFERED, () => {
    state.playerRetryMs = kPlayerRetryFirstMs;
  });
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      hls.recoverMediaError();
      return;
    }
    // Network (the stream is starting, or the edge blinked) or worse: start over.
    showVideoMessage("Video interrupted — reconnecting…");
    restartHls(Hls, url);
  });
  hls.loadSource(url);
  hls.attachMedia(ui.player);
}

function restartHls(Hls, url) {
  if (state.hls) {
    state.hls.destroy();
    state.hls = null;
  }
  clearTimeout(state.playerTimer);
  const wait = state.playerRetryMs;
  state.playerRetryMs = Math.min(state.playerRetryMs * 2, kPlayerRetryMaxMs);
  state.playerTimer = setTimeout(() => startHls(Hls, url), wait);
}

function fillQualities(levels) {
  const select = ui.quality;
  const selected = select.value;
  select.replaceChildren(el("option", { value: "-1" }, "Auto"));
  (levels ?? [])
    .map((level, index) => ({ level, index }))
    .sort((a, b) => (b.level.height || b.level.bitrate || 0) - (a.level.height || a.level.bitrate || 0))
    .forEach(({ level, index }) => {
      const label = level.height ? `${level.height}p` : `${Math.round((level.bitrate || 0) / 1000)} kbps`;
      select.append(el("option", { value: String(index) }, label));
    });
  if ([...select.options].some((option) => option.value === selected)) select.value = selected;
  select.disabled = false;
}

ui.quality.addEventListener("change", () => {
  if (!state.hls) return;
  state.hls.currentLevel = Number(ui.quality.value);
});

function updateUnmute() {
  ui.unmute.hidden = !ui.player.muted || ui.player.paused;
}
ui.player.addEventListener("volumechange", updateUnmute);
ui.player.addEventListener("play", updateUnmute);
ui.player.addEventListener("pause", updateUnmute);
ui.player.addEventListener("playing", () => showVideoMessage(""));
ui.unmute.addEventListener("click", () => {
  ui.player.muted = false;
  ui.player.play().catch(() => {});
});

// --- Chat ----------------------------------------------------------------------------------

function addChat(message, { scroll = true } = {}) {
  if (!message || message.id == null) return;
  const id = String(message.id);
  if (ui.chatLog.querySelector(`.chat-message[data-id="${CSS.escape(id)}"]`)) return;
  const mine = state.session && message.user === state.session.sub;
  const seller = state.show && message.user === state.show.seller;
  const item = el(
    "li",
    { class: "chat-message" + (mine ? " mine" : "") + (seller ? " from-seller" : ""), dataset: { id } },
    el("span", { class: "chat-user" }, String(message.user ?? "")),
    " ",
    el("span", { class: "chat-text" }, String(message.text ?? "")),
  );
  const log = ui.chatLog;
  const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  log.append(item);
  while (log.children.length > kChatMessagesMax) log.firstElementChild.remove();
  if (scroll && (nearBottom || mine)) log.scrollTop = log.scrollHeight;
}

function replaceChat(messages) {
  ui.chatLog.replaceChildren();
  for (const message of messages ?? []) addChat(message, { scroll: false });
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
}

function deleteChat(id) {
  ui.chatLog.querySelector(`.chat-message[data-id="${CSS.escape(String(id))}"]`)?.remove();
}

function showChatError(code, message) {
  if (!message) {
    ui.chatError.hidden = true;
    ui.chatError.textContent = "";
    delete ui.chatError.dataset.code;
    return;
  }
  const text = String(message);
  ui.chatError.dataset.code = code || "error";
  ui.chatError.textContent = text.charAt(0).toUpperCase() + text.slice(1);
  ui.chatError.hidden = false;
}

function renderSession() {
  const signedIn = Boolean(state.session);
  ui.chatForm.hidden = !signedIn;
  ui.chatInput.disabled = !signedIn;
  ui.chatSend.disabled = !signedIn;
  ui.signedOut.hidden = signedIn;
  ui.identity.hidden = !signedIn;
  ui.identity.textContent = signedIn ? `You are ${state.session.sub}` : "";
}

// Messages typed while the channel is (re)connecting — e.g. right after
// "Join as guest", which reconnects with the new token — wait for it.
const outbox = [];

ui.chatForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.chatInput.value.trim();
  if (!text) return;
  showChatError(null, null);
  ui.chatInput.value = "";
  ui.chatInput.focus();
  if (socket?.send({ type: "chat", text })) return;
  if (outbox.length >= kOutboxMax) {
    showChatError("offline", "Not connected — your message was not sent. Try again in a moment.");
    return;
  }
  const entry = { text, timer: null };
  entry.timer = setTimeout(() => {
    const index = outbox.indexOf(entry);
    if (index < 0) return;
    outbox.splice(index, 1);
    showChatError("offline", `Not connected — “${text.slice(0, 40)}” was not sent. Try again in a moment.`);
  }, kOutboxWaitMs);
  outbox.push(entry);
});

function flushOutbox() {
  while (outbox.length > 0 && socket?.open) {
    const entry = outbox.shift();
    clearTimeout(entry.timer);
    socket.send({ type: "chat", text: entry.text });
  }
}

// Signs in as a guest once, however many callers ask at the same time.
async function ensureSession() {
  if (state.session) return state.session;
  if (!state.signingIn) {
    state.signingIn = signInAsGuest()
      .then((session) => {
        state.session = session;
        renderSession();
        socket?.reconnect();  // the channel now knows who we are (chat, order frames)
        return session;
      })
      .finally(() => {
        state.signingIn = null;
      });
  }
  return state.signingIn;
}

ui.signIn.addEventListener("click", async () => {
  ui.signIn.disabled = true;
  try {
    await ensureSession();
    showChatError(null, null);
    ui.chatInput.focus();
  } catch (error) {
    showChatError("sign_in", `Could not sign in: ${error.message}`);
  } finally {
    ui.signIn.disabled = false;
  }
});

// --- Buy Now -------------------------------------------------------------------------------

const kStatusRank = { sending: 0, accepted: 1, reserved: 2, confirmed: 3, rejected: 3, error: 3 };
const kReasonText = {
  sold_out: "Sold out",
  limit_exceeded: "Limit reached",
  payment_declined: "Payment declined",
  payment_failed: "Payment failed",
  invalid: "Order invalid",
};

function setOrderStatus(status, text, reason = null) {
  ui.orderStatus.dataset.status = status;
  if (reason) ui.orderStatus.dataset.reason = reason;
  else delete ui.orderStatus.dataset.reason;
  ui.orderStatus.textContent = text;
}

function orderText(status, reason) {
  switch (status) {
    case "accepted": return "Order placed — waiting for confirmation…";
    case "reserved": return "Reserved — processing payment…";
    case "confirmed": return "Confirmed!";
    case "rejected": return kReasonText[reason] ?? "Order rejected";
    default: return status;
  }
}

function isFinal(status) {
  return status === "confirmed" || status === "rejected" || status === "error";
}

// Moves a click's order forward (never back: a poll answer can be older than a frame).
function advanceOrder(attempt, status, reason = null, text = null) {
  if (attempt !== state.order || attempt.final) return;
  if ((kStatusRank[status] ?? -1) < (kStatusRank[attempt.status] ?? -1)) return;
  attempt.status = status;
  setOrderStatus(status, text ?? orderText(status, reason), status === "rejected" ? reason || "invalid" : null);
  if (isFinal(status)) {
    attempt.final = true;
    clearTimeout(attempt.watchdog);
  }
}

function stopOrder(attempt) {
  if (!attempt) return;
  attempt.final = true;
  clearTimeout(attempt.watchdog);
}

async function buyNow() {
  const product = state.product;
  if (!product || stockState(product) === "sold_out" || state.buying) return;
  state.buying = true;
  updateBuyButton();
  stopOrder(state.order);
  // One Idempotency-Key per click; the retries of this click reuse it.
  const attempt = { key: crypto.randomUUID(), productId: product.id, orderId: null, status: "sending", final: false };
  state.order = attempt;
  try {
    if (!state.session) {
      setOrderStatus("sending", "Signing you in…");
      try {
        await ensureSession();
      } catch (error) {
        advanceOrder(attempt, "error", null, `Could not sign in: ${error.message}`);
        return;
      }
    }
    setOrderStatus("sending", "Placing order…");
    await submitOrder(attempt);
  } finally {
    state.buying = false;
    updateBuyButton();
  }
}

async function submitOrder(attempt) {
  let signedInAgain = false;
  for (let retries = 0; ; ) {
    const answer = await request("POST", "/v1/orders", {
      token: state.session?.token,
      headers: { "Idempotency-Key": attempt.key },
      body: { product_id: attempt.productId, quantity: 1, payment_token: "tok_visa" },
    });
    if (attempt !== state.order) return;
    if (answer.status === 202 && answer.data?.order_id) {
      orderAccepted(attempt, answer.data.order_id);
      return;
    }
    if (answer.status === 409) {
      advanceOrder(attempt, "rejected", "sold_out");
      return;
    }
    if (answer.status === 401 && !signedInAgain) {
      // The stored token no longer works (expired, or the server's secret changed).
      signedInAgain = true;
      clearViewerSession();
      state.session = null;
      renderSession();
      try {
        await ensureSession();
      } catch (error) {
        advanceOrder(attempt, "error", null, `Could not sign in: ${error.message}`);
        return;
      }
      continue;
    }
    const retryable = answer.status === 429 || answer.status === 503 || answer.status === 0;
    if (retryable && retries < kOrderRetriesMax) {
      retries += 1;
      let waitMs = 1000 * retries;
      if (answer.status === 429) {
        const seconds = Number(answer.headers.get("Retry-After"));
        waitMs = Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, kRetryAfterMaxMs) : 1000;
        setOrderStatus("sending", "Busy, retrying…");
      } else {
        setOrderStatus("sending", "Connection problem, retrying…");
      }
      await sleep(Math.max(waitMs, 250));
      if (attempt !== state.order) return;
      continue;
    }
    const message =
      answer.status === 429 ? "Too busy right now — please try again"
      : answer.status === 403 ? `Not allowed: ${answer.error?.message ?? "forbidden"}`
      : answer.status === 0 ? "Cannot reach the server — please try again"
      : `Could not place the order: ${answer.error?.message ?? "error " + answer.status}`;
    advanceOrder(attempt, "error", null, message);
    return;
  }
}

function orderAccepted(attempt, orderId) {
  attempt.orderId = orderId;
  advanceOrder(attempt, "accepted");
  const early = state.earlyOrderFrames.get(orderId);
  if (early) {
    state.earlyOrderFrames.delete(orderId);
    onOrderFrame(early);
  }
  armOrderWatchdog(attempt);
}

// No order frame for a while (the socket may be down): ask the server.
function armOrderWatchdog(attempt) {
  clearTimeout(attempt.watchdog);
  if (attempt.final) return;
  attempt.watchdog = setTimeout(() => void pollOrder(attempt), kOrderFrameWaitMs);
}

async function pollOrder(attempt) {
  const started = performance.now();
  while (!attempt.final && attempt === state.order) {
    if (performance.now() - started > kOrderPollMaxMs) {
      setOrderStatus(attempt.status, "Still processing — we'll update this when it's done", null);
      return;
    }
    const answer = await request("GET", `/v1/orders/${encodeURIComponent(attempt.orderId)}`, {
      token: state.session?.token,
    });
    if (answer.ok && answer.data?.status) advanceOrder(attempt, answer.data.status, answer.data.reason ?? null);
    if (attempt.final) return;
    await sleep(kOrderPollIntervalMs);
  }
}

function onOrderFrame(frame) {
  const attempt = state.order;
  if (attempt && attempt.orderId === frame.order_id) {
    advanceOrder(attempt, frame.status, frame.reason ?? null);
    armOrderWatchdog(attempt);
    return;
  }
  // The frame can beat the 202 answer to us: keep it for orderAccepted().
  if (attempt && !attempt.orderId && frame.order_id) {
    state.earlyOrderFrames.set(frame.order_id, frame);
    while (state.earlyOrderFrames.size > kEarlyOrderFramesMax)
      state.earlyOrderFrames.delete(state.earlyOrderFrames.keys().next().value);
  }
}

ui.buy.addEventListener("click", () => void buyNow());

// --- The live channel -----------------------------------------------------------------

function onFrame(frame) {
  switch (frame.type) {
    case "hello": {
      // hello's show can lag behind (its status stays what it was when the
      // channel opened), so the status comes from GET /v1/shows/{id}.
      if (frame.show && state.show) renderShow({ ...frame.show, status: state.show.status, playback: state.show.playback });
      if (helloCount++ > 0) void loadShow();  // a reconnect: catch up on the show too
      setViewers(frame.viewers);
      replaceChat(frame.chat);
      const product = frame.product ?? null;
      const last = state.pending.at(-1);
      if (!(product && last && last.product.id === product.id)) {
        state.pending = [];
        if (product && state.product?.id === product.id) {
          Object.assign(state.product, product);
          renderProduct();
        } else {
          setProduct(product);
        }
      }
      break;
    }
    case "chat":
      addChat(frame);
      break;
    case "chat_deleted":
      deleteChat(frame.id);
      break;
    case "showcase":
      onShowcase(frame);
      break;
    case "inventory":
      for (const entry of state.pending)
        if (entry.product.id === frame.product_id) Object.assign(entry.product, { available: frame.available, state: frame.state });
      if (state.product && state.product.id === frame.product_id) {
        state.product.available = frame.available;
        state.product.state = frame.state;
        renderStock();
      }
      break;
    case "viewers":
      setViewers(frame.count);
      break;
    case "order":
      onOrderFrame(frame);
      break;
    case "error":
      showChatError(frame.code, frame.message || frame.code);
      break;
    default:
      break;  // newer server, older page: ignore what we do not know
  }
}

// The channel refuses us twice in a row: if our stored token is what it
// refuses (401: expired, or the server's secret changed), forget it and
// watch as a guest. The order route answers 401 before it looks for the order.
async function checkStoredToken() {
  const session = state.session;
  if (!session) return;
  const answer = await request("GET", "/v1/orders/ord_check", { token: session.token });
  if (answer.status !== 401 || state.session !== session) return;
  clearViewerSession();
  state.session = null;
  renderSession();
  socket?.reconnect();
}

// --- Start ---------------------------------------------------------------------------------

async function loadShow() {
  const answer = await request("GET", `/v1/shows/${encodeURIComponent(showId)}`);
  if (answer.status === 404) {
    ui.showTitle.textContent = "Show not found";
    showVideoMessage("There is no show at this address.");
    showConnectionState(ui.connection, "closed");
    return false;
  }
  if (answer.ok) {
    renderShow(answer.data);
    if (!state.product && answer.data.showcase) setProduct(answer.data.showcase);
  }
  return true;
}

// A scheduled show has no video yet: look again until it goes live.
async function waitForVideo() {
  while (!state.playerUrl) {
    await sleep(kShowPollMs);
    if (document.visibilityState === "hidden") continue;
    await loadShow();
  }
}

async function main() {
  renderSession();
  renderProduct();
  if (!showId || !(await loadShow())) return;
  socket = new LiveSocket({
    path: `/v1/shows/${encodeURIComponent(showId)}/live`,
    token: () => state.session?.token ?? null,
    onFrame,
    onState: (connection) => {
      showConnectionState(ui.connection, connection);
      if (connection === "live") flushOutbox();
    },
    onConnectFailed: (count) => {
      if (count === 2) void checkStoredToken();
    },
  });
  socket.start();
  setInterval(tick, kTickMs);
  if (!state.playerUrl) void waitForVideo();
}

// For tests and debugging in the console: the player and its clock.
window.hawkerShow = Object.freeze({
  get hls() {
    return state.hls;
  },
  playingDateMs,
});

void main();
