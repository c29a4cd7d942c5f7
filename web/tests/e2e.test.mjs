// End-to-end tests of the web pages (web/show.html, web/seller.html) against
// a real `hawker demo`: the viewer plays the live HLS video, chat crosses
// browser contexts, Buy Now ends confirmed, the last unit goes to exactly one
// of two simultaneous buyers, a pin made in the seller console reaches the
// viewer's product card, and a dropped live channel reconnects and catches up.
//
// One server and one browser serve every test; each test opens its own
// browser contexts (own guest, own localStorage) and saves screenshots to
// HAWKER_SCREENSHOTS (default /tmp/hawker-screens).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHawker, freePort, pollUntil, kShowId } from './server.mjs';
import {
  launchBrowser, openShow, openSeller, signInAsGuest, sendChat, waitForChat, countChat, waitForAttribute,
  waitForLive, waitForProduct, finish, kSocketSwitch,
} from './harness.mjs';

const kTestTimeoutMs = 120_000;
const kProductMomentMs = 25_000;  // a pin may wait for the video to reach its moment (segments ≤ 2 s, live latency)
const kOrderDecidedMs = 30_000;

function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

describe('hawker web pages, end to end', { timeout: 15 * 60_000 }, () => {
  let server;
  let browser;

  before(async () => {
    // Both at once; keep whichever started so after() can stop it when the other failed.
    const [started, launched] = await Promise.allSettled([startHawker(), launchBrowser()]);
    server = started.value;
    browser = launched.value;
    if (started.status === 'rejected') throw started.reason;
    if (launched.status === 'rejected') throw launched.reason;
  }, { timeout: 150_000 });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
  }, { timeout: 30_000 });

  async function showcase() {
    const { status, body } = await server.api('GET', `/v1/shows/${kShowId}`);
    assert.equal(status, 200, `GET /v1/shows/${kShowId}`);
    return body.showcase;
  }

  async function pin(product_id) {
    const { status, body } = await server.api('POST', `/v1/shows/${kShowId}/showcase`,
                                              { token: server.seller_token, body: { product_id } });
    assert.equal(status, 200, `pin ${product_id}: ${JSON.stringify(body)}`);
  }

  async function avaProducts() {
    const { status, body } = await server.api('GET', '/v1/products?seller=ava&limit=100');
    assert.equal(status, 200);
    return body.items;
  }

  it('1. the viewer page plays the live video and loads a rendition', { timeout: kTestTimeoutMs }, async (t) => {
    const viewer = await openShow(browser, server, 'viewer');
    try {
      await viewer.page.waitForFunction(() => {
        const player = document.querySelector('video#player');
        return player && player.currentTime > 2;
      }, null, { timeout: 60_000, polling: 200 }).catch(async (error) => {
        const state = await viewer.page.evaluate(() => {
          const player = document.querySelector('video#player');
          return player ? { currentTime: player.currentTime, readyState: player.readyState, paused: player.paused,
                            error: player.error && player.error.message, src: player.currentSrc } : 'no video#player';
        }).catch(() => 'page gone');
        throw new Error(`video#player.currentTime never passed 2 s: ${JSON.stringify(state)} (${error.message.split('\n')[0]})`);
      });

      const quality = viewer.page.locator('select#quality');
      const options = await pollUntil('select#quality to list the renditions',
        () => quality.evaluate((select) => [...select.options].map((o) => ({ value: o.value, text: o.textContent.trim() }))),
        (list) => list.length > 1, 20_000);
      assert.equal(options[0].value, '-1', `first #quality option is Auto with value -1: ${JSON.stringify(options)}`);
      assert.match(options[0].text, /auto/i, `first #quality option is "Auto": ${JSON.stringify(options)}`);
      const renditions = options.length - 1;
      const level = await pollUntil('select#quality[data-level] to name the level playing',
        () => quality.getAttribute('data-level'), (value) => value !== null && /^\d+$/.test(value), 20_000);
      assert.ok(Number(level) < renditions, `data-level ${level} is one of the ${renditions} renditions`);
      t.diagnostic(`renditions: ${JSON.stringify(options.slice(1).map((o) => o.text))}; playing level ${level}`);
    } finally {
      await finish(t, '01-video', [viewer]);
    }
  });

  it('2. a chat message sent in one context appears in another', { timeout: kTestTimeoutMs }, async (t) => {
    const [sender, reader] = await Promise.all([openShow(browser, server, 'sender'), openShow(browser, server, 'reader')]);
    try {
      await Promise.all([waitForLive(sender), waitForLive(reader)]);
      await signInAsGuest(sender);
      const text = unique('hello from e2e');
      await sendChat(sender, text);
      await waitForChat(reader, text);
      await waitForChat(sender, text);
      assert.equal(await sender.page.locator('input#chat-input').inputValue(), '', 'the input is cleared after sending');
    } finally {
      await finish(t, '02-chat', [sender, reader]);
    }
  });

  it('3. Buy Now as a guest ends confirmed', { timeout: kTestTimeoutMs }, async (t) => {
    // Tests run in order; this keeps the test meaningful when run alone too.
    let pinned = await showcase();
    if (!pinned || pinned.state === 'sold_out' || pinned.max_per_buyer !== 0) {
      const buyable = (await avaProducts()).find((p) => p.state !== 'sold_out' && p.max_per_buyer === 0);
      await pin(buyable.id);
      pinned = buyable;
    }
    const buyer = await openShow(browser, server, 'buyer');
    try {
      await waitForLive(buyer);
      await signInAsGuest(buyer);
      await waitForProduct(buyer, pinned.id, kProductMomentMs);
      const buy = buyer.page.locator('button#buy-now');
      await buy.click();
      const status = await waitForAttribute(buyer.page, '#order-status', 'data-status', ['confirmed', 'rejected'], kOrderDecidedMs);
      const reason = await buyer.page.locator('#order-status').getAttribute('data-reason');
      assert.equal(status, 'confirmed', `#order-status ended ${status} (data-reason=${reason})`);
    } finally {
      await finish(t, '03-buy-now', [buyer]);
    }
  });

  it('4. the last unit goes to exactly one of two simultaneous buyers', { timeout: kTestTimeoutMs }, async (t) => {
    const created = await server.api('POST', '/v1/products', {
      token: server.seller_token,
      body: { title: unique('Last one'), price_cents: 1500, currency: 'USD', stock: 1 },
    });
    assert.equal(created.status, 201, `create product: ${JSON.stringify(created.body)}`);
    const product_id = created.body.id;
    const [first, second] = await Promise.all([openShow(browser, server, 'first'), openShow(browser, server, 'second')]);
    try {
      await Promise.all([waitForLive(first), waitForLive(second)]);
      await Promise.all([signInAsGuest(first), signInAsGuest(second)]);
      await pin(product_id);
      await Promise.all([waitForProduct(first, product_id, kProductMomentMs), waitForProduct(second, product_id, kProductMomentMs)]);
      // The card animates when the product changes; wait until both buttons
      // are actionable (a trial click clicks nothing), then click both at once.
      const buttons = [first, second].map((viewer) => viewer.page.locator('button#buy-now'));
      await Promise.all(buttons.map((button) => button.click({ trial: true })));
      await Promise.all(buttons.map((button) => button.click({ force: true })));
      // The loser either clicked in time and got rejected sold_out, or its
      // click landed after the sale's stock frame had already disabled its
      // button: then its card says sold out and no order was sent. Both are
      // "sees sold out"; the winner must see confirmed.
      const outcomes = await Promise.all([first, second].map(async (viewer) => {
        const handle = await viewer.page.waitForFunction(() => {
          const status = document.querySelector('#order-status')?.getAttribute('data-status');
          if (status === 'confirmed' || status === 'rejected') return status;
          const stock = document.querySelector('#product-stock')?.getAttribute('data-state');
          const button = document.querySelector('button#buy-now');
          if (status === 'idle' && stock === 'sold_out' && button?.disabled) return 'card_sold_out';
          return null;
        }, null, { timeout: kOrderDecidedMs, polling: 100 });
        const status = await handle.jsonValue();
        const reason = await viewer.page.locator('#order-status').getAttribute('data-reason');
        return { label: viewer.label, status, reason };
      }));
      t.diagnostic(`outcomes: ${JSON.stringify(outcomes)}`);
      const confirmed = outcomes.filter((o) => o.status === 'confirmed');
      const sold_out = outcomes.filter((o) => (o.status === 'rejected' && o.reason === 'sold_out') ||
                                              o.status === 'card_sold_out');
      assert.equal(confirmed.length, 1, `exactly one confirmed: ${JSON.stringify(outcomes)}`);
      assert.equal(sold_out.length, 1, `exactly one sees sold out: ${JSON.stringify(outcomes)}`);
      // The server sold exactly the one unit.
      const after = await server.api('GET', `/v1/products/${product_id}`, {});
      assert.equal(after.body.available, 0, `nothing left: ${JSON.stringify(after.body)}`);
      // Both cards learn that the product is gone.
      for (const viewer of [first, second]) {
        await waitForAttribute(viewer.page, '#product-stock', 'data-state', ['sold_out'], 15_000);
        assert.ok(await viewer.page.locator('button#buy-now').isDisabled(), `${viewer.label}: #buy-now disabled when sold out`);
      }
    } finally {
      await finish(t, '04-last-unit', [first, second]);
    }
  });

  it('5. a pin made in the seller console reaches the viewer\'s product card', { timeout: kTestTimeoutMs }, async (t) => {
    const before_pin = await showcase();
    const target = (await avaProducts()).find((p) => p.id !== before_pin?.id && p.state !== 'sold_out');
    assert.ok(target, 'ava has another product to pin');
    const [viewer, seller] = await Promise.all([openShow(browser, server, 'viewer'), openSeller(browser, server)]);
    try {
      await waitForLive(viewer);
      if (before_pin) await waitForProduct(viewer, before_pin.id, kProductMomentMs);
      const row = seller.page.locator(`#show-list .show-row[data-show-id="${kShowId}"]`);
      await row.waitFor({ state: 'visible', timeout: 20_000 });
      const select = row.locator('select.pin-product');
      const option = await pollUntil(`select.pin-product in the ${kShowId} row to offer ${target.id}`,
        () => select.evaluate((element, wanted) => {
          const found = [...element.options].find((o) => o.value === wanted.id) ||
                        [...element.options].find((o) => o.textContent.includes(wanted.title));
          return found ? found.value : null;
        }, target), Boolean, 20_000);
      await select.selectOption(option);
      await row.locator('button.pin').click();
      await pollUntil(`the API to report ${target.id} pinned after button.pin`,
        () => showcase().then((s) => s && s.id), (id) => id === target.id, 10_000);
      await waitForProduct(viewer, target.id, kProductMomentMs);
      await viewer.page.waitForFunction((title) => document.querySelector('#product-title')?.textContent.includes(title),
                                        target.title, { timeout: 10_000 });
    } finally {
      await finish(t, '05-seller-pin', [seller, viewer]);
    }
  });

  it('6. a dropped live channel reconnects and catches up', { timeout: kTestTimeoutMs }, async (t) => {
    const dead_port = await freePort();
    const [viewer, sender] = await Promise.all([
      openShow(browser, server, 'viewer', { initScript: { fn: kSocketSwitch.fn, arg: dead_port } }),
      openShow(browser, server, 'sender'),
    ]);
    try {
      await Promise.all([waitForLive(viewer), waitForLive(sender)]);
      await signInAsGuest(sender);
      const before_drop = unique('before the drop');
      await sendChat(sender, before_drop);
      await waitForChat(viewer, before_drop);

      // The network goes away: the socket is cut and reconnects fail.
      await viewer.context.setOffline(true);
      await viewer.page.evaluate(() => window.__hawkerTestNetwork.down());
      await waitForAttribute(viewer.page, '#connection-status', 'data-state', ['reconnecting'], 15_000);

      const while_down = unique('while you were away');
      await sendChat(sender, while_down);
      await waitForChat(sender, while_down);  // the server has broadcast it
      assert.equal(await countChat(viewer, while_down), 0, 'the disconnected viewer cannot have the message yet');
      assert.equal(await viewer.page.locator('#connection-status').getAttribute('data-state'), 'reconnecting');

      await viewer.page.evaluate(() => window.__hawkerTestNetwork.up());
      await viewer.context.setOffline(false);
      await waitForAttribute(viewer.page, '#connection-status', 'data-state', ['live'], 30_000);
      await waitForChat(viewer, while_down, 15_000);
      assert.equal(await countChat(viewer, before_drop), 1, 'the message from before the drop is shown once after the resume');
      assert.equal(await countChat(viewer, while_down), 1, 'the missed message is shown once');
    } finally {
      await finish(t, '06-reconnect', [viewer, sender]);
    }
  });
});
