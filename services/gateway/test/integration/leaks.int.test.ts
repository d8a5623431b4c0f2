/**
 * Leak regressions (STYLE.md A21): after many streams closed every way a stream closes (by the
 * client, by age, by the drain, before it even started), nothing is left behind: no gauge above
 * zero, no broker interest held, no connection-limit slot taken, and the closed streams' objects
 * can be garbage-collected.
 */
import http from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { startGateway, type GatewayFixture } from '../helpers/gateway-fixture.js';
import { fakeBrokerOf } from '../helpers/fake-broker.js';
import { request, errorCode } from '../helpers/http-client.js';
import { scrape } from '../helpers/metrics.js';
import { HeaderAuthenticator } from '../helpers/operations.js';
import { subscribe, type SseStream } from '../helpers/sse-client.js';
import { eventually, sleep } from '../helpers/timing.js';

/** Opens `count` streams, `parallel` at a time, each waited for until `: ok`. */
async function openMany(url: string, count: number, parallel = 50): Promise<SseStream[]> {
  const streams: SseStream[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = Math.min(parallel, count - i);
    streams.push(...(await Promise.all(Array.from({ length: batch }, () => subscribe(url)))));
  }
  return streams;
}

/** Sends an EventSource-like request and destroys its socket after `afterMs`, before any answer. */
function abandonedRequest(url: string, afterMs: number): Promise<'answered' | 'abandoned'> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
      res.resume();
      resolve('answered');
    });
    req.on('error', () => {
      resolve('abandoned');
    });
    setTimeout(() => req.destroy(), afterMs);
  });
}

/** Waits until the gateway holds no stream, subscription or broker interest. */
async function expectNothingHeld(gw: GatewayFixture): Promise<void> {
  const broker = fakeBrokerOf(gw);
  const metrics = await eventually(
    () => scrape(gw.adminUrl),
    (m) => m.value('ssehub_connections') === 0 && m.value('ssehub_subscriptions') === 0,
    { what: 'ssehub_connections and ssehub_subscriptions at 0' },
  );
  expect(metrics.value('ssehub_connections')).toBe(0);
  expect(metrics.value('ssehub_subscriptions')).toBe(0);
  await eventually(
    () => broker.liveInterests,
    (n) => n === 0,
    { what: 'no live broker interest' },
  );
  expect(broker.liveInterests).toBe(0);
}

/** The collector, made reachable without starting node with --expose-gc. */
function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') throw new Error('could not expose the garbage collector');
  return gc as () => void;
}

/** Collects until `ref` is cleared or 20 rounds went by; returns whether it was. */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  const gc = exposeGc();
  for (let round = 0; round < 20 && ref.deref() !== undefined; round++) {
    await sleep(20); // let socket teardown callbacks run, so nothing on the stack holds it
    gc();
  }
  return ref.deref() === undefined;
}

describe('leaks', () => {
  it('frees every gauge, interest and limit slot after 200 streams closed by the client and by age (#a21-slots)', async () => {
    await using gw = await startGateway({
      brokerKind: 'fake',
      maxConnectionAgeMs: 4000,
      heartbeatMs: 1000,
      maxConnectionsPerIp: 200,
    });
    const broker = fakeBrokerOf(gw);
    const url = `${gw.publicUrl}/subscribe/leak`;
    const streams = await openMany(url, 200);
    const open = await scrape(gw.adminUrl);
    expect(open.value('ssehub_connections')).toBe(200);
    expect(open.value('ssehub_subscriptions')).toBe(200);
    expect(broker.liveInterests).toBe(200);

    for (const s of streams.slice(0, 100)) s.close();
    await Promise.all(streams.slice(100).map((s) => s.waitForEnd(15_000)));
    await expectNothingHeld(gw);
    const closed = await scrape(gw.adminUrl);
    expect(closed.value('ssehub_connections_closed_total', { reason: 'client_closed' })).toBe(100);
    expect(closed.value('ssehub_connections_closed_total', { reason: 'max_age' })).toBe(100);

    // Every slot is free again: a full new batch fits under MAX_CONNECTIONS_PER_IP, and not one more.
    const again = await openMany(url, 200);
    expect(again.every((s) => s.raw.startsWith(': ok\n'))).toBe(true);
    const over = await request(url);
    expect([over.status, errorCode(over)]).toEqual([429, 'TOO_MANY_CONNECTIONS']);
    for (const s of again) s.close();
    await expectNothingHeld(gw);
  });

  it('frees everything after 200 streams, half closed by the client and half by the drain (#a21-drain)', async () => {
    await using gw = await startGateway({ brokerKind: 'fake' });
    const streams = await openMany(`${gw.publicUrl}/subscribe?topic=leak/*&topic=other/**`, 200);
    expect((await scrape(gw.adminUrl)).value('ssehub_subscriptions')).toBe(400);
    for (const s of streams.slice(0, 100)) s.close();
    await eventually(
      () => scrape(gw.adminUrl),
      (m) => m.value('ssehub_connections') === 100,
      { what: 'the client closes to be seen' },
    );
    await gw.gateway.drain(300);
    await Promise.all(streams.map((s) => s.waitForEnd(5000)));
    await expectNothingHeld(gw);
    const metrics = await scrape(gw.adminUrl);
    expect(metrics.value('ssehub_connections_closed_total', { reason: 'client_closed' })).toBe(100);
    expect(metrics.value('ssehub_connections_closed_total', { reason: 'shutdown' })).toBe(100);
  });

  it('frees everything when clients leave while their subscription is being confirmed (#a21-opening)', async () => {
    await using gw = await startGateway({ brokerKind: 'fake', maxConnectionsPerIp: 50 });
    const broker = fakeBrokerOf(gw);
    broker.confirmDelayMs = 300;
    const url = `${gw.publicUrl}/subscribe/opening`;
    // Each client gives up 100 ms in, while its interest is still being confirmed.
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => abandonedRequest(url, 100)),
    );
    expect(outcomes.every((o) => o === 'abandoned')).toBe(true);
    await sleep(400); // past the confirmation delay
    await expectNothingHeld(gw);
    expect((await scrape(gw.adminUrl)).value('ssehub_connections_closed_total')).toBe(0);
    broker.confirmDelayMs = 0;
    const again = await openMany(url, 50);
    expect(again.every((s) => s.raw.startsWith(': ok\n'))).toBe(true);
    for (const s of again) s.close();
    await expectNothingHeld(gw);
  });

  it("lets a closed stream's request objects be garbage-collected (#a21-gc)", async () => {
    // The gateway's SseConnection is internal; it holds the response, which holds the request
    // (`res.req`), so the request being collected shows that nothing holds the connection.
    const auth = new HeaderAuthenticator();
    const options = {
      brokerKind: 'fake' as const,
      maxConnectionAgeMs: 300,
      heartbeatMs: 100,
      authenticator: auth,
    };
    await using gw = await startGateway(options);
    const byClient = await subscribe(`${gw.publicUrl}/subscribe?topic=gc/client`);
    const byAge = await subscribe(`${gw.publicUrl}/subscribe?topic=gc/age`);
    const refs = ['/subscribe?topic=gc/client', '/subscribe?topic=gc/age'].map((path) => {
      const req = auth.requests.get(path);
      if (req === undefined) throw new Error(`no request to ${path}`);
      return new WeakRef(req);
    });
    auth.requests.clear();
    await gw.publish('gc/client', 'one');
    await byClient.waitForEvents(1);
    byClient.close();
    await byAge.waitForEnd(5000);
    await expectNothingHeld(gw);
    expect(await collected(refs[0]!)).toBe(true);
    expect(await collected(refs[1]!)).toBe(true);
  });
});
