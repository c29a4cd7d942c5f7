// The front page, /: live and upcoming shows from GET /v1/shows, refreshed
// every 10 s. Each card links to the show's viewer page.

import { el, formatPrice, request } from "/assets/api.js";

const kRefreshMs = 10_000;
const kPagesMax = 5;     // 5 × 100 shows is plenty for one page
const kPageLimit = 100;

const list = document.getElementById("show-list");
const status = document.getElementById("shows-status");

// GET /v1/shows is ordered live, scheduled, ended: stop at the first ended one.
async function loadShows() {
  const shows = [];
  let cursor = null;
  for (let page = 0; page < kPagesMax; page++) {
    const query = new URLSearchParams({ limit: String(kPageLimit) });
    if (cursor) query.set("cursor", cursor);
    const answer = await request("GET", `/v1/shows?${query}`);
    if (!answer.ok) return { shows: null, error: answer.error };
    let ended = false;
    for (const show of answer.data?.items ?? []) {
      if (show.status === "ended") {
        ended = true;
        break;
      }
      shows.push(show);
    }
    cursor = answer.data?.next;
    if (ended || !cursor) break;
  }
  return { shows, error: null };
}

function statusLabel(show) {
  return { live: "Live", scheduled: "Upcoming", ended: "Ended" }[show.status] ?? show.status;
}

function renderCard(item, show) {
  const pinned = show.showcase;
  const link = el(
    "a",
    { href: `/shows/${encodeURIComponent(show.id)}` },
    el(
      "div",
      { class: "row-head" },
      el("span", { class: "badge show-status", "data-status": show.status }, statusLabel(show)),
      show.status === "live" ? el("span", { class: "muted" }, el("span", { class: "show-viewers" }, String(show.viewers ?? 0)), " watching") : null,
    ),
    el("h2", { class: "show-card-title" }, show.title || show.id),
    el("p", { class: "muted show-seller" }, `by ${show.seller}`),
    pinned
      ? el(
          "p",
          { class: "pinned" },
          el("span", { class: "pinned-title" }, pinned.title ?? pinned.id),
          el("span", { class: "pinned-price" }, formatPrice(pinned.price_cents, pinned.currency)),
        )
      : null,
  );
  item.replaceChildren(link);
}

function render(shows) {
  const existing = new Map([...list.children].map((item) => [item.dataset.showId, item]));
  const focusedId = document.activeElement?.closest?.(".show-card")?.dataset.showId;
  shows.forEach((show, index) => {
    let item = existing.get(show.id);
    existing.delete(show.id);
    if (!item) item = el("li", { class: "show-card card", dataset: { showId: show.id } });
    // Rebuild a card only when it changed, so focus and hover stay put.
    const signature = JSON.stringify([show.title, show.status, show.viewers, show.seller, show.showcase]);
    if (item.dataset.signature !== signature) {
      item.dataset.signature = signature;
      renderCard(item, show);
      if (focusedId === show.id) item.querySelector("a")?.focus();
    }
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
  });
  for (const gone of existing.values()) gone.remove();
}

async function refresh() {
  const { shows, error } = await loadShows();
  if (!shows) {
    status.textContent = `Could not load shows: ${error?.message ?? "error"}. Retrying…`;
    status.classList.add("error-text");
    return;
  }
  status.classList.remove("error-text");
  render(shows);
  const live = shows.filter((show) => show.status === "live").length;
  status.textContent =
    shows.length === 0 ? "No live or upcoming shows right now. Check back soon." : `${live} live, ${shows.length - live} upcoming`;
}

void refresh();
setInterval(() => {
  if (document.visibilityState !== "hidden") void refresh();
}, kRefreshMs);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") void refresh();
});
