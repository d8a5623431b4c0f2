/**
 * Core delivery behaviour, run against every broker (embedded, and the fake one that delays
 * subscription confirmations and drops relayed events): what a subscriber receives, in which
 * order, and that nothing published after `: ok` is lost.
 */
import { describe, expect, it } from 'vitest';
import { BROKER_KINDS, startGateway } from '../helpers/gateway-fixture.js';
import { fakeBrokerOf } from '../helpers/fake-broker.js';
import { SseStream, subscribe } from '../helpers/sse-client.js';
import { sleep } from '../helpers/timing.js';

describe.each(BROKER_KINDS)('delivery (%s broker)', (brokerKind) => {
  it('delivers an event on a descendant topic to /subscribe/<topic>, as in the README example', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    const id = await gw.publish('pets/dogs', 'Corgi', 'new-dog');
    await stream.waitForEvents(1);
    expect(stream.events[0]).toEqual({ id, event: 'new-dog', data: 'Corgi' });
    stream.close();
  });

  it('does not deliver events outside the subscription', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    await gw.publish('petshop', 'no');
    await gw.publish('people/pets', 'no');
    await gw.publish('pets', 'yes');
    await stream.waitForEvents(1);
    await gw.publish('pets/cats/kittens', 'yes too');
    await stream.waitForEvents(2);
    expect(stream.events.map((e) => e.data)).toEqual(['yes', 'yes too']);
    stream.close();
  });

  it('delivers every event published after ": ok", in publish order, 50 times over', async () => {
    await using gw = await startGateway({ brokerKind });
    for (let round = 0; round < 50; round++) {
      const stream = await subscribe(`${gw.publicUrl}/subscribe/race`);
      const ids = [await gw.publish('race', `a${round}`), await gw.publish('race/x', `b${round}`)];
      await stream.waitForEvents(2);
      expect(stream.events.map((e) => e.id)).toEqual(ids);
      stream.close();
    }
  });

  it('delivers an event matching several patterns of one connection once', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(
      `${gw.publicUrl}/subscribe?topic=pets/**&topic=pets/*&topic=*/dogs&topic=pets/dogs`,
    );
    await gw.publish('pets/dogs', 'once');
    await gw.publish('end', 'marker');
    await gw.publish('pets/cats', 'twice?');
    await stream.waitForEvents(2);
    expect(stream.events.map((e) => e.data)).toEqual(['once', 'twice?']);
    stream.close();
  });

  it('fans one event out to many subscribers with the same id', async () => {
    await using gw = await startGateway({ brokerKind });
    const streams = await Promise.all(
      Array.from({ length: 20 }, () => subscribe(`${gw.publicUrl}/subscribe?topic=**`)),
    );
    const id = await gw.publish('a/b/c', 'hello');
    await Promise.all(streams.map((s) => s.waitForEvents(1)));
    for (const s of streams) expect(s.events).toEqual([{ id, event: undefined, data: 'hello' }]);
    for (const s of streams) s.close();
  });
});

describe('hand-off with a slow subscription confirmation (fake broker)', () => {
  it('writes ": ok" only after the interest is live', async () => {
    await using gw = await startGateway({ brokerKind: 'fake' });
    const broker = fakeBrokerOf(gw);
    broker.confirmDelayMs = 300;
    const started = Date.now();
    const stream = await SseStream.open(`${gw.publicUrl}/subscribe/slow`);
    await stream.opened();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(broker.liveInterests).toBe(1);
    stream.close();
  });

  it('delivers events published while the confirmation was pending once they are in history', async () => {
    await using gw = await startGateway({ brokerKind: 'fake' });
    const broker = fakeBrokerOf(gw);
    broker.confirmDelayMs = 200;
    const first = await gw.publish('resume', 'before');
    const opening = SseStream.open(`${gw.publicUrl}/subscribe/resume`, {
      headers: { 'last-event-id': first },
    });
    await sleep(50);
    const during = await gw.publish('resume', 'during');
    const stream = await opening;
    await stream.opened();
    const after = await gw.publish('resume', 'after');
    await stream.waitForEvents(2);
    expect(stream.events.map((e) => e.id)).toEqual([during, after]);
    stream.close();
  });

  it('closes the streams of a shard on a relay gap; the client resumes the missed event from history', async () => {
    await using gw = await startGateway({ brokerKind: 'fake' });
    const broker = fakeBrokerOf(gw);
    const stream = await subscribe(`${gw.publicUrl}/subscribe/gap`);
    const seen = await gw.publish('gap', 'seen');
    await stream.waitForEvents(1);
    broker.dropRelay(1);
    const missed = await gw.publish('gap', 'missed by the relay');
    broker.signalGap(0);
    await stream.waitForEnd();
    expect(stream.events.map((e) => e.id)).toEqual([seen]);
    const resumed = await subscribe(`${gw.publicUrl}/subscribe/gap`, {
      headers: { 'last-event-id': stream.lastEventId ?? '' },
    });
    await resumed.waitForEvents(1);
    expect(resumed.events.map((e) => e.id)).toEqual([missed]);
    resumed.close();
  });
});
