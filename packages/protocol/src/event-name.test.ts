import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { RESET_EVENT, isValidEventName, parseEventName } from './event-name.js';

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

describe('RESET_EVENT', () => {
  it('is ssehub.reset, which publishers cannot use', () => {
    expect(RESET_EVENT).toBe('ssehub.reset');
    expect(isValidEventName(RESET_EVENT)).toBe(false);
  });
});

describe('parseEventName', () => {
  it.each([
    'new-dog',
    'a',
    'A_b.c:d-e',
    '0',
    'x'.repeat(64),
    'Error',
    'OPEN',
    'message',
    'ssehub',
    'ssehubx.y',
    'SSEHUB.reset',
    'x.ssehub.y',
  ])('accepts %j unchanged', (name) => {
    expect(parseEventName(name)).toBe(name);
    expect(isValidEventName(name)).toBe(true);
  });

  it.each([
    ['', /1 to 64 characters/],
    ['x'.repeat(65), /1 to 64 characters/],
    ['a b', /A-Z a-z 0-9 _ \. : -/],
    ['new/dog', /1 to 64 characters/],
    ['é', /1 to 64 characters/],
    ['a\nb', /1 to 64 characters/],
    ['a~b', /1 to 64 characters/],
    ['ssehub.reset', /reserved/],
    ['ssehub.', /reserved/],
    ['ssehub.anything', /reserved/],
    ['error', /EventSource/],
    ['open', /EventSource/],
  ])('refuses %j', (name, message) => {
    const error = thrown(() => parseEventName(name));
    expect(error.code).toBe('INVALID_EVENT_NAME');
    expect(error.message).toMatch(message);
    expect(isValidEventName(name)).toBe(false);
  });

  it('agrees with a reference rule on arbitrary strings', () => {
    const unit = fc.constantFrom(
      'a',
      'Z',
      '9',
      '_',
      '.',
      ':',
      '-',
      ' ',
      '/',
      'é',
      's',
      'e',
      'h',
      'u',
      'b',
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit, maxLength: 70 }), fc.string()), (name) => {
        const expected =
          /^[A-Za-z0-9_.:-]{1,64}$/.test(name) &&
          !name.startsWith('ssehub.') &&
          name !== 'error' &&
          name !== 'open';
        expect(isValidEventName(name)).toBe(expected);
        if (expected) expect(parseEventName(name)).toBe(name);
        else expect(thrown(() => parseEventName(name)).code).toBe('INVALID_EVENT_NAME');
      }),
      { numRuns: 1000 },
    );
  });
});
