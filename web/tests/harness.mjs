// Browser side of the end-to-end tests: launches Debian's Chromium through
// playwright-core (web/node_modules; no downloaded browsers), opens the
// viewer and seller pages, signs in as a guest, and saves screenshots.
//
// Every wait here is bounded and polls a condition; nothing relies on a
// fixed sleep.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { kShowId } from './server.mjs';

export const kChromium = process.env.HAWKER_CHROMIUM || '/usr/bin/chromium';
export const kScreenshotDir = process.env.HAWKER_SCREENSHOTS || '/tmp/hawker-screens';
export const kChromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-default-apps', '--disable-sync', '--autoplay-policy=no-user-gesture-required', '--mute-audio',
];

export async function launchBrowser() {
  mkdirSync(kScreenshotDir, { recursive: true });
  return chromium.launch({ executablePath: kChromium, headless: true, args: kChromiumArgs, timeout: 60_000 });
}

// Saves `<HAWKER_SCREENSHOTS>/<name>.png`; never throws (a screenshot must not
// hide the real failure). Returns the path or null.
export async function screenshot(page, name) {
  const path = join(kScreenshotDir, `${name}.png`);
  try {
    await page.screenshot({ path, fullPage: true, timeout: 10_000 });
    return path;
  } catch {
    return null;
  }
}

// Collects uncaught page errors and console errors for failure diagnostics.
export function watchErrors(page, label) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(`${label} pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${label} console.error: ${message.text()}`);
  });
  return errors;
}

// A fresh browser context (its own localStorage, so its own guest) with the
// viewer page of the demo show open.
export async function openShow(browser, server, label, { initScript } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  if (initScript) await context.addInitScript(initScript.fn, initScript.arg);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors = watchErrors(page, label);
  await page.goto(`${server.base_url}/shows/${kShowId}`, { waitUntil: 'domcontentloaded' });
  return { context, page, errors, label };
}

export async function openSeller(browser, server, label = 'seller') {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors = watchErrors(page, label);
  await page.goto(`${server.base_url}/seller#token=${server.seller_token}`, { waitUntil: 'domcontentloaded' });
  return { context, page, errors, label };
}

// Waits until the attribute `attribute` of `selector` is one of `values`;
// returns it. On timeout the error says what the attribute was instead.
export async function waitForAttribute(page, selector, attribute, values, timeout_ms) {
  try {
    const handle = await page.waitForFunction(([sel, attr, wanted]) => {
      const element = document.querySelector(sel);
      const value = element && element.getAttribute(attr);
      return wanted.includes(value) ? value : null;
    }, [selector, attribute, values], { timeout: timeout_ms, polling: 100 });
    return await handle.jsonValue();
  } catch (error) {
    const actual = await page.evaluate(([sel, attr]) => {
      const element = document.querySelector(sel);
      return element ? `${attr}=${JSON.stringify(element.getAttribute(attr))} text=${JSON.stringify(element.textContent.trim().slice(0, 200))}`
                     : 'element missing';
    }, [selector, attribute]).catch(() => 'page gone');
    throw new Error(`${selector}[${attribute}] never became one of ${JSON.stringify(values)} within ${timeout_ms} ms; ` +
                    `actual: ${actual} (${error.message.split('\n')[0]})`);
  }
}

// The viewer's live channel is up (#connection-status[data-state=live]).
export function waitForLive(viewer, timeout_ms = 20_000) {
  return waitForAttribute(viewer.page, '#connection-status', 'data-state', ['live'], timeout_ms);
}

// Signs the viewer in with "Join as guest" and waits for the chat form.
export async function signInAsGuest(viewer) {
  const { page } = viewer;
  await page.locator('button#sign-in').click({ timeout: 20_000 });
  await page.locator('form#chat-form input#chat-input').waitFor({ state: 'visible', timeout: 20_000 });
  const token = await page.evaluate(() => localStorage.getItem('hawker.token'));
  if (!token) throw new Error(`${viewer.label}: no token in localStorage "hawker.token" after #sign-in`);
  return token;
}

export async function sendChat(viewer, text) {
  await viewer.page.locator('input#chat-input').fill(text);
  await viewer.page.locator('button#chat-send').click();
}

// Waits until #chat-log has a .chat-message[data-id] whose text contains `text`.
export async function waitForChat(viewer, text, timeout_ms = 15_000) {
  try {
    await viewer.page.waitForFunction((wanted) => [...document.querySelectorAll('#chat-log .chat-message[data-id]')]
      .some((item) => item.textContent.includes(wanted)), text, { timeout: timeout_ms, polling: 100 });
  } catch (error) {
    const log = await viewer.page.evaluate(() => [...document.querySelectorAll('#chat-log .chat-message')]
      .slice(-5).map((item) => `[data-id=${item.getAttribute('data-id')}] ${item.textContent.trim()}`))
      .catch(() => 'page gone');
    throw new Error(`${viewer.label}: chat message "${text}" not in #chat-log within ${timeout_ms} ms; ` +
                    `last items: ${JSON.stringify(log)}`);
  }
}

export function countChat(viewer, text) {
  return viewer.page.evaluate((wanted) => [...document.querySelectorAll('#chat-log .chat-message[data-id]')]
    .filter((item) => item.textContent.includes(wanted)).length, text);
}

// Waits until the viewer's #product-card shows `product_id`.
export function waitForProduct(viewer, product_id, timeout_ms) {
  return waitForAttribute(viewer.page, '#product-card', 'data-product-id', [product_id], timeout_ms);
}

// Closes contexts after saving one screenshot per page; reports page errors
// as diagnostics of the test `t`.
export async function finish(t, name, sessions) {
  for (const session of sessions) {
    if (!session) continue;
    const path = await screenshot(session.page, sessions.length > 1 ? `${name}-${session.label}` : name);
    if (path) t.diagnostic(`screenshot: ${path}`);
    for (const error of session.errors.slice(0, 10)) t.diagnostic(error);
    await session.context.close().catch(() => {});
  }
}

// An init script that lets a test cut the page's WebSockets the way a lost
// network does: down() closes every open socket and sends new ones to a dead
// port until up(). (Chromium's offline emulation does not reliably cut an
// open WebSocket, so the test does this as well as context.setOffline().)
export const kSocketSwitch = {
  fn: (dead_port) => {
    const Native = window.WebSocket;
    const sockets = new Set();
    let down = false;
    class SwitchedWebSocket extends Native {
      constructor(url, protocols) {
        super(down ? `ws://127.0.0.1:${dead_port}/network-down` : url, protocols);
        sockets.add(this);
        this.addEventListener('close', () => sockets.delete(this));
      }
    }
    window.WebSocket = SwitchedWebSocket;
    window.__hawkerTestNetwork = {
      down() { down = true; for (const socket of sockets) socket.close(4000, 'test: network down'); },
      up() { down = false; },
      open() { return [...sockets].filter((socket) => socket.readyState === Native.OPEN).length; },
    };
  },
};
