/**
 * Events on the wire (SPEC 4), checked byte for byte on real HTTP streams against every broker:
 * field order, line breaks in data, unusual data, unicode, the `envelope=1` JSON form, and ids.
 */
import { decodeEventId } from '@ssehub/protocol';
import { describe, expect, it } from 'vitest';
import { BROKER_KINDS, startGateway } from '../helpers/gateway-fixture.js';
import { afterOpening, openingBlock } from '../helpers/history-helpers.js';
import { subscribe } from '../helpers/sse-client.js';

const ID_RULE = /^[0-9A-Za-z._,:-]{1,256}$/;

interface EnvelopeJson {
  readonly topic: string;
  readonly event?: string;
  readonly data: string;
  readonly publishedAt: number;
}

function parseEnvelope(data: string): EnvelopeJson {
  return JSON.parse(data) as EnvelopeJson;
}

describe.each(BROKER_KINDS)('wire format (%s broker)', (brokerKind) => {
  it('writes id:, event:, data:, then a blank line for a named event', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/wire`);
    const id = await gw.publish('wire/a', 'hello', 'greet');
    await stream.waitForEvents(1);
    expect(afterOpening(stream.raw)).toBe(`id: ${id}\nevent: greet\ndata: hello\n\n`);
    expect(stream.events).toEqual([{ id, event: 'greet', data: 'hello' }]);
    stream.close();
  });

  it('writes no event: line for an unnamed event', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/wire`);
    const id = await gw.publish('wire', 'plain');
    await stream.waitForEvents(1);
    expect(afterOpening(stream.raw)).toBe(`id: ${id}\ndata: plain\n\n`);
    expect(stream.events).toEqual([{ id, event: undefined, data: 'plain' }]);
    stream.close();
  });

  it('turns \\r\\n, \\r and \\n in data into separate data: lines, read back with \\n', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/lines`);
    const id1 = await gw.publish('lines', 'a\r\nb\rc\nd');
    const id2 = await gw.publish('lines', 'trailing\n');
    const id3 = await gw.publish('lines', '\r\n\r\n');
    const id4 = await gw.publish('lines', 'x\n\ny');
    await stream.waitForEvents(4);
    expect(afterOpening(stream.raw)).toBe(
      `id: ${id1}\ndata: a\ndata: b\ndata: c\ndata: d\n\n` +
        `id: ${id2}\ndata: trailing\ndata: \n\n` +
        `id: ${id3}\ndata: \ndata: \ndata: \n\n` +
        `id: ${id4}\ndata: x\ndata: \ndata: y\n\n`,
    );
    expect(stream.events.map((e) => e.data)).toEqual([
      'a\nb\nc\nd',
      'trailing\n',
      '\n\n',
      'x\n\ny',
    ]);
    stream.close();
  });

  it('keeps data that starts with a space or a colon, or contains colons', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/odd`);
    const samples = [
      ' leading space',
      '  two spaces',
      ':starts with a colon',
      'key: value: more',
      'data: fake field',
      'id: 7',
      '\tindented',
    ];
    const ids: string[] = [];
    for (const sample of samples) ids.push(await gw.publish('odd', sample));
    await stream.waitForEvents(samples.length);
    expect(stream.events.map((e) => e.data)).toEqual(samples);
    expect(stream.events.map((e) => e.id)).toEqual(ids);
    expect(afterOpening(stream.raw)).toBe(
      samples.map((s, i) => `id: ${ids[i] ?? ''}\ndata: ${s}\n\n`).join(''),
    );
    stream.close();
  });

  it('delivers empty data as one empty data: line', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/empty`);
    const id = await gw.publish('empty', '');
    const named = await gw.publish('empty', '', 'blank');
    await stream.waitForEvents(2);
    expect(afterOpening(stream.raw)).toBe(
      `id: ${id}\ndata: \n\nid: ${named}\nevent: blank\ndata: \n\n`,
    );
    expect(stream.events).toEqual([
      { id, event: undefined, data: '' },
      { id: named, event: 'blank', data: '' },
    ]);
    stream.close();
  });

  it('keeps multi-byte unicode intact, also across socket chunks', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/unicode`);
    const short = 'Grüße, 日本語, emoji 🐶🐱, combining é, RTL שלום';
    const long = '🐶é日'.repeat(6000); // 54 000 bytes: split over many socket chunks
    await gw.publish('unicode', short, 'uni');
    await gw.publish('unicode', long);
    await stream.waitForEvents(2);
    expect(stream.events.map((e) => e.data)).toEqual([short, long]);
    expect(stream.events[0]?.event).toBe('uni');
    stream.close();
  });

  it('accepts event names with every allowed character class', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/names`);
    const name = 'Az09_.:-x';
    const id = await gw.publish('names', 'n', name);
    await stream.waitForEvents(1);
    expect(afterOpening(stream.raw)).toBe(`id: ${id}\nevent: ${name}\ndata: n\n\n`);
    stream.close();
  });

  it('with envelope=1 writes one line of JSON {topic, event, data, publishedAt} and the same event: line', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/env?envelope=1`);
    const before = Date.now();
    const id = await gw.publish('env/dogs', 'Corgi', 'new-dog');
    const after = Date.now();
    await stream.waitForEvents(1);
    const text = afterOpening(stream.raw);
    const match = /^id: (\S+)\nevent: new-dog\ndata: (\{.*\})\n\n$/.exec(text);
    expect(match?.[1]).toBe(id);
    const json = match?.[2] ?? '';
    expect(json).toMatch(
      /^\{"topic":"env\/dogs","event":"new-dog","data":"Corgi","publishedAt":\d+\}$/,
    );
    const envelope = parseEnvelope(json);
    expect(envelope.publishedAt).toBeGreaterThanOrEqual(before - 1);
    expect(envelope.publishedAt).toBeLessThanOrEqual(after + 1);
    expect(stream.events[0]?.event).toBe('new-dog');
    stream.close();
  });

  it('with envelope=1 leaves event out for unnamed events and writes no event: line', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe?topic=env/*&envelope=1`);
    const id = await gw.publish('env/cats', 'Tom');
    await stream.waitForEvents(1);
    const text = afterOpening(stream.raw);
    expect(text).toMatch(
      /^id: \S+\ndata: \{"topic":"env\/cats","data":"Tom","publishedAt":\d+\}\n\n$/,
    );
    expect(stream.events[0]?.id).toBe(id);
    expect(stream.events[0]?.event).toBeUndefined();
    const envelope = parseEnvelope(stream.events[0]?.data ?? '');
    expect(Object.keys(envelope)).toEqual(['topic', 'data', 'publishedAt']);
    stream.close();
  });

  it('with envelope=1 keeps multi-line data inside the JSON string, on one data: line', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/env?envelope=1`);
    await gw.publish('env', 'one\ntwo\nthree');
    await gw.publish('env', 'a\r\nb\rc');
    await stream.waitForEvents(2);
    const dataLines = afterOpening(stream.raw)
      .split('\n')
      .filter((line) => line.startsWith('data:'));
    expect(dataLines).toHaveLength(2);
    expect(parseEnvelope(stream.events[0]?.data ?? '').data).toBe('one\ntwo\nthree');
    const second = parseEnvelope(stream.events[1]?.data ?? '').data;
    expect(second.split(/\r\n|\r|\n/)).toEqual(['a', 'b', 'c']);
    stream.close();
  });

  it('gives a connection with envelope and one without on the same topic each their form', async () => {
    await using gw = await startGateway({ brokerKind });
    const plain = await subscribe(`${gw.publicUrl}/subscribe/both`);
    const wrapped = await subscribe(`${gw.publicUrl}/subscribe/both?envelope=1`);
    const plain2 = await subscribe(`${gw.publicUrl}/subscribe/both`);
    const id1 = await gw.publish('both/x', 'first', 'ev');
    const id2 = await gw.publish('both', 'second');
    await Promise.all([plain, wrapped, plain2].map((s) => s.waitForEvents(2)));
    for (const s of [plain, plain2]) {
      expect(s.events).toEqual([
        { id: id1, event: 'ev', data: 'first' },
        { id: id2, event: undefined, data: 'second' },
      ]);
    }
    expect(wrapped.events.map((e) => [e.id, e.event])).toEqual([
      [id1, 'ev'],
      [id2, undefined],
    ]);
    const envelopes = wrapped.events.map((e) => parseEnvelope(e.data));
    expect(envelopes.map(({ topic, event, data }) => ({ topic, event, data }))).toEqual([
      { topic: 'both/x', event: 'ev', data: 'first' },
      { topic: 'both', event: undefined, data: 'second' },
    ]);
    for (const s of [plain, wrapped, plain2]) s.close();
  });

  it('uses the envelope form for replayed events too', async () => {
    await using gw = await startGateway({ brokerKind });
    const first = await gw.publish('envr', 'zero');
    const id = await gw.publish('envr/a', 'one\ntwo', 'named');
    const stream = await subscribe(
      `${gw.publicUrl}/subscribe/envr?envelope=1&lastEventId=${first}`,
    );
    await stream.waitForEvents(1);
    expect(stream.events[0]?.id).toBe(id);
    expect(stream.events[0]?.event).toBe('named');
    const envelope = parseEnvelope(stream.events[0]?.data ?? '');
    expect({ topic: envelope.topic, event: envelope.event, data: envelope.data }).toEqual({
      topic: 'envr/a',
      event: 'named',
      data: 'one\ntwo',
    });
    stream.close();
  });

  it('gives each event the id the publish returned (one shard), within the id rule', async () => {
    await using gw = await startGateway({ brokerKind });
    const stream = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await gw.publish(`ids/${i % 3}`, `d${i}`));
    await stream.waitForEvents(20);
    expect(stream.events.map((e) => e.id)).toEqual(ids);
    expect(new Set(ids).size).toBe(20);
    for (const id of ids) {
      expect(id).toMatch(ID_RULE);
      expect(decodeEventId(id)).toHaveLength(1);
    }
    // The opening block's id is a position in the same format.
    const opening = /^: ok\nretry: (\d+)\nid: (\S+)\n\n$/.exec(openingBlock(stream.raw));
    expect(opening?.[2]).toMatch(ID_RULE);
    const retry = Number(opening?.[1]);
    expect(retry).toBeGreaterThanOrEqual(2000);
    expect(retry).toBeLessThanOrEqual(3000);
    stream.close();
  });
});
