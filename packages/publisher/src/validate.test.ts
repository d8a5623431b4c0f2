import { describe, expect, it } from 'vitest';
import { PublisherError } from './errors.js';
import { MAX_IDEMPOTENCY_KEY_LENGTH, checkSize, prepareEvent } from './validate.js';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(PublisherError);
    return (err as PublisherError).code;
  }
  return 'none';
}

describe('prepareEvent', () => {
  it('normalizes the topic and keeps string data verbatim', () => {
    const e = prepareEvent({ topic: '/pets/dogs', data: ' raw\ntext ' }, 'publish()');
    expect(e).toMatchObject({ topic: 'pets/dogs', event: '', data: ' raw\ntext ' });
  });

  it('serializes any other JSON value once', () => {
    expect(prepareEvent({ topic: 'a', data: { a: [1, null] } }, 'x').data).toBe('{"a":[1,null]}');
    expect(prepareEvent({ topic: 'a', data: null }, 'x').data).toBe('null');
    expect(prepareEvent({ topic: 'a', data: 0 }, 'x').data).toBe('0');
    expect(prepareEvent({ topic: 'a', data: false }, 'x').data).toBe('false');
  });

  it('counts UTF-8 bytes', () => {
    expect(prepareEvent({ topic: 'a', data: 'é€😀' }, 'x').bytes).toBe(2 + 3 + 4);
  });

  it('refuses values without a JSON form', () => {
    expect(codeOf(() => prepareEvent({ topic: 'a', data: () => 1 }, 'x'))).toBe('INVALID_DATA');
    expect(codeOf(() => prepareEvent({ topic: 'a', data: Symbol('s') }, 'x'))).toBe('INVALID_DATA');
    expect(codeOf(() => prepareEvent({ topic: 'a', data: 'x\uDC00' }, 'x'))).toBe('INVALID_DATA');
  });

  it('checks idempotency keys', () => {
    const key = (idempotencyKey: string) => () =>
      prepareEvent({ topic: 'a', data: 1, idempotencyKey }, 'x');
    expect(codeOf(key(''))).toBe('INVALID_OPTIONS');
    expect(codeOf(key('é'))).toBe('INVALID_OPTIONS');
    expect(codeOf(key('k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH + 1)))).toBe('INVALID_OPTIONS');
    expect(codeOf(key('k'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH)))).toBe('none');
  });

  it('names where the bad value came from', () => {
    expect(() => prepareEvent({ topic: 'a b', data: 1 }, 'publishMany() event 3')).toThrow(
      /^publishMany\(\) event 3: /,
    );
  });
});

describe('checkSize', () => {
  it('allows exactly the limit and refuses one byte more', () => {
    const e = prepareEvent({ topic: 'a', data: 'x'.repeat(10) }, 'publish()');
    expect(() => {
      checkSize(e, 10);
    }).not.toThrow();
    expect(
      codeOf(() => {
        checkSize(e, 9);
      }),
    ).toBe('EVENT_TOO_LARGE');
  });
});

describe('PublisherError', () => {
  it('keeps code, name, cause and ids', () => {
    const cause = new Error('boom');
    const err = new PublisherError('BROKER_UNAVAILABLE', 'Retry.', { cause, ids: ['a', null] });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('PublisherError');
    expect(err.code).toBe('BROKER_UNAVAILABLE');
    expect(err.cause).toBe(cause);
    expect(err.ids).toEqual(['a', null]);
    expect(new PublisherError('CLOSED', 'x').ids).toBeUndefined();
  });
});
