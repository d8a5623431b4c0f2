/**
 * History and resume (SPEC 3 and 5) over real HTTP against every broker: replay after a
 * `Last-Event-ID` or `lastEventId`, `earliest`, paging and pacing, the gapless hand-off to live
 * under load, `ssehub.reset` with each reason, refusals of bad ids, history off, an unreadable
 * history, and ids advanced by heartbeats.
 */
import { decodeEventId, encodeEventId, type Cursor } from '@ssehub/protocol';
import { describe, expect, it } from 'vitest';
import { fakeBrokerOf } from '../helpers/fake-broker.js';
import { BROKER_KINDS, startGateway } from '../helpers/gateway-fixture.js';
import { afterOpening, numbered, openingBlock, publishBatch } from '../helpers/history-helpers.js';
import { errorCode, request } from '../helpers/http-client.js';
import { metricValue } from '../helpers/metrics.js';
import { SseStream, subscribe } from '../helpers/sse-client.js';
import { sleep } from '../helpers/timing.js';

const resetFrame = (id: string, reason: string): string =>
  `id: ${id}\nevent: ssehub.reset\ndata: {"reason":"${reason}"}\n\n`;

/** The opening block with an `id:` (null: without one). */
function expectOpening(stream: SseStream, id: string | null): void {
  const pattern = id === null ? /^: ok\nretry: (\d+)\n\n$/ : /^: ok\nretry: (\d+)\nid: (\S+)\n\n$/;
  const match = pattern.exec(openingBlock(stream.raw));
  expect(match, `opening block: ${JSON.stringify(openingBlock(stream.raw))}`).not.toBeNull();
  if (id !== null) expect(match?.[2]).toBe(id);
}

function cursorOf(id: string): Cursor {
  const [cursor] = decodeEventId(id);
  if (cursor === undefined) throw new Error(`no cursor in ${id}`);
  return cursor;
}

function at(ids: readonly string[], index: number): string {
  const id = ids[index];
  if (id === undefined) throw new Error(`no id at ${index}`);
  return id;
}

describe.each(BROKER_KINDS)('resume (%s broker)', (brokerKind) => {
  it('replays after Last-Event-ID exactly the matching events, in order, then continues live', async () => {
    await using gw = await startGateway({ brokerKind });
    const cursor = await gw.publish('r', 'cursor');
    const a = await gw.publish('r/a', 'a', 'named');
    await gw.publish('other/x', 'no');
    await gw.publish('rx', 'no: prefix is not a parent');
    const b = await gw.publish('r/b/c', 'b');
    await gw.publish('other', 'no');
    const c = await gw.publish('r', 'c');
    const stream = await subscribe(`${gw.publicUrl}/subscribe/r`, {
      headers: { 'last-event-id': cursor },
    });
    expectOpening(stream, cursor);
    await stream.waitForEvents(3);
    await gw.publish('other', 'no');
    const live = await gw.publish('r/live', 'live');
    await stream.waitForEvents(4);
    expect(stream.events).toEqual([
      { id: a, event: 'named', data: 'a' },
      { id: b, event: undefined, data: 'b' },
      { id: c, event: undefined, data: 'c' },
      { id: live, event: undefined, data: 'live' },
    ]);
    expect(stream.raw).not.toContain('ssehub.reset');
    stream.close();
  });

  it('replays once per event for several patterns of one connection', async () => {
    await using gw = await startGateway({ brokerKind });
    const cursor = await gw.publish('zoo', 'cursor');
    const dog = await gw.publish('pets/dogs', 'dog');
    await gw.publish('pets/dogs/puppies', 'no: pets/* is one segment');
    const cat = await gw.publish('farm/cats', 'cat');
    const url = `${gw.publicUrl}/subscribe?topic=pets/*&topic=*/dogs&topic=pets/dogs&topic=farm/**`;
    const stream = await subscribe(url, { headers: { 'last-event-id': cursor } });
    await stream.waitForEvents(2);
    const live = await gw.publish('pets/dogs', 'live');
    await stream.waitForEvents(3);
    expect(stream.events.map((e) => e.id)).toEqual([dog, cat, live]);
    stream.close();
  });

  it('uses ?lastEventId= when the header is absent', async () => {
    await using gw = await startGateway({ brokerKind });
    const ids = await publishBatch(gw.adminUrl, numbered('q', 5));
    const stream = await subscribe(`${gw.publicUrl}/subscribe/q?lastEventId=${at(ids, 1)}`);
    expectOpening(stream, at(ids, 1));
    await stream.waitForEvents(3);
    expect(stream.events.map((e) => e.data)).toEqual(['e2', 'e3', 'e4']);
    stream.close();
  });

  it('lets the Last-Event-ID header win over the query', async () => {
    await using gw = await startGateway({ brokerKind });
    const ids = await publishBatch(gw.adminUrl, numbered('h', 6));
    const stream = await subscribe(`${gw.publicUrl}/subscribe/h?lastEventId=${at(ids, 0)}`, {
      headers: { 'last-event-id': at(ids, 3) },
    });
    expectOpening(stream, at(ids, 3));
    await stream.waitForEvents(2);
    const live = await gw.publish('h', 'live');
    await stream.waitForEvents(3);
    expect(stream.events.map((e) => e.id)).toEqual([at(ids, 4), at(ids, 5), live]);
    stream.close();
  });

  it('replays every retained matching event for lastEventId=earliest, with no id: in the opening block', async () => {
    await using gw = await startGateway({ brokerKind, historySize: 10 });
    await publishBatch(gw.adminUrl, numbered('old', 5)); // trimmed away below
    const published = await publishBatch(gw.adminUrl, [
      ...numbered('e', 4),
      { topic: 'not-e', data: 'no' },
      ...numbered('e/sub', 5, 's'),
    ]);
    const stream = await subscribe(`${gw.publicUrl}/subscribe/e?lastEventId=earliest`);
    expectOpening(stream, null);
    await stream.waitForEvents(9);
    const live = await gw.publish('e', 'live');
    await stream.waitForEvents(10);
    expect(stream.events.map((e) => e.id)).toEqual([
      ...published.slice(0, 4),
      ...published.slice(5),
      live,
    ]);
    expect(stream.events.map((e) => e.data)).toEqual([
      'e0',
      'e1',
      'e2',
      'e3',
      's0',
      's1',
      's2',
      's3',
      's4',
      'live',
    ]);
    expect(stream.raw).not.toContain('ssehub.reset');
    stream.close();
  });

  it('for earliest with nothing retained, sends no id: until the first event', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/quiet?lastEventId=earliest`);
    expectOpening(stream, null);
    const id = await gw.publish('quiet', 'first');
    await stream.waitForEvents(1);
    expect(afterOpening(stream.raw)).toBe(`id: ${id}\ndata: first\n\n`);
    stream.close();
  });

  it('replays more than one page (1000 events) completely and in order', async () => {
    await using gw = await startGateway({ brokerKind });
    const ids = await publishBatch(gw.adminUrl, numbered('pages', 1000));
    const resumed = await subscribe(`${gw.publicUrl}/subscribe/pages`, {
      headers: { 'last-event-id': at(ids, 0) },
    });
    const earliest = await subscribe(`${gw.publicUrl}/subscribe/pages?lastEventId=earliest`);
    await resumed.waitForEvents(999, 20_000);
    await earliest.waitForEvents(1000, 20_000);
    expect(resumed.events.map((e) => e.id)).toEqual(ids.slice(1));
    expect(earliest.events.map((e) => e.id)).toEqual(ids);
    expect(earliest.events.map((e) => e.data)).toEqual(numbered('pages', 1000).map((e) => e.data));
    resumed.close();
    earliest.close();
  });

  it('paces a replay to a client that does not read instead of closing it as a slow consumer', async () => {
    await using gw = await startGateway({
      brokerKind,
      maxBufferedBytes: 65_536,
      maxBodyBytes: 8_000_000,
    });
    const payload = (i: number): string => `${i}:`.padEnd(2048, 'x');
    const backlog = await publishBatch(
      gw.adminUrl,
      Array.from({ length: 2000 }, (_, i) => ({ topic: 'slow', data: payload(i) })),
    );
    const stream = await SseStream.open(
      `${gw.publicUrl}/subscribe/slow?lastEventId=${at(backlog, 0)}`,
      {
        paused: true,
      },
    );
    expect(stream.status).toBe(200);
    await sleep(300);
    // Live events while the replay waits for the client: more than the held-event bound, so they
    // are dropped from memory and read again from history.
    const live = await publishBatch(
      gw.adminUrl,
      Array.from({ length: 100 }, (_, i) => ({ topic: 'slow', data: payload(2000 + i) })),
    );
    await sleep(200);
    expect(stream.ended).toBe(false);
    stream.resume();
    await stream.waitFor(() => stream.events.length >= 2099 || stream.ended, 25_000, '2099 events');
    expect(stream.ended).toBe(false);
    expect(stream.events.map((e) => e.id)).toEqual([...backlog.slice(1), ...live]);
    expect(stream.events.every((e, i) => e.data === payload(i + 1))).toBe(true);
    expect(stream.ended).toBe(false);
    expect(await metricValue(gw.adminUrl, 'ssehub_slow_consumers_closed_total')).toBe(0);
    const after = await gw.publish('slow', 'after');
    await stream.waitForEvents(2100);
    expect(stream.events.at(-1)?.id).toBe(after);
    stream.close();
  });

  it('closes a replaying client that takes nothing for twice HEARTBEAT_MS (at least 5 s), not sooner', async () => {
    // heartbeatMs 1000 gives the 5000 ms floor.
    await using gw = await startGateway({ brokerKind, heartbeatMs: 1000 });
    const big = 'x'.repeat(4096);
    let first = '';
    // 16 MB of backlog: more than loopback socket buffers take, so the replay must wait.
    for (let i = 0; i < 4000; i++) {
      const id = await gw.gateway.publish('stall', big);
      if (i === 0) first = id;
    }
    const stream = await SseStream.open(`${gw.publicUrl}/subscribe/stall?lastEventId=${first}`, {
      paused: true,
    });
    expect(stream.status).toBe(200);
    await sleep(3000);
    expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(1);
    const deadline = Date.now() + 10_000;
    while ((await metricValue(gw.adminUrl, 'ssehub_connections')) !== 0) {
      if (Date.now() > deadline) throw new Error('the stalled replay was not closed');
      await sleep(200);
    }
    expect(await metricValue(gw.adminUrl, 'ssehub_slow_consumers_closed_total')).toBe(1);
    stream.close();
  });

  it('sends unknown_id for a well-formed id naming a shard this deployment does not have', async () => {
    await using gw = await startGateway({ brokerKind });
    const own = decodeEventId(await gw.publish('shards', 'one'));
    const cursor = own[0];
    if (cursor === undefined) throw new Error('no cursor');
    const foreign = encodeEventId([{ ...cursor, shard: 3 }]);
    const stream = await subscribe(`${gw.publicUrl}/subscribe/shards`, {
      headers: { 'last-event-id': foreign },
    });
    await stream.waitFor(() => stream.raw.includes('ssehub.reset'), 5000, 'a reset');
    expect(stream.raw).toContain('data: {"reason":"unknown_id"}');
    expect(stream.events.filter((e) => e.data === 'one')).toEqual([]);
    stream.close();
  });

  it('hands off from replay to live without loss or repeat while events are published continuously', async () => {
    await using gw = await startGateway({ brokerKind });
    const url = `${gw.publicUrl}/subscribe/load`;
    const published: { id: string; matches: boolean }[] = [];
    interface Opened {
      readonly from: number; // index into `published` of the cursor; -1 for earliest
      readonly kind: 'resume' | 'earliest' | 'fresh';
      readonly stream: Promise<SseStream>;
    }
    const opened: Opened[] = [];
    const open = (o: Opened): void => {
      o.stream.catch(() => undefined); // awaited below; this only marks it handled meanwhile
      opened.push(o);
    };
    const backs = [1, 3, 12, 40, 150];
    for (let i = 0; i < 500; i++) {
      const matches = i % 5 !== 4;
      published.push({
        id: await gw.publish(matches ? `load/${i % 3}` : 'unrelated', `n${i}`),
        matches,
      });
      if (i % 20 === 7) {
        const from = Math.max(0, i - (backs[((i / 20) % backs.length) | 0] ?? 1));
        const headers = { 'last-event-id': published[from]?.id ?? '' };
        open({ from, kind: 'resume', stream: subscribe(url, { headers }) });
      }
      if (i % 100 === 50)
        open({ from: -1, kind: 'earliest', stream: subscribe(`${url}?lastEventId=earliest`) });
      if (i % 50 === 20) open({ from: -1, kind: 'fresh', stream: subscribe(url) });
    }
    const ids = published.map((p) => p.id);
    for (const o of opened) {
      const stream = await o.stream;
      let from = o.from;
      if (o.kind === 'fresh') {
        // A fresh stream starts at the position in its opening block.
        const opening = /\nid: (\S+)\n/.exec(openingBlock(stream.raw))?.[1] ?? '';
        from = ids.indexOf(opening);
        expect(from, `fresh opening id ${opening}`).toBeGreaterThanOrEqual(0);
      }
      const expected = published
        .slice(from + 1)
        .filter((p) => p.matches)
        .map((p) => p.id);
      await stream.waitForEvents(expected.length, 20_000);
      await sleep(0);
      expect(
        stream.events.map((e) => e.id),
        `${o.kind} from ${from}`,
      ).toEqual(expected);
    }
    const last = await gw.publish('load', 'last');
    for (const o of opened) {
      const stream = await o.stream;
      await stream.waitFor(() => stream.events.at(-1)?.id === last, 5000, 'the last event');
      stream.close();
    }
    expect(opened.length).toBe(25 + 5 + 10);
  });

  it('replays completely to a storm of clients resuming from the same id at once', async () => {
    await using gw = await startGateway({ brokerKind });
    const backlog = await publishBatch(gw.adminUrl, numbered('storm', 600));
    const url = `${gw.publicUrl}/subscribe/storm`;
    const opening = Array.from({ length: 30 }, () =>
      subscribe(url, { headers: { 'last-event-id': at(backlog, 0) } }),
    );
    const during = await publishBatch(gw.adminUrl, numbered('storm', 50, 'd'));
    const streams = await Promise.all(opening);
    const after = await gw.publish('storm', 'after');
    const expected = [...backlog.slice(1), ...during, after];
    for (const stream of streams) {
      await stream.waitForEvents(expected.length, 20_000);
      expect(stream.events.map((e) => e.id)).toEqual(expected);
      stream.close();
    }
  });

  it('sends history_trimmed when the id is older than the retained history (size)', async () => {
    await using gw = await startGateway({ brokerKind, historySize: 5 });
    const ids = await publishBatch(gw.adminUrl, numbered('trim', 20));
    const head = at(ids, 19);
    // The last HISTORY_SIZE events are kept: a cursor just before them replays them all.
    const kept = await subscribe(`${gw.publicUrl}/subscribe/trim?lastEventId=${at(ids, 14)}`);
    await kept.waitForEvents(5);
    expect(kept.events.map((e) => e.id)).toEqual(ids.slice(15));
    kept.close();

    const stream = await subscribe(`${gw.publicUrl}/subscribe/trim`, {
      headers: { 'last-event-id': at(ids, 0) },
    });
    expectOpening(stream, head);
    await stream.waitForEvents(1);
    const live = await gw.publish('trim', 'live');
    await stream.waitForEvents(2);
    expect(afterOpening(stream.raw)).toBe(
      `${resetFrame(head, 'history_trimmed')}id: ${live}\ndata: live\n\n`,
    );
    expect(stream.events[0]).toEqual({
      id: head,
      event: 'ssehub.reset',
      data: '{"reason":"history_trimmed"}',
    });
    expect(stream.lastEventId).toBe(live);
    stream.close();
  });

  it('sends history_trimmed when the events after the id aged out (HISTORY_TTL_MS)', async () => {
    await using gw = await startGateway({ brokerKind, historyTtlMs: 300 });
    const ids = await publishBatch(gw.adminUrl, numbered('age', 3));
    await sleep(450);
    const head = at(ids, 2);
    const stream = await subscribe(`${gw.publicUrl}/subscribe/age`, {
      headers: { 'last-event-id': at(ids, 0) },
    });
    expectOpening(stream, head);
    await stream.waitForEvents(1);
    expect(afterOpening(stream.raw)).toBe(resetFrame(head, 'history_trimmed'));
    // The newest id has nothing after it: no reset, nothing replayed.
    const current = await subscribe(`${gw.publicUrl}/subscribe/age`, {
      headers: { 'last-event-id': head },
    });
    const live = await gw.publish('age', 'live');
    await current.waitForEvents(1);
    expect(current.events).toEqual([{ id: live, event: undefined, data: 'live' }]);
    stream.close();
    current.close();
  });

  it('sends unknown_id for a well-formed id of another deployment (another epoch)', async () => {
    await using gw = await startGateway({ brokerKind });
    await using other = await startGateway({ brokerKind });
    const foreign = await other.publish('x', 'elsewhere');
    const ids = await publishBatch(gw.adminUrl, numbered('x', 3));
    expect(cursorOf(foreign).epoch).not.toBe(cursorOf(at(ids, 0)).epoch);
    let head = at(ids, 2);
    const openings: { headers: Record<string, string>; query: string }[] = [
      { query: '', headers: { 'last-event-id': foreign } },
      { query: `?lastEventId=${foreign}`, headers: {} },
    ];
    for (const opening of openings) {
      const stream = await subscribe(`${gw.publicUrl}/subscribe/x${opening.query}`, {
        headers: opening.headers,
      });
      expectOpening(stream, head);
      await stream.waitForEvents(1);
      const live = await gw.publish('x', 'live');
      await stream.waitForEvents(2);
      expect(afterOpening(stream.raw)).toBe(
        `${resetFrame(head, 'unknown_id')}id: ${live}\ndata: live\n\n`,
      );
      stream.close();
      head = live;
    }
  });

  it('sends unknown_id for an id ahead of the newest event', async () => {
    await using gw = await startGateway({ brokerKind });
    const ids = await publishBatch(gw.adminUrl, numbered('ahead', 3));
    const head = at(ids, 2);
    const cursor = cursorOf(head);
    const ahead = encodeEventId([
      { ...cursor, position: { ms: cursor.position.ms + 1000, seq: cursor.position.seq } },
    ]);
    const stream = await subscribe(`${gw.publicUrl}/subscribe/ahead?lastEventId=${ahead}`);
    expectOpening(stream, head);
    await stream.waitForEvents(1);
    const live = await gw.publish('ahead', 'live');
    await stream.waitForEvents(2);
    expect(afterOpening(stream.raw)).toBe(
      `${resetFrame(head, 'unknown_id')}id: ${live}\ndata: live\n\n`,
    );
    stream.close();
  });

  it('sends unknown_id for a Last-Event-ID header ssehub could not have issued', async () => {
    await using gw = await startGateway({ brokerKind });
    const ids = await publishBatch(gw.adminUrl, numbered('hdr', 2));
    const head = at(ids, 1);
    for (const header of [
      'garbage',
      'earliest',
      'x'.repeat(300),
      'not an id!',
      `${head},${head}`,
    ]) {
      const stream = await subscribe(`${gw.publicUrl}/subscribe/hdr`, {
        headers: { 'last-event-id': header },
      });
      expectOpening(stream, head);
      await stream.waitForEvents(1);
      expect(afterOpening(stream.raw), header).toBe(resetFrame(head, 'unknown_id'));
      stream.close();
    }
  });

  it('answers 400 INVALID_LAST_EVENT_ID for a bad lastEventId query, before any byte', async () => {
    await using gw = await startGateway({ brokerKind });
    await gw.publish('bad', 'x');
    for (const value of ['garbage', 'a'.repeat(257), 'abc!def', 'has space', 'EARLIEST', ',']) {
      const url = `${gw.publicUrl}/subscribe/bad?lastEventId=${encodeURIComponent(value)}`;
      const res = await request(url);
      expect(res.status, value).toBe(400);
      expect(errorCode(res), value).toBe('INVALID_LAST_EVENT_ID');
      const es = await SseStream.open(url);
      expect(es.status, value).toBe(400);
      const body = (await es.json()) as { error?: { code?: string } };
      expect(body.error?.code).toBe('INVALID_LAST_EVENT_ID');
      expect(es.headers['content-type']).toMatch(/^application\/json/);
    }
    expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(0);
  });

  it('with HISTORY_SIZE=0, every resume gets history_trimmed; earliest replays nothing and sends no reset', async () => {
    await using gw = await startGateway({ brokerKind, historySize: 0 });
    const ids = await publishBatch(gw.adminUrl, numbered('off', 3));
    const head = at(ids, 2);
    for (const cursor of [at(ids, 0), head]) {
      const stream = await subscribe(`${gw.publicUrl}/subscribe/off`, {
        headers: { 'last-event-id': cursor },
      });
      expectOpening(stream, head);
      await stream.waitForEvents(1);
      expect(afterOpening(stream.raw)).toBe(resetFrame(head, 'history_trimmed'));
      stream.close();
    }
    const earliest = await subscribe(`${gw.publicUrl}/subscribe/off?lastEventId=earliest`);
    expectOpening(earliest, null);
    const live = await gw.publish('off', 'live');
    await earliest.waitForEvents(1);
    expect(afterOpening(earliest.raw)).toBe(`id: ${live}\ndata: live\n\n`);
    earliest.close();
  });

  it("advances a quiet stream's id with heartbeats; reconnecting with it gives no reset and no replay", async () => {
    await using gw = await startGateway({ brokerKind, heartbeatMs: 200 });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/hbA`);
    const b = await gw.publish('hbB/x', 'not for A');
    await stream.waitFor(() => stream.lastEventId === b, 5000, "a heartbeat carrying B's id");
    expect(stream.events).toEqual([]);
    expect(stream.raw).toContain(`\nid: ${b}\n\n`);
    stream.close();
    const again = await subscribe(`${gw.publicUrl}/subscribe/hbA`, {
      headers: { 'last-event-id': b },
    });
    expectOpening(again, b);
    const a = await gw.publish('hbA', 'for A');
    await again.waitForEvents(1);
    expect(again.events).toEqual([{ id: a, event: undefined, data: 'for A' }]);
    again.close();
  });
});

describe('history unreadable (fake broker)', () => {
  it('answers a resume with the not-ready answer, or 503 NOT_READY, and leaves nothing behind', async () => {
    await using gw = await startGateway({ brokerKind: 'fake' });
    const broker = fakeBrokerOf(gw);
    const ids = await publishBatch(gw.adminUrl, numbered('nr', 3));
    broker.failReads = true;
    const url = `${gw.publicUrl}/subscribe/nr`;
    const openings: { headers: Record<string, string>; query: string }[] = [
      { headers: { 'last-event-id': at(ids, 0) }, query: '' },
      { headers: {}, query: `?lastEventId=${at(ids, 1)}` },
      { headers: {}, query: '?lastEventId=earliest' },
    ];
    for (const opening of openings) {
      const es = await SseStream.open(`${url}${opening.query}`, { headers: opening.headers });
      await es.waitForEnd();
      expect(es.status).toBe(200);
      expect(es.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(es.headers.connection).toBe('close');
      const match = /^retry: (\d+)\n: not ready\n\n$/.exec(es.raw);
      expect(match, es.raw).not.toBeNull();
      expect(Number(match?.[1])).toBeGreaterThanOrEqual(1000);
      expect(Number(match?.[1])).toBeLessThanOrEqual(5000);

      const res = await request(`${url}${opening.query}`, { headers: opening.headers });
      expect(res.status).toBe(503);
      expect(errorCode(res)).toBe('NOT_READY');
    }
    expect(broker.liveInterests).toBe(0);
    expect(await metricValue(gw.adminUrl, 'ssehub_connections')).toBe(0);

    broker.failReads = false;
    const stream = await subscribe(url, { headers: { 'last-event-id': at(ids, 0) } });
    await stream.waitForEvents(2);
    expect(stream.events.map((e) => e.id)).toEqual(ids.slice(1));
    expect(broker.liveInterests).toBe(1);
    stream.close();
  });

  it('closes a stream whose replay can no longer read history; the client resumes with its cursor', async () => {
    await using gw = await startGateway({ brokerKind: 'fake', maxBodyBytes: 8_000_000 });
    const broker = fakeBrokerOf(gw);
    const payload = (i: number): string => `${i}:`.padEnd(4096, 'y');
    const ids = await publishBatch(
      gw.adminUrl,
      Array.from({ length: 3000 }, (_, i) => ({ topic: 'mid', data: payload(i) })),
    );
    const first = await SseStream.open(`${gw.publicUrl}/subscribe/mid?lastEventId=${at(ids, 0)}`, {
      paused: true,
    });
    await sleep(300); // the replay is now waiting for the client to read
    broker.failReads = true;
    first.resume();
    await first.waitForEnd(20_000);
    expect(first.events.length).toBeLessThan(2999);
    expect(first.events.map((e) => e.id)).toEqual(ids.slice(1, first.events.length + 1));
    expect(first.raw).not.toContain('ssehub.reset');
    expect(broker.liveInterests).toBe(0);

    broker.failReads = false;
    const second = await subscribe(`${gw.publicUrl}/subscribe/mid`, {
      headers: { 'last-event-id': first.lastEventId ?? '' },
    });
    const rest = 2999 - first.events.length;
    await second.waitForEvents(rest, 20_000);
    expect([...first.events, ...second.events].map((e) => e.id)).toEqual(ids.slice(1));
    second.close();
  });
});
