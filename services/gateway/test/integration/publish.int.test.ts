/**
 * Publishing over HTTP (SPEC 7) and through the library (SPEC 12): the raw and JSON routes, every
 * error code with nothing stored and nothing delivered, idempotency keys, ADMIN_TOKEN, and the
 * public port's publish routes. Behaviour that involves storing runs against every broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/index.js';
import {
  BROKER_KINDS,
  startGateway,
  type BrokerKind,
  type GatewayFixture,
} from '../helpers/gateway-fixture.js';
import { errorCode, rawRequest, request, type JsonResponse } from '../helpers/http-client.js';
import { postJson, publishCounters } from '../helpers/publish-client.js';
import { subscribe, type SseEvent, type SseStream } from '../helpers/sse-client.js';
import { sleep } from '../helpers/timing.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** `POST /publish/<path>` on the admin port with a raw body. */
function postRaw(
  gw: GatewayFixture,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return request(`${gw.adminUrl}/publish/${path}`, { method: 'POST', headers, body });
}

function idOf(res: JsonResponse): string {
  expect(res.status, res.text).toBe(200);
  const body = res.body as { id?: unknown };
  expect(Object.keys(body)).toEqual(['id']);
  expect(body.id).toMatch(/^[0-9A-Za-z._,:-]{1,256}$/);
  return body.id as string;
}

function idsOf(res: JsonResponse): string[] {
  expect(res.status, res.text).toBe(200);
  const body = res.body as { ids?: unknown };
  expect(Object.keys(body)).toEqual(['ids']);
  expect(Array.isArray(body.ids)).toBe(true);
  return body.ids as string[];
}

/** A SPEC error answer: status, JSON `{"error":{"code","message"}}`, and a message saying what is wrong. */
function expectError(res: JsonResponse, status: number, code: string, message: RegExp): void {
  expect({ status: res.status, code: errorCode(res) }, res.text).toEqual({ status, code });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = res.body as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.message).toMatch(message);
}

const ev = (id: string, data: string, event?: string): SseEvent => ({ id, event, data });

/**
 * Runs `act` between two good publishes and checks it stored and delivered nothing: the live
 * subscriber on `**` sees exactly the two good events, the history and the published counter grew
 * by exactly two, and a resume from the first good event replays the second one next.
 */
async function expectNothingStoredBy(
  gw: GatewayFixture,
  all: SseStream,
  act: () => Promise<void>,
  options: {
    readonly publish?: (topic: string, data: string) => Promise<string>;
  } = {},
): Promise<void> {
  const publish = options.publish ?? ((topic: string, data: string) => gw.publish(topic, data));
  const start = all.events.length;
  const counters = await publishCounters(gw.adminUrl);
  const before = await publish('probe/before', 'before');
  await act();
  const after = await publish('probe/after', 'after');
  await all.waitForEvents(start + 2);
  expect(all.events.slice(start)).toEqual([ev(before, 'before'), ev(after, 'after')]);
  const after2 = await publishCounters(gw.adminUrl);
  expect(after2.history).toBe(counters.history + 2);
  // Idempotent repeats answer 200 but store nothing, so the published counter must not move for them.
  expect(after2.published).toBe(counters.published + 2);
  const resumed = await subscribe(
    `${gw.publicUrl}/subscribe?topic=**&lastEventId=${encodeURIComponent(before)}`,
  );
  await resumed.waitForEvents(1);
  expect(resumed.events[0]).toEqual(ev(after, 'after'));
  resumed.close();
}

/** Settings of the gateway the error table runs against. */
const ERROR_TABLE_SETTINGS = { maxEventBytes: 10, maxBodyBytes: 65_536 } as const;

interface BadRequest {
  readonly name: string;
  readonly status: number;
  readonly code: string;
  readonly message: RegExp;
  send(gw: GatewayFixture): Promise<JsonResponse>;
}

const raw =
  (path: string, body: string | Uint8Array = 'x', headers: Record<string, string> = {}) =>
  (gw: GatewayFixture) =>
    postRaw(gw, path, body, headers);
const rawPath = (path: string) => (gw: GatewayFixture) =>
  rawRequest(gw.adminUrl, path, {
    method: 'POST',
    as: 'json',
    headers: { 'content-length': '1' },
    chunks: ['x'],
  });
const json =
  (body: unknown, headers: Record<string, string> = {}) =>
  (gw: GatewayFixture) =>
    postJson(gw.adminUrl, body, headers);
const jsonBytes = (bytes: Uint8Array) => (gw: GatewayFixture) =>
  request(`${gw.adminUrl}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: bytes,
  });

const BAD_TOPICS: readonly (readonly [string, string])[] = [
  ['the wildcard *', '*'],
  ['the wildcard **', '**'],
  ['a pattern with *', 'pets/*'],
  ['a pattern with **', 'pets/**'],
  ['a * inside a segment', 'pets/do*gs'],
  ['a trailing /', 'pets/'],
  ['an empty segment', 'pets//dogs'],
  ['a "." segment', 'pets/.'],
  ['a ".." segment', 'pets/..'],
  ['a space', 'pets dogs'],
  ['a non-ASCII letter', 'pets/chien-é'],
  ['a 65-character segment', 'a'.repeat(65)],
  ['17 segments', Array.from({ length: 17 }, () => 'a').join('/')],
  ['256 bytes', ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64), 'd'.repeat(63)].join('/')],
];

const BAD_EVENT_NAMES: readonly (readonly [string, string, RegExp])[] = [
  ['65 characters', 'x'.repeat(65), /1 to 64 characters/],
  ['a space', 'new dog', /A-Z a-z 0-9 _ \. : -/],
  ['a slash', 'new/dog', /A-Z a-z 0-9 _ \. : -/],
  ['a non-ASCII letter', 'café', /A-Z a-z 0-9 _ \. : -/],
  ['the reserved prefix ssehub.', 'ssehub.x', /reserved/],
  ['ssehub.reset', 'ssehub.reset', /reserved/],
  ['error', 'error', /EventSource/],
  ['open', 'open', /EventSource/],
];

const BAD_REQUESTS: readonly BadRequest[] = [
  // INVALID_TOPIC, in the path and in JSON.
  ...BAD_TOPICS.map(([what, topic]) => ({
    name: `INVALID_TOPIC in the path: ${what}`,
    status: 400,
    code: 'INVALID_TOPIC',
    message: /Topic/,
    send: rawPath(
      `/publish/${topic
        .split('/')
        .map((s) => (s === '.' || s === '..' ? s : encodeURIComponent(s)))
        .join('/')}`,
    ),
  })),
  ...BAD_TOPICS.map(([what, topic]) => ({
    name: `INVALID_TOPIC in JSON: ${what}`,
    status: 400,
    code: 'INVALID_TOPIC',
    message: /^topic: Topic/,
    send: json({ topic, data: 'x' }),
  })),
  {
    name: 'INVALID_TOPIC in the path: empty',
    status: 400,
    code: 'INVALID_TOPIC',
    message: /empty/,
    send: raw(''),
  },
  {
    name: 'INVALID_TOPIC in the path: only /',
    status: 400,
    code: 'INVALID_TOPIC',
    message: /no segments/,
    send: rawPath('/publish//'),
  },
  {
    name: 'INVALID_TOPIC in the path: percent-encoded *',
    status: 400,
    code: 'INVALID_TOPIC',
    message: /only patterns/,
    send: raw('pets/%2A'),
  },
  {
    name: 'INVALID_TOPIC in the path: broken percent-encoding',
    status: 400,
    code: 'INVALID_TOPIC',
    message: /percent-encoding/,
    send: raw('pets/%E0%A4%A'),
  },
  {
    name: 'INVALID_TOPIC in JSON: empty',
    status: 400,
    code: 'INVALID_TOPIC',
    message: /empty/,
    send: json({ topic: '', data: 'x' }),
  },
  {
    name: 'INVALID_TOPIC in a batch: the last event',
    status: 400,
    code: 'INVALID_TOPIC',
    message: /^events\[2\]\.topic: /,
    send: json({
      events: [
        { topic: 'a', data: '1' },
        { topic: 'b', data: '2' },
        { topic: 'c/*', data: '3' },
      ],
    }),
  },

  // INVALID_EVENT_NAME, in the query and in JSON.
  ...BAD_EVENT_NAMES.map(([what, name, message]) => ({
    name: `INVALID_EVENT_NAME in the query: ${what}`,
    status: 400,
    code: 'INVALID_EVENT_NAME',
    message,
    send: raw(`pets?event=${encodeURIComponent(name)}`),
  })),
  ...BAD_EVENT_NAMES.map(([what, name, message]) => ({
    name: `INVALID_EVENT_NAME in JSON: ${what}`,
    status: 400,
    code: 'INVALID_EVENT_NAME',
    message,
    send: json({ topic: 'pets', event: name, data: 'x' }),
  })),
  {
    name: 'INVALID_EVENT_NAME in the query: given twice',
    status: 400,
    code: 'INVALID_EVENT_NAME',
    message: /at most once/,
    send: raw('pets?event=a&event=b'),
  },
  {
    name: 'INVALID_EVENT_NAME in a batch: the last event',
    status: 400,
    code: 'INVALID_EVENT_NAME',
    message: /^events\[1\]\.event: /,
    send: json({
      events: [
        { topic: 'a', data: '1' },
        { topic: 'b', event: 'error', data: '2' },
      ],
    }),
  },

  // INVALID_BODY.
  {
    name: 'INVALID_BODY: bad JSON',
    status: 400,
    code: 'INVALID_BODY',
    message: /not valid JSON/,
    send: json('{"topic":"a","data":'),
  },
  {
    name: 'INVALID_BODY: empty JSON body',
    status: 400,
    code: 'INVALID_BODY',
    message: /not valid JSON/,
    send: json(''),
  },
  {
    name: 'INVALID_BODY: missing topic',
    status: 400,
    code: 'INVALID_BODY',
    message: /topic must be a string/,
    send: json({ data: 'x' }),
  },
  {
    name: 'INVALID_BODY: missing data',
    status: 400,
    code: 'INVALID_BODY',
    message: /data is missing/,
    send: json({ topic: 'a' }),
  },
  {
    name: 'INVALID_BODY: topic is a number',
    status: 400,
    code: 'INVALID_BODY',
    message: /topic must be a string/,
    send: json({ topic: 42, data: 'x' }),
  },
  {
    name: 'INVALID_BODY: topic is an array',
    status: 400,
    code: 'INVALID_BODY',
    message: /topic must be a string/,
    send: json({ topic: ['a'], data: 'x' }),
  },
  {
    name: 'INVALID_BODY: event is a number',
    status: 400,
    code: 'INVALID_BODY',
    message: /event must be a string/,
    send: json({ topic: 'a', event: 7, data: 'x' }),
  },
  {
    name: 'INVALID_BODY: body is a JSON array',
    status: 400,
    code: 'INVALID_BODY',
    message: /JSON object/,
    send: json([{ topic: 'a', data: 'x' }]),
  },
  {
    name: 'INVALID_BODY: body is a JSON string',
    status: 400,
    code: 'INVALID_BODY',
    message: /JSON object/,
    send: json('"pets"'),
  },
  {
    name: 'INVALID_BODY: body is JSON null',
    status: 400,
    code: 'INVALID_BODY',
    message: /JSON object/,
    send: json('null'),
  },
  {
    name: 'INVALID_BODY: invalid UTF-8 in a raw body',
    status: 400,
    code: 'INVALID_BODY',
    message: /UTF-8/,
    send: raw('pets', new Uint8Array([0x61, 0xff, 0x62]), { 'content-type': 'text/plain' }),
  },
  {
    name: 'INVALID_BODY: a truncated UTF-8 sequence in a raw body',
    status: 400,
    code: 'INVALID_BODY',
    message: /UTF-8/,
    send: raw('pets', new Uint8Array([0x61, 0xe2, 0x82])),
  },
  {
    name: 'INVALID_BODY: invalid UTF-8 in a JSON body',
    status: 400,
    code: 'INVALID_BODY',
    message: /UTF-8/,
    send: jsonBytes(new Uint8Array([...utf8('{"topic":"a","data":"'), 0xc3, 0x28, ...utf8('"}')])),
  },
  {
    name: 'INVALID_BODY: a lone surrogate escape in JSON data',
    status: 400,
    code: 'INVALID_BODY',
    message: /surrogate/,
    send: json('{"topic":"a","data":"x\\ud800"}'),
  },
  {
    name: 'INVALID_BODY: an Idempotency-Key header on a batch',
    status: 400,
    code: 'INVALID_BODY',
    message: /Idempotency-Key header/,
    send: json({ events: [{ topic: 'a', data: '1' }] }, { 'idempotency-key': 'k1' }),
  },
  {
    name: 'INVALID_BODY: empty events',
    status: 400,
    code: 'INVALID_BODY',
    message: /non-empty array/,
    send: json({ events: [] }),
  },
  {
    name: 'INVALID_BODY: events is not an array',
    status: 400,
    code: 'INVALID_BODY',
    message: /non-empty array/,
    send: json({ events: { topic: 'a', data: '1' } }),
  },
  {
    name: 'INVALID_BODY in a batch: the last event has no data',
    status: 400,
    code: 'INVALID_BODY',
    message: /^events\[2\]\.data is missing/,
    send: json({ events: [{ topic: 'a', data: '1' }, { topic: 'b', data: '2' }, { topic: 'c' }] }),
  },
  {
    name: 'INVALID_BODY in a batch: the last event is not an object',
    status: 400,
    code: 'INVALID_BODY',
    message: /^events\[1\] must be an object/,
    send: json({ events: [{ topic: 'a', data: '1' }, 'b'] }),
  },
  {
    name: 'INVALID_BODY: a malformed Idempotency-Key header',
    status: 400,
    code: 'INVALID_BODY',
    message: /Idempotency-Key must be/,
    send: raw('pets', 'x', { 'idempotency-key': 'x'.repeat(257) }),
  },

  // 413s (maxEventBytes 10, maxBodyBytes 65536).
  {
    name: 'EVENT_TOO_LARGE: raw data of 4 three-byte characters (12 bytes)',
    status: 413,
    code: 'EVENT_TOO_LARGE',
    message: /12 bytes; the limit is 10/,
    send: raw('pets', '€€€€'),
  },
  {
    name: 'EVENT_TOO_LARGE: JSON data of 4 three-byte characters (12 bytes)',
    status: 413,
    code: 'EVENT_TOO_LARGE',
    message: /12 bytes; the limit is 10/,
    send: json({ topic: 'pets', data: '€€€€' }),
  },
  {
    name: 'EVENT_TOO_LARGE: JSON data whose JSON text is 11 bytes',
    status: 413,
    code: 'EVENT_TOO_LARGE',
    message: /11 bytes; the limit is 10/,
    send: json({ topic: 'pets', data: { a: 'bcd' } }),
  },
  {
    name: 'EVENT_TOO_LARGE in a batch: the last event',
    status: 413,
    code: 'EVENT_TOO_LARGE',
    message: /^events\[1\]\.data is 11 bytes/,
    send: json({
      events: [
        { topic: 'a', data: '1' },
        { topic: 'b', data: 'x'.repeat(11) },
      ],
    }),
  },
  {
    name: 'EVENT_TOO_LARGE: a raw body exactly at MAX_BODY_BYTES is read and measured',
    status: 413,
    code: 'EVENT_TOO_LARGE',
    message: /65536 bytes; the limit is 10/,
    send: raw('pets', 'x'.repeat(65_536)),
  },
  {
    name: 'BATCH_TOO_LARGE: 1001 events',
    status: 413,
    code: 'BATCH_TOO_LARGE',
    message: /at most 1000 events; 1001/,
    send: json({
      events: Array.from({ length: 1001 }, (_, i) => ({ topic: 't', data: String(i % 10) })),
    }),
  },
  {
    name: 'BODY_TOO_LARGE: raw body with content-length',
    status: 413,
    code: 'BODY_TOO_LARGE',
    message: /over 65536 bytes \(MAX_BODY_BYTES\)/,
    send: raw('pets', 'x'.repeat(65_537)),
  },
  {
    name: 'BODY_TOO_LARGE: raw body sent chunked, without content-length',
    status: 413,
    code: 'BODY_TOO_LARGE',
    message: /MAX_BODY_BYTES/,
    send: (gw) =>
      rawRequest(gw.adminUrl, '/publish/pets', {
        method: 'POST',
        as: 'json',
        chunks: Array.from({ length: 9 }, () => 'x'.repeat(8192)),
      }),
  },
  {
    name: 'BODY_TOO_LARGE: JSON body with content-length',
    status: 413,
    code: 'BODY_TOO_LARGE',
    message: /MAX_BODY_BYTES/,
    send: json({ topic: 'pets', data: 'x'.repeat(65_536) }),
  },
  {
    name: 'BODY_TOO_LARGE: JSON body sent chunked, without content-length',
    status: 413,
    code: 'BODY_TOO_LARGE',
    message: /MAX_BODY_BYTES/,
    send: (gw) =>
      rawRequest(gw.adminUrl, '/publish', {
        method: 'POST',
        as: 'json',
        headers: { 'content-type': 'application/json' },
        chunks: [
          '{"topic":"pets","data":"',
          ...Array.from({ length: 9 }, () => 'x'.repeat(8192)),
          '"}',
        ],
      }),
  },

  // 415.
  ...[
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
  ].map((type) => ({
    name: `UNSUPPORTED_MEDIA_TYPE: ${type} on POST /publish`,
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: /application\/json/,
    send: json({ topic: 'pets', data: 'x' }, { 'content-type': type }),
  })),
];

describe.each(BROKER_KINDS)('publishing (%s broker)', (brokerKind: BrokerKind) => {
  describe('POST /publish/<topic> (raw body)', () => {
    it.each([
      ['text/plain', { 'content-type': 'text/plain' }, 'hello'],
      ['application/octet-stream', { 'content-type': 'application/octet-stream' }, 'bytes as text'],
      ['no content type', {}, 'no type'],
      [
        'application/json, as raw text',
        { 'content-type': 'application/json' },
        '{"topic":"not/this","data":"x"}',
      ],
      [
        'application/x-www-form-urlencoded, as raw text',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'a=1&b=2',
      ],
    ])(
      'accepts %s and delivers exactly the body',
      async (_what, headers: Record<string, string>, text) => {
        await using gw = await startGateway({ brokerKind });
        const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
        // A Uint8Array body makes fetch send no content type of its own.
        const id = idOf(await postRaw(gw, 'pets/dogs?event=new-dog', utf8(text), headers));
        await stream.waitForEvents(1);
        expect(stream.events).toEqual([ev(id, text, 'new-dog')]);
        stream.close();
      },
    );

    it('delivers an unnamed event as "message", and keeps multi-line and non-ASCII data', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
      const first = idOf(await postRaw(gw, 'pets', 'Corgi'));
      // SPEC 4: names are 1 to 64 characters, so an empty ?event= is refused, not read as no name.
      const empty = await postRaw(gw, 'pets?event=', 'empty name');
      expect(empty.status).toBe(400);
      expect(errorCode(empty)).toBe('INVALID_EVENT_NAME');
      const third = idOf(await postRaw(gw, 'pets', '  line 1\r\nline 2\rline 3\n😀 é €  '));
      await stream.waitForEvents(2);
      expect(stream.events).toEqual([
        ev(first, 'Corgi'),
        ev(third, '  line 1\nline 2\nline 3\n😀 é €  '),
      ]);
      stream.close();
    });

    it.each([
      ['a leading / (double slash in the path)', '/publish//pets/dogs'],
      ['a percent-encoded /', '/publish/pets%2Fdogs'],
      ['percent-encoded segment characters', '/publish/%70ets/d%6Fgs'],
    ])('reads the topic with %s', async (_what, path) => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe?topic=pets/dogs&envelope=1`);
      const res = await rawRequest(gw.adminUrl, path, {
        method: 'POST',
        as: 'json',
        headers: { 'content-length': '3' },
        chunks: ['dog'],
      });
      const id = idOf(res);
      await stream.waitForEvents(1);
      expect(stream.events[0]?.id).toBe(id);
      expect(JSON.parse(stream.events[0]?.data ?? '')).toMatchObject({
        topic: 'pets/dogs',
        data: 'dog',
      });
      stream.close();
    });

    it('accepts every topic character, percent-encoded or not', async () => {
      await using gw = await startGateway({ brokerKind });
      const topic = 'A-Z_a.z~0:9@x|y';
      const stream = await subscribe(
        `${gw.publicUrl}/subscribe?topic=${encodeURIComponent(topic)}&envelope=1`,
      );
      const plain = idOf(
        await rawRequest(gw.adminUrl, `/publish/${topic}`, {
          method: 'POST',
          as: 'json',
          headers: { 'content-length': '1' },
          chunks: ['1'],
        }),
      );
      const encoded = idOf(await postRaw(gw, encodeURIComponent(topic), '2'));
      await stream.waitForEvents(2);
      expect(
        stream.events.map((e) => [e.id, (JSON.parse(e.data) as { topic: string }).topic]),
      ).toEqual([
        [plain, topic],
        [encoded, topic],
      ]);
      stream.close();
    });

    it('accepts data exactly at MAX_EVENT_BYTES, counted in UTF-8 bytes', async () => {
      await using gw = await startGateway({ brokerKind, maxEventBytes: 10 });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
      const id = idOf(await postRaw(gw, 'pets', 'x€€€')); // 1 + 3 × 3 = 10 bytes
      const id2 = idOf(await postJson(gw.adminUrl, { topic: 'pets', data: '€€€' })); // 9 bytes
      await stream.waitForEvents(2);
      expect(stream.events).toEqual([ev(id, 'x€€€'), ev(id2, '€€€')]);
      stream.close();
    });

    it('accepts a body exactly at MAX_BODY_BYTES, with and without content-length', async () => {
      await using gw = await startGateway({ brokerKind, maxBodyBytes: 100 });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
      const a = 'a'.repeat(100);
      const b = 'b'.repeat(100);
      const first = idOf(await postRaw(gw, 'pets', a));
      const second = idOf(
        await rawRequest(gw.adminUrl, '/publish/pets', {
          method: 'POST',
          as: 'json',
          chunks: ['b'.repeat(50), 'b'.repeat(50)],
        }),
      );
      const over = await rawRequest(gw.adminUrl, '/publish/pets', {
        method: 'POST',
        as: 'json',
        chunks: ['c'.repeat(50), 'c'.repeat(51)],
      });
      expectError(over, 413, 'BODY_TOO_LARGE', /over 100 bytes/);
      const jsonBody = JSON.stringify({ topic: 'pets', data: 'd'.repeat(74) }); // 100 bytes
      expect(jsonBody).toHaveLength(100);
      const third = idOf(await postJson(gw.adminUrl, jsonBody));
      expectError(
        await postJson(gw.adminUrl, JSON.stringify({ topic: 'pets', data: 'd'.repeat(75) })),
        413,
        'BODY_TOO_LARGE',
        /over 100 bytes/,
      );
      await stream.waitForEvents(3);
      expect(stream.events).toEqual([ev(first, a), ev(second, b), ev(third, 'd'.repeat(74))]);
      stream.close();
    });
  });

  describe('POST /publish (JSON)', () => {
    it.each([
      ['a string, verbatim', '  {"not":"parsed"}\n', '  {"not":"parsed"}\n'],
      ['an empty string', '', ''],
      [
        'an object, as its JSON text',
        { name: 'Rex', tags: ['good', 'boy'], nested: { n: 1.5 } },
        '{"name":"Rex","tags":["good","boy"],"nested":{"n":1.5}}',
      ],
      ['an array, as its JSON text', [1, 'two', null, false], '[1,"two",null,false]'],
      ['a number, as its JSON text', 42, '42'],
      ['true, as its JSON text', true, 'true'],
      ['false, as its JSON text', false, 'false'],
      ['null, as its JSON text', null, 'null'],
    ])('sends data that is %s', async (_what, data: unknown, text) => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe?topic=pets/dogs&envelope=1`);
      const id = idOf(await postJson(gw.adminUrl, { topic: '/pets/dogs', event: 'new-dog', data }));
      await stream.waitForEvents(1);
      expect(stream.events[0]?.id).toBe(id);
      expect(stream.events[0]?.event).toBe('new-dog');
      const envelope = JSON.parse(stream.events[0]?.data ?? '') as Record<string, unknown>;
      expect({
        topic: envelope['topic'],
        event: envelope['event'],
        data: envelope['data'],
      }).toEqual({
        topic: 'pets/dogs',
        event: 'new-dog',
        data: text,
      });
      stream.close();
    });

    it('delivers a JSON value verbatim to a subscriber without envelope, and an unnamed event as "message"', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
      const id = idOf(await postJson(gw.adminUrl, { topic: 'pets', data: { a: [1, 2] } }));
      const id2 = idOf(await postJson(gw.adminUrl, { topic: 'pets', event: null, data: 'x' }));
      await stream.waitForEvents(2);
      expect(stream.events).toEqual([ev(id, '{"a":[1,2]}'), ev(id2, 'x')]);
      stream.close();
    });

    it.each([
      ['application/json; charset=utf-8'],
      ['application/cloudevents+json'],
      ['APPLICATION/JSON'],
    ])('accepts the JSON content type %s', async (type) => {
      await using gw = await startGateway({ brokerKind });
      idOf(await postJson(gw.adminUrl, { topic: 'pets', data: 'x' }, { 'content-type': type }));
    });

    it('reads a body with no content type as JSON', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
      const body = JSON.stringify({ topic: 'pets', event: 'untyped', data: 'x' });
      const res = await rawRequest(gw.adminUrl, '/publish', {
        method: 'POST',
        as: 'json',
        headers: { 'content-length': String(body.length) },
        chunks: [body],
      });
      const id = idOf(res);
      await stream.waitForEvents(1);
      expect(stream.events).toEqual([ev(id, 'x', 'untyped')]);
      stream.close();
    });

    it('publishes a batch: ids in order, delivered in that order, across topics', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
      const ids = idsOf(
        await postJson(gw.adminUrl, {
          events: [
            { topic: 'a', data: 'one' },
            { topic: '/b/c', event: 'second', data: { n: 2 } },
            { topic: 'a', data: 3 },
          ],
        }),
      );
      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(3);
      await stream.waitForEvents(3);
      expect(stream.events).toEqual([
        ev(ids[0] ?? '', 'one'),
        ev(ids[1] ?? '', '{"n":2}', 'second'),
        ev(ids[2] ?? '', '3'),
      ]);
      stream.close();
    });

    it('accepts a batch of 1000 events and delivers them in order', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/bulk`);
      const events = Array.from({ length: 1000 }, (_, i) => ({
        topic: `bulk/${i % 7}`,
        data: `n${i}`,
      }));
      const ids = idsOf(await postJson(gw.adminUrl, { events }));
      expect(ids).toHaveLength(1000);
      await stream.waitForEvents(1000, 15_000);
      expect(stream.events.map((e) => e.id)).toEqual(ids);
      expect(stream.events.map((e) => e.data)).toEqual(events.map((e) => e.data));
      expect(await publishCounters(gw.adminUrl)).toEqual({ history: 1000, published: 1000 });
      stream.close();
    });
  });

  describe('errors store and deliver nothing', () => {
    let gw: GatewayFixture;
    let all: SseStream;
    beforeAll(async () => {
      gw = await startGateway({ brokerKind, ...ERROR_TABLE_SETTINGS });
      all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
    });
    afterAll(async () => {
      all.close();
      await gw.close();
    });

    it.each(BAD_REQUESTS)('$name → $status $code', async (bad) => {
      await expectNothingStoredBy(gw, all, async () => {
        expectError(await bad.send(gw), bad.status, bad.code, bad.message);
      });
    });
  });

  describe('idempotency keys', () => {
    it('a repeat of a raw publish returns the first id and publishes nothing', async () => {
      await using gw = await startGateway({ brokerKind });
      const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
      const first = idOf(
        await postRaw(gw, 'orders?event=created', 'o-1', { 'idempotency-key': 'order-1' }),
      );
      await all.waitForEvents(1);
      await expectNothingStoredBy(gw, all, async () => {
        expect(
          idOf(await postRaw(gw, 'orders?event=created', 'o-1', { 'idempotency-key': 'order-1' })),
        ).toBe(first);
        // The same content through the JSON route is the same event.
        expect(
          idOf(
            await postJson(
              gw.adminUrl,
              { topic: 'orders', event: 'created', data: 'o-1' },
              { 'idempotency-key': 'order-1' },
            ),
          ),
        ).toBe(first);
        expect(
          idOf(
            await postJson(gw.adminUrl, {
              topic: '/orders',
              event: 'created',
              data: 'o-1',
              idempotencyKey: 'order-1',
            }),
          ),
        ).toBe(first);
      });
      expect(all.events.filter((e) => e.data === 'o-1')).toEqual([ev(first, 'o-1', 'created')]);
      all.close();
    });

    it('a repeat of a JSON publish with a JSON value returns the first id', async () => {
      await using gw = await startGateway({ brokerKind });
      const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
      const send = () =>
        postJson(
          gw.adminUrl,
          { topic: 'orders', data: { total: 5 } },
          { 'idempotency-key': 'k-json' },
        );
      const first = idOf(await send());
      await all.waitForEvents(1);
      await expectNothingStoredBy(gw, all, async () => {
        expect(idOf(await send())).toBe(first);
        // A raw body equal to the JSON text is the same content.
        expect(
          idOf(await postRaw(gw, 'orders', '{"total":5}', { 'idempotency-key': 'k-json' })),
        ).toBe(first);
      });
      all.close();
    });

    it.each([
      ['other data', 'orders?event=created', 'o-2'],
      ['another topic', 'orders/eu?event=created', 'o-1'],
      ['another event name', 'orders?event=updated', 'o-1'],
      ['no event name', 'orders', 'o-1'],
    ])(
      'the same key with %s is 409 IDEMPOTENCY_CONFLICT and stores nothing',
      async (_what, path, data) => {
        await using gw = await startGateway({ brokerKind });
        const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
        idOf(await postRaw(gw, 'orders?event=created', 'o-1', { 'idempotency-key': 'order-1' }));
        await all.waitForEvents(1);
        await expectNothingStoredBy(gw, all, async () => {
          expectError(
            await postRaw(gw, path, data, { 'idempotency-key': 'order-1' }),
            409,
            'IDEMPOTENCY_CONFLICT',
            /order-1/,
          );
          expectError(
            await postJson(
              gw.adminUrl,
              { topic: 'orders', event: 'created', data: 'other' },
              { 'idempotency-key': 'order-1' },
            ),
            409,
            'IDEMPOTENCY_CONFLICT',
            /already used/,
          );
        });
        all.close();
      },
    );

    it('after IDEMPOTENCY_TTL_MS the key publishes anew with a new id', async () => {
      await using gw = await startGateway({ brokerKind, idempotencyTtlMs: 300 });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/orders`);
      const send = () => postRaw(gw, 'orders', 'o-1', { 'idempotency-key': 'ttl-key' });
      const first = idOf(await send());
      expect(idOf(await send())).toBe(first);
      await sleep(450);
      const second = idOf(await send());
      expect(second).not.toBe(first);
      // And the expired key may now carry other content.
      await sleep(450);
      const third = idOf(await postRaw(gw, 'orders', 'o-2', { 'idempotency-key': 'ttl-key' }));
      await stream.waitForEvents(3);
      expect(stream.events).toEqual([ev(first, 'o-1'), ev(second, 'o-1'), ev(third, 'o-2')]);
      stream.close();
    });

    it('keys on batch events: a repeated batch returns the same ids and stores nothing', async () => {
      await using gw = await startGateway({ brokerKind });
      const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
      const batch = {
        events: [
          { topic: 'a', data: '1', idempotencyKey: 'b-1' },
          { topic: 'b', data: '2', idempotencyKey: 'b-2' },
        ],
      };
      const ids = idsOf(await postJson(gw.adminUrl, batch));
      await all.waitForEvents(2);
      await expectNothingStoredBy(gw, all, async () => {
        expect(idsOf(await postJson(gw.adminUrl, batch))).toEqual(ids);
        // A single publish with one of the keys and the same content is the same event.
        expect(idOf(await postRaw(gw, 'b', '2', { 'idempotency-key': 'b-2' }))).toBe(ids[1]);
      });
      // A batch mixing a known key with new events stores only the new ones.
      const mixed = idsOf(
        await postJson(gw.adminUrl, {
          events: [
            { topic: 'c', data: '3' },
            { topic: 'a', data: '1', idempotencyKey: 'b-1' },
            { topic: 'd', data: '4', idempotencyKey: 'b-4' },
          ],
        }),
      );
      expect(mixed[1]).toBe(ids[0]);
      await all.waitForEvents(6);
      const published = all.events.filter((e) => e.data !== 'before' && e.data !== 'after');
      expect(published.map((e) => [e.id, e.data])).toEqual([
        [ids[0], '1'],
        [ids[1], '2'],
        [mixed[0], '3'],
        [mixed[2], '4'],
      ]);
      all.close();
    });

    it('a key repeated inside one batch with the same content gets the same id and is stored once', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
      const ids = idsOf(
        await postJson(gw.adminUrl, {
          events: [
            { topic: 'x', data: 'same', idempotencyKey: 'dup' },
            { topic: 'y', data: 'other' },
            { topic: '/x', data: 'same', idempotencyKey: 'dup' },
          ],
        }),
      );
      expect(ids[2]).toBe(ids[0]);
      expect(ids[1]).not.toBe(ids[0]);
      const marker = await gw.publish('z', 'marker');
      await stream.waitForEvents(3);
      expect(stream.events).toEqual([
        ev(ids[0] ?? '', 'same'),
        ev(ids[1] ?? '', 'other'),
        ev(marker, 'marker'),
      ]);
      expect(await publishCounters(gw.adminUrl)).toMatchObject({ history: 3 });
      stream.close();
    });

    it.each([
      [
        'inside the batch',
        [],
        [
          { topic: 'x', data: 'one', idempotencyKey: 'dup' },
          { topic: 'y', data: 'free' },
          { topic: 'x', data: 'two', idempotencyKey: 'dup' },
        ],
      ],
      [
        'with an earlier publish',
        [{ topic: 'x', data: 'one', idempotencyKey: 'dup' }],
        [
          { topic: 'y', data: 'free' },
          { topic: 'x', data: 'two', idempotencyKey: 'dup' },
        ],
      ],
    ])(
      'a key repeated with other content %s is 409 and stores nothing of the batch',
      async (_what, earlier, events) => {
        await using gw = await startGateway({ brokerKind });
        const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
        if (earlier.length > 0) idsOf(await postJson(gw.adminUrl, { events: earlier }));
        await all.waitForEvents(earlier.length);
        await expectNothingStoredBy(gw, all, async () => {
          expectError(
            await postJson(gw.adminUrl, { events }),
            409,
            'IDEMPOTENCY_CONFLICT',
            /"dup"/,
          );
        });
        expect(all.events.some((e) => e.data === 'free' || e.data === 'two')).toBe(false);
        all.close();
      },
    );
  });

  it('answers 503 BROKER_UNAVAILABLE on every publish path when the broker cannot store', async () => {
    await using gw = await startGateway({ brokerKind });
    await gw.broker.close();
    expectError(await postRaw(gw, 'pets', 'x'), 503, 'BROKER_UNAVAILABLE', /broker/i);
    expectError(
      await postJson(gw.adminUrl, { topic: 'pets', data: 'x' }),
      503,
      'BROKER_UNAVAILABLE',
      /broker/i,
    );
    expectError(
      await postJson(gw.adminUrl, { events: [{ topic: 'pets', data: 'x' }] }),
      503,
      'BROKER_UNAVAILABLE',
      /broker/i,
    );
    await expect(gw.gateway.publish('pets', 'x')).rejects.toMatchObject({
      code: 'BROKER_UNAVAILABLE',
    });
    expect((await publishCounters(gw.adminUrl)).published).toBe(0);
  });

  describe('library API (SPEC 12)', () => {
    it('gateway.publish resolves to the id a subscriber sees, and honours event and idempotencyKey', async () => {
      await using gw = await startGateway({ brokerKind });
      const stream = await subscribe(`${gw.publicUrl}/subscribe/lib`);
      const id = await gw.gateway.publish('lib/x', 'text', { event: 'named' });
      const id2 = await gw.gateway.publish('/lib/y', { a: 1 }, { idempotencyKey: 'lib-k' });
      expect(await gw.gateway.publish('lib/y', { a: 1 }, { idempotencyKey: 'lib-k' })).toBe(id2);
      const id3 = await gw.gateway.publish('lib', 7);
      await stream.waitForEvents(3);
      expect(stream.events).toEqual([ev(id, 'text', 'named'), ev(id2, '{"a":1}'), ev(id3, '7')]);
      expect(await publishCounters(gw.adminUrl)).toMatchObject({ history: 3 });
      stream.close();
    });

    it.each([
      ['an invalid topic', () => ['lib/*', 'x', {}] as const, 'INVALID_TOPIC'],
      [
        'an invalid event name',
        () => ['lib', 'x', { event: 'ssehub.x' }] as const,
        'INVALID_EVENT_NAME',
      ],
      ['data over MAX_EVENT_BYTES', () => ['lib', 'x'.repeat(11), {}] as const, 'EVENT_TOO_LARGE'],
      ['data that is not JSON', () => ['lib', undefined, {}] as const, 'INVALID_BODY'],
    ])(
      'gateway.publish with %s rejects with a GatewayError and stores nothing',
      async (_what, args, code) => {
        await using gw = await startGateway({ brokerKind, maxEventBytes: 10 });
        const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
        await expectNothingStoredBy(gw, all, async () => {
          const [topic, data, options] = args();
          const error: unknown = await gw.gateway.publish(topic, data, options).then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(error).toBeInstanceOf(GatewayError);
          expect((error as GatewayError).code).toBe(code);
        });
        all.close();
      },
    );

    it('gateway.publish conflicts on a reused key with other content', async () => {
      await using gw = await startGateway({ brokerKind });
      await gw.gateway.publish('lib', 'a', { idempotencyKey: 'k' });
      await expect(gw.gateway.publish('lib', 'b', { idempotencyKey: 'k' })).rejects.toMatchObject({
        code: 'IDEMPOTENCY_CONFLICT',
        status: 409,
      });
    });
  });
});

describe('ADMIN_TOKEN', () => {
  const token = 's3cret-admin-token';

  it('is required on both publish routes; health and metrics do not need it', async () => {
    await using gw = await startGateway({ adminToken: token });
    const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
    const authed = async (topic: string, data: string): Promise<string> =>
      idOf(await postRaw(gw, topic, data, { authorization: `Bearer ${token}` }));
    await expectNothingStoredBy(
      gw,
      all,
      async () => {
        const cases: [string, Record<string, string>][] = [
          ['no header', {}],
          ['a wrong token', { authorization: 'Bearer nope' }],
          ['a token with a suffix', { authorization: `Bearer ${token}x` }],
          ['a prefix of the token', { authorization: `Bearer ${token.slice(0, -1)}` }],
          ['another scheme', { authorization: `Basic ${token}` }],
          ['the bare token', { authorization: token }],
        ];
        for (const [what, headers] of cases) {
          const raw = await postRaw(gw, 'pets', 'x', headers);
          expectError(raw, 401, 'UNAUTHORIZED', /Authorization: Bearer/);
          expect(raw.headers.get('www-authenticate'), what).toMatch(/^Bearer/);
          expectError(
            await postJson(gw.adminUrl, { topic: 'pets', data: 'x' }, headers),
            401,
            'UNAUTHORIZED',
            /ADMIN_TOKEN/,
          );
          expectError(
            await postJson(gw.adminUrl, { events: [{ topic: 'pets', data: 'x' }] }, headers),
            401,
            'UNAUTHORIZED',
            /ADMIN_TOKEN/,
          );
        }
        // The token is checked before the request itself.
        expectError(await postRaw(gw, 'pets/*', 'x'), 401, 'UNAUTHORIZED', /ADMIN_TOKEN/);
      },
      { publish: authed },
    );

    const headers = { authorization: `Bearer ${token}` };
    const id = idOf(await postRaw(gw, 'pets?event=ok', 'raw', headers));
    const id2 = idOf(await postJson(gw.adminUrl, { topic: 'pets', data: 'json' }, headers));
    const ids = idsOf(
      await postJson(
        gw.adminUrl,
        { events: [{ topic: 'pets', data: 'batch' }] },
        { authorization: `bearer ${token}` },
      ),
    );
    await all.waitForEvents(5);
    expect(all.events.slice(2)).toEqual([
      ev(id, 'raw', 'ok'),
      ev(id2, 'json'),
      ev(ids[0] ?? '', 'batch'),
    ]);

    for (const path of ['/healthz', '/readyz', '/metrics', '/admin/api/stats']) {
      expect((await request(`${gw.adminUrl}${path}`)).status, path).toBe(200);
    }
    all.close();
  });
});

describe('publish routes on the public port', () => {
  it('answer 403 FORBIDDEN with auth off and PLAYGROUND off, storing nothing', async () => {
    await using gw = await startGateway({ playground: false });
    const all = await subscribe(`${gw.publicUrl}/subscribe?topic=**`);
    await expectNothingStoredBy(gw, all, async () => {
      expectError(
        await request(`${gw.publicUrl}/publish/pets?event=x`, { method: 'POST', body: 'x' }),
        403,
        'FORBIDDEN',
        /admin port/,
      );
      expectError(
        await request(`${gw.publicUrl}/publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ topic: 'pets', data: 'x' }),
        }),
        403,
        'FORBIDDEN',
        /PLAYGROUND/,
      );
    });
    all.close();
  });

  it('publish and deliver with auth off and PLAYGROUND on', async () => {
    await using gw = await startGateway({ playground: true });
    const stream = await subscribe(`${gw.publicUrl}/subscribe/pets`);
    const id = idOf(
      await request(`${gw.publicUrl}/publish/pets/dogs?event=new-dog`, {
        method: 'POST',
        body: 'Corgi',
      }),
    );
    const id2 = idOf(await postJson(gw.publicUrl, { topic: 'pets', data: { n: 1 } }));
    const ids = idsOf(
      await postJson(gw.publicUrl, { events: [{ topic: 'pets/cats', data: 'Tom' }] }),
    );
    await stream.waitForEvents(3);
    expect(stream.events).toEqual([
      ev(id, 'Corgi', 'new-dog'),
      ev(id2, '{"n":1}'),
      ev(ids[0] ?? '', 'Tom'),
    ]);
    // Validation still applies there.
    expectError(
      await postJson(gw.publicUrl, { topic: 'pets/*', data: 'x' }),
      400,
      'INVALID_TOPIC',
      /Topic/,
    );
    stream.close();
  });
});

describe('methods and unknown routes', () => {
  it.each([['GET'], ['PUT'], ['DELETE'], ['PATCH']])(
    '%s on a publish route is 405 with Allow: POST',
    async (method) => {
      await using gw = await startGateway();
      for (const url of [
        `${gw.adminUrl}/publish`,
        `${gw.adminUrl}/publish/pets`,
        `${gw.publicUrl}/publish/pets`,
      ]) {
        const res = await request(url, { method });
        expectError(res, 405, 'METHOD_NOT_ALLOWED', /POST/);
        expect(res.headers.get('allow'), url).toMatch(/^POST\b/);
      }
      expect(await publishCounters(gw.adminUrl)).toEqual({ history: 0, published: 0 });
    },
  );

  it('HEAD on a publish route is 405 and OPTIONS on the admin port names the methods', async () => {
    await using gw = await startGateway();
    const head = await request(`${gw.adminUrl}/publish/pets`, { method: 'HEAD' });
    expect(head.status).toBe(405);
    const options = await request(`${gw.adminUrl}/publish/pets`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it.each([
    ['/'],
    ['/nope'],
    ['/publishx'],
    ['/publish-it/pets'],
    ['/subscribe/pets'],
    ['/admin/api/nope'],
  ])('an unknown admin route %s is a JSON 404', async (path) => {
    await using gw = await startGateway();
    for (const method of ['GET', 'POST']) {
      expectError(await request(`${gw.adminUrl}${path}`, { method }), 404, 'NOT_FOUND', /No route/);
    }
  });
});
