/**
 * A real browser's EventSource against the gateway (SPEC 3 to 5): Debian's Chromium through
 * playwright-core, with the page on its own http origin so every request is cross-origin and
 * goes through the gateway's CORS default (`*`). These check what only a browser can tell:
 * how it fires named and unnamed events, that heartbeat `id:`-only blocks move its last event ID
 * (the npm `eventsource` client ignores them, DESIGN.md), that the not-ready answer keeps it
 * retrying instead of closing it for good, and that `ssehub.reset` and envelopes reach the page.
 *
 * Chromium must be installed (`.ci/run` installs it): this suite fails, never skips, without it.
 */
import type { Browser, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BrowserStream,
  CLOSED,
  CONNECTING,
  OPEN,
  launchChromium,
  openPage,
  startPageServer,
  type PageServer,
} from '../helpers/browser.js';
import { fakeBrokerOf } from '../helpers/fake-broker.js';
import { startGateway, type GatewayFixture } from '../helpers/gateway-fixture.js';

let browser: Browser;
let pageServer: PageServer;

beforeAll(async () => {
  [browser, pageServer] = await Promise.all([launchChromium(), startPageServer()]);
});

afterAll(async () => {
  // Both may be unset when beforeAll failed; the failure is reported there.
  const b = browser as Browser | undefined;
  const s = pageServer as PageServer | undefined;
  await Promise.all([b?.close(), s?.close()]);
});

/**
 * The GETs the page makes to `path`. `lastEventIds()` reads each one's `Last-Event-ID` header
 * (null when absent) from the headers actually sent: `Request.headers()` holds only the
 * provisional ones, without `Last-Event-ID`.
 */
function recordSubscribeRequests(
  page: { on(event: 'request', listener: (r: Request) => void): unknown },
  path: string,
): { readonly count: () => number; readonly lastEventIds: () => Promise<(string | null)[]> } {
  const seen: Request[] = [];
  page.on('request', (r) => {
    if (r.method() === 'GET' && new URL(r.url()).pathname === path) seen.push(r);
  });
  return {
    count: () => seen.length,
    lastEventIds: () =>
      Promise.all(seen.map(async (r) => (await r.allHeaders())['last-event-id'] ?? null)),
  };
}

/** Polls until `check` holds (the server-side view), failing after `timeoutMs`. */
async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function openConnections(gw: GatewayFixture): Promise<number> {
  return (await gw.gateway.stats()).replica.connections;
}

describe('browser EventSource (Chromium)', () => {
  it('fires named and unnamed events with the publish ids, and multi-line data with \\n line ends', async () => {
    await using gw = await startGateway({ brokerKind: 'embedded' });
    await using bp = await openPage(browser, pageServer.url);
    const stream = await BrowserStream.open(bp.page, `${gw.publicUrl}/subscribe/pets`, ['new-dog']);
    await stream.waitForStates('open', 1);

    const dog = await gw.publish('pets/dogs', 'Corgi', 'new-dog');
    const lines = await gw.publish('pets/cats', 'crlf\r\ncr\rlf\nblank above:\r\n\r\nlast');
    await gw.publish('farm/cows', 'not under pets');
    const events = await stream.waitForEvents(2);

    expect(events).toEqual([
      { type: 'new-dog', data: 'Corgi', lastEventId: dog },
      { type: 'message', data: 'crlf\ncr\nlf\nblank above:\n\nlast', lastEventId: lines },
    ]);
    expect(await stream.states()).toEqual([{ type: 'open', readyState: OPEN }]);
    await stream.close();
  });

  it('moves the last event ID with heartbeat id-only blocks and resumes from it without a reset', async () => {
    await using gw = await startGateway({
      brokerKind: 'embedded',
      heartbeatMs: 300,
      maxConnectionAgeMs: 2500,
    });
    await using bp = await openPage(browser, pageServer.url);
    const requests = recordSubscribeRequests(bp.page, '/subscribe/quiet');
    const stream = await BrowserStream.open(bp.page, `${gw.publicUrl}/subscribe/quiet`, [
      'ssehub.reset',
    ]);
    await stream.waitForStates('open', 1);

    // Published after the stream opened, on a topic it does not match: only a heartbeat's
    // `id:` line can bring this id to the page.
    const other = await gw.publish('other', 'not for quiet');

    // The gateway closes the stream for age (2.5 to 3 s); the browser reconnects by itself.
    await stream.waitForStates('open', 2, 15_000);
    expect(await requests.lastEventIds()).toEqual([null, other]);

    // Nothing fired before this live event: no `ssehub.reset`, no replay.
    const live = await gw.publish('quiet', 'after the reconnect');
    const events = await stream.waitForEvents(1);
    expect(events).toEqual([{ type: 'message', data: 'after the reconnect', lastEventId: live }]);
    expect(await stream.states()).toEqual([
      { type: 'open', readyState: OPEN },
      { type: 'error', readyState: CONNECTING },
      { type: 'open', readyState: OPEN },
    ]);
    await stream.close();
  });

  it('keeps retrying after the not-ready answer and connects by itself once the broker is back', async () => {
    await using gw = await startGateway({ brokerKind: 'fake' });
    const broker = fakeBrokerOf(gw);
    await using bp = await openPage(browser, pageServer.url);
    const requests = recordSubscribeRequests(bp.page, '/subscribe/down');
    broker.goDown();
    const stream = await BrowserStream.open(bp.page, `${gw.publicUrl}/subscribe/down`);

    // Two not-ready answers: the first error left it CONNECTING, and it did retry.
    // (The retry is 1 to 5 s; Chromium fires `open` for the 200 head of each answer.)
    await stream.waitForStates('error', 2, 15_000);
    expect(requests.count()).toBe(2);
    const whileDown = await stream.states();
    expect(whileDown).toEqual([
      { type: 'open', readyState: OPEN },
      { type: 'error', readyState: CONNECTING },
      { type: 'open', readyState: OPEN },
      { type: 'error', readyState: CONNECTING },
    ]);
    expect(await stream.readyState()).not.toBe(CLOSED);
    expect(await openConnections(gw)).toBe(0);

    broker.goUp();
    // The next retry (within the 1 to 5 s retry window) gets a real stream.
    await until('the browser to reconnect', async () => (await openConnections(gw)) === 1, 10_000);
    await stream.waitForStates('open', 3);
    const live = await gw.publish('down/up', 'back');
    const events = await stream.waitForEvents(1);
    expect(events).toEqual([{ type: 'message', data: 'back', lastEventId: live }]);
    expect(await stream.readyState()).toBe(OPEN);
    expect(await stream.states()).toEqual([...whileDown, { type: 'open', readyState: OPEN }]);
    expect(requests.count()).toBe(3);
    await stream.close();
  });

  it('delivers ssehub.reset history_trimmed to the page, then live events', async () => {
    await using gw = await startGateway({ brokerKind: 'embedded', historySize: 3 });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await gw.publish('feed', `old ${i}`));
    const first = ids[0] ?? '';
    const newest = ids[9] ?? '';
    await using bp = await openPage(browser, pageServer.url);
    const url = `${gw.publicUrl}/subscribe/feed?lastEventId=${encodeURIComponent(first)}`;
    const stream = await BrowserStream.open(bp.page, url, ['ssehub.reset']);

    await stream.waitForEvents(1);
    const live = await gw.publish('feed', 'live');
    const events = await stream.waitForEvents(2);
    expect(events).toEqual([
      { type: 'ssehub.reset', data: '{"reason":"history_trimmed"}', lastEventId: newest },
      { type: 'message', data: 'live', lastEventId: live },
    ]);
    await stream.close();
  });

  it('with envelope=1 gives the page JSON with each event topic for a pattern subscription', async () => {
    await using gw = await startGateway({ brokerKind: 'embedded' });
    await using bp = await openPage(browser, pageServer.url);
    const stream = await BrowserStream.open(
      bp.page,
      `${gw.publicUrl}/subscribe?topic=pets/*&envelope=1`,
      ['new-dog'],
    );
    await stream.waitForStates('open', 1);

    const before = Date.now();
    const dog = await gw.publish('pets/dogs', 'Corgi', 'new-dog');
    await gw.publish('pets/dogs/puppies', 'not matched: * is one segment');
    await gw.publish('pets', 'not matched: * is a segment');
    const cat = await gw.publish('pets/cats', 'Tom\nand Jerry');
    const after = Date.now();
    const events = await stream.waitForEvents(2);

    expect(events.map((e) => [e.type, e.lastEventId])).toEqual([
      ['new-dog', dog],
      ['message', cat],
    ]);
    const [dogEnvelope, catEnvelope] = events.map((e) => JSON.parse(e.data) as unknown);
    const publishedAt = (env: unknown): number =>
      typeof env === 'object' &&
      env !== null &&
      'publishedAt' in env &&
      typeof env.publishedAt === 'number'
        ? env.publishedAt
        : Number.NaN;
    for (const env of [dogEnvelope, catEnvelope]) {
      expect(Number.isInteger(publishedAt(env))).toBe(true);
      expect(publishedAt(env)).toBeGreaterThanOrEqual(before);
      expect(publishedAt(env)).toBeLessThanOrEqual(after);
    }
    expect(dogEnvelope).toStrictEqual({
      topic: 'pets/dogs',
      event: 'new-dog',
      data: 'Corgi',
      publishedAt: publishedAt(dogEnvelope),
    });
    expect(catEnvelope).toStrictEqual({
      topic: 'pets/cats',
      data: 'Tom\nand Jerry',
      publishedAt: publishedAt(catEnvelope),
    });
    await stream.close();
  });
});
