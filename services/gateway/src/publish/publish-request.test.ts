import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import {
  MAX_BATCH_EVENTS,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  parseJsonPublish,
  validateEvent,
  validateKey,
  type RawEvent,
} from './publish-request.js';

const limits = { maxEventBytes: 65_536 };

function raw(fields: Partial<RawEvent> & { readonly data?: unknown }): RawEvent {
  return {
    topic: fields.topic ?? 'pets/dogs',
    event: fields.event,
    data: fields.data,
    idempotencyKey: fields.idempotencyKey,
    hasData: fields.hasData ?? true,
  };
}

/** The GatewayError `fn` throws (fails the test when it throws nothing or something else). */
function caught(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw new Error(`expected a GatewayError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a GatewayError, nothing was thrown');
}

describe('validateEvent', () => {
  it('normalizes the topic and keeps a string verbatim', () => {
    expect(
      validateEvent(raw({ topic: '/pets/dogs', event: 'new-dog', data: ' a\r\nb ' }), limits),
    ).toEqual({
      topic: 'pets/dogs',
      event: 'new-dog',
      data: ' a\r\nb ',
      idempotencyKey: undefined,
    });
  });

  it.each([
    [{ name: 'Rex', tags: ['a', 'b'] }, '{"name":"Rex","tags":["a","b"]}'],
    [[1, 'two', null], '[1,"two",null]'],
    [42.5, '42.5'],
    [0, '0'],
    [true, 'true'],
    [false, 'false'],
    [null, 'null'],
    ['', ''],
  ])('sends %j as the text %j', (data, text) => {
    expect(validateEvent(raw({ data }), limits).data).toBe(text);
  });

  it('treats an absent or null event name as unnamed', () => {
    expect(validateEvent(raw({ data: 'x' }), limits).event).toBeUndefined();
    expect(validateEvent(raw({ event: null, data: 'x' }), limits).event).toBeUndefined();
  });

  it.each([
    ['', 'INVALID_TOPIC'],
    ['/', 'INVALID_TOPIC'],
    ['pets/', 'INVALID_TOPIC'],
    ['pets//dogs', 'INVALID_TOPIC'],
    ['pets/*', 'INVALID_TOPIC'],
    ['**', 'INVALID_TOPIC'],
    ['pets/..', 'INVALID_TOPIC'],
    ['pets dogs', 'INVALID_TOPIC'],
    ['a'.repeat(65), 'INVALID_TOPIC'],
    [Array.from({ length: 17 }, () => 'a').join('/'), 'INVALID_TOPIC'],
    [42, 'INVALID_BODY'],
    [null, 'INVALID_BODY'],
    [undefined, 'INVALID_BODY'],
    [['pets'], 'INVALID_BODY'],
  ])('refuses the topic %j with %s', (topic, code) => {
    const err = caught(() => validateEvent({ ...raw({ data: 'x' }), topic }, limits));
    expect(err.code).toBe(code);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/topic/i);
  });

  it.each([
    ['', 'INVALID_EVENT_NAME'],
    ['x'.repeat(65), 'INVALID_EVENT_NAME'],
    ['new dog', 'INVALID_EVENT_NAME'],
    ['new/dog', 'INVALID_EVENT_NAME'],
    ['ssehub.reset', 'INVALID_EVENT_NAME'],
    ['ssehub.x', 'INVALID_EVENT_NAME'],
    ['error', 'INVALID_EVENT_NAME'],
    ['open', 'INVALID_EVENT_NAME'],
    [7, 'INVALID_BODY'],
    [{ name: 'x' }, 'INVALID_BODY'],
  ])('refuses the event name %j with %s', (event, code) => {
    const err = caught(() => validateEvent(raw({ event, data: 'x' }), limits));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(/event/i);
  });

  it('accepts the longest event name and names that only look reserved', () => {
    for (const name of ['x'.repeat(64), 'Error', 'OPEN', 'ssehub', 'my.ssehub.x', 'a:b_c-d.e']) {
      expect(validateEvent(raw({ event: name, data: 'x' }), limits).event).toBe(name);
    }
  });

  it('refuses a missing data field', () => {
    const err = caught(() => validateEvent(raw({ hasData: false }), limits));
    expect(err.code).toBe('INVALID_BODY');
    expect(err.message).toBe('data is missing.');
  });

  it('counts the size in UTF-8 bytes, not characters', () => {
    const small = { maxEventBytes: 10 };
    expect(validateEvent(raw({ data: '€€€' }), small).data).toBe('€€€'); // 9 bytes
    expect(validateEvent(raw({ data: 'x€€€' }), small).data).toBe('x€€€'); // 10 bytes
    const err = caught(() => validateEvent(raw({ data: '€€€€' }), small)); // 12 bytes, 4 characters
    expect(err.code).toBe('EVENT_TOO_LARGE');
    expect(err.status).toBe(413);
    expect(err.message).toBe('data is 12 bytes; the limit is 10 (MAX_EVENT_BYTES).');
  });

  it('measures a JSON value by its JSON text', () => {
    // {"a":"bcd"} is 11 bytes.
    expect(
      caught(() => validateEvent(raw({ data: { a: 'bcd' } }), { maxEventBytes: 10 })).code,
    ).toBe('EVENT_TOO_LARGE');
    expect(validateEvent(raw({ data: { a: 'bc' } }), { maxEventBytes: 10 }).data).toBe(
      '{"a":"bc"}',
    );
  });

  it('refuses data with a lone surrogate, which UTF-8 cannot carry, and keeps surrogate pairs', () => {
    for (const data of ['\ud800', 'a\udc00b', '\ude00\ud83d']) {
      expect(caught(() => validateEvent(raw({ data }), limits)).code).toBe('INVALID_BODY');
    }
    // Inside a JSON value it is written as the escape \ud800, which is plain ASCII.
    expect(validateEvent(raw({ data: { s: '\ud800' } }), limits).data).toBe('{"s":"\\ud800"}');
    expect(validateEvent(raw({ data: '\ud83d\ude00' }), limits).data).toBe('😀');
  });

  it('refuses data that has no JSON text (library callers)', () => {
    for (const data of [undefined, () => 1, Symbol('x'), 10n]) {
      const err = caught(() => validateEvent(raw({ data }), limits));
      expect(err.code).toBe('INVALID_BODY');
      expect(err.message).toMatch(/^data /);
    }
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(caught(() => validateEvent(raw({ data: cyclic }), limits)).code).toBe('INVALID_BODY');
  });

  it('prefixes messages with the position in a batch', () => {
    const err = caught(() => validateEvent(raw({ hasData: false }), limits, 'events[3]'));
    expect(err.message).toBe('events[3].data is missing.');
    expect(
      caught(() => validateEvent(raw({ topic: 'a/*', data: 'x' }), limits, 'events[0]')).message,
    ).toMatch(/^events\[0\]\.topic: /);
  });

  it('checks the topic before the event name, and both before the size', () => {
    const tiny = { maxEventBytes: 1 };
    expect(
      caught(() => validateEvent(raw({ topic: '*', event: 'error', data: 'xx' }), tiny)).code,
    ).toBe('INVALID_TOPIC');
    expect(caught(() => validateEvent(raw({ event: 'error', data: 'xx' }), tiny)).code).toBe(
      'INVALID_EVENT_NAME',
    );
  });
});

describe('validateKey', () => {
  it('passes absent keys and printable ASCII keys through', () => {
    expect(validateKey(undefined, 'k')).toBeUndefined();
    expect(validateKey(null, 'k')).toBeUndefined();
    expect(validateKey('order-42:v1', 'k')).toBe('order-42:v1');
    expect(validateKey('~'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH), 'k')).toHaveLength(
      MAX_IDEMPOTENCY_KEY_LENGTH,
    );
  });

  it.each([
    [''],
    ['a b'],
    ['é'],
    ['x'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1)],
    [42],
    [{}],
    ['tab\there'],
  ])('refuses %j as INVALID_BODY naming the field', (key) => {
    const err = caught(() => validateKey(key, 'Idempotency-Key'));
    expect(err.code).toBe('INVALID_BODY');
    expect(err.message).toMatch(/^Idempotency-Key must be/);
  });
});

describe('parseJsonPublish', () => {
  it('reads one event, with the header key or the field key', () => {
    expect(parseJsonPublish({ topic: 'a', event: 'e', data: 'd' }, undefined, limits)).toEqual({
      batch: false,
      events: [{ topic: 'a', event: 'e', data: 'd', idempotencyKey: undefined }],
    });
    expect(
      parseJsonPublish({ topic: 'a', data: 'd' }, 'hk', limits).events[0]?.idempotencyKey,
    ).toBe('hk');
    expect(
      parseJsonPublish({ topic: 'a', data: 'd', idempotencyKey: 'fk' }, undefined, limits).events[0]
        ?.idempotencyKey,
    ).toBe('fk');
    expect(
      parseJsonPublish({ topic: 'a', data: 'd', idempotencyKey: 'same' }, 'same', limits).events[0]
        ?.idempotencyKey,
    ).toBe('same');
  });

  it('refuses a header key and a field key that differ', () => {
    const err = caught(() =>
      parseJsonPublish({ topic: 'a', data: 'd', idempotencyKey: 'x' }, 'y', limits),
    );
    expect(err.code).toBe('INVALID_BODY');
  });

  it.each([[[]], [['a']], ['text'], [42], [null], [true]])(
    'refuses the body %j: not an object',
    (body) => {
      const err = caught(() => parseJsonPublish(body, undefined, limits));
      expect(err.code).toBe('INVALID_BODY');
      expect(err.message).toMatch(/JSON object/);
    },
  );

  it('reads a batch in order, with a key per event', () => {
    const result = parseJsonPublish(
      {
        events: [
          { topic: 'a', data: '1', idempotencyKey: 'k1' },
          { topic: '/b', event: 'n', data: { x: 1 } },
        ],
      },
      undefined,
      limits,
    );
    expect(result).toEqual({
      batch: true,
      events: [
        { topic: 'a', event: undefined, data: '1', idempotencyKey: 'k1' },
        { topic: 'b', event: 'n', data: '{"x":1}', idempotencyKey: undefined },
      ],
    });
  });

  it(`accepts ${MAX_BATCH_EVENTS} events and refuses one more with BATCH_TOO_LARGE`, () => {
    const events = Array.from({ length: MAX_BATCH_EVENTS }, (_, i) => ({
      topic: 't',
      data: String(i),
    }));
    expect(parseJsonPublish({ events }, undefined, limits).events).toHaveLength(MAX_BATCH_EVENTS);
    const err = caught(() =>
      parseJsonPublish({ events: [...events, { topic: 't', data: 'x' }] }, undefined, limits),
    );
    expect(err.code).toBe('BATCH_TOO_LARGE');
    expect(err.status).toBe(413);
    expect(err.message).toMatch(/1001/);
  });

  it.each([[[]], [null], ['x'], [{ topic: 'a', data: 'd' }]])('refuses "events": %j', (events) => {
    const err = caught(() => parseJsonPublish({ events }, undefined, limits));
    expect(err.code).toBe('INVALID_BODY');
    expect(err.message).toMatch(/"events"/);
  });

  it('refuses an Idempotency-Key header on a batch', () => {
    const err = caught(() =>
      parseJsonPublish({ events: [{ topic: 'a', data: 'd' }] }, 'k', limits),
    );
    expect(err.code).toBe('INVALID_BODY');
    expect(err.message).toMatch(/Idempotency-Key header/);
  });

  it('validates the whole batch and names the bad position', () => {
    const events = [{ topic: 'a', data: '1' }, { topic: 'b', data: '2' }, 'not an object'];
    expect(caught(() => parseJsonPublish({ events }, undefined, limits)).message).toBe(
      'events[2] must be an object.',
    );
    const badLast = [
      { topic: 'a', data: '1' },
      { topic: 'b', event: 'open', data: '2' },
    ];
    const err = caught(() => parseJsonPublish({ events: badLast }, undefined, limits));
    expect(err.code).toBe('INVALID_EVENT_NAME');
    expect(err.message).toMatch(/^events\[1\]\.event: /);
  });
});
