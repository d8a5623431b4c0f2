import { describe, expect, it } from 'vitest';
import { ProtocolError, type ProtocolErrorCode } from './errors.js';

describe('ProtocolError', () => {
  it('is an Error with a name, a code and a message', () => {
    const error = new ProtocolError('INVALID_TOPIC', 'Topic is empty.');
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error.name).toBe('ProtocolError');
    expect(error.code).toBe('INVALID_TOPIC');
    expect(error.message).toBe('Topic is empty.');
    expect(String(error)).toBe('ProtocolError: Topic is empty.');
    expect(error.stack).toContain('ProtocolError');
  });

  it('keeps the cause it was given', () => {
    const cause = new Error('inner');
    expect(new ProtocolError('INVALID_FIELD', 'Outer.', { cause }).cause).toBe(cause);
    expect(new ProtocolError('INVALID_FIELD', 'Outer.').cause).toBeUndefined();
  });

  it.each<ProtocolErrorCode>([
    'INVALID_TOPIC',
    'INVALID_EVENT_NAME',
    'INVALID_LAST_EVENT_ID',
    'INVALID_FIELD',
  ])('carries code %s', (code) => {
    expect(new ProtocolError(code, 'x').code).toBe(code);
  });
});
