import { ProtocolError, parseEventName, parseTopic } from '@ssehub/protocol';
import { describe, expect, it } from 'vitest';
import { GatewayError, parseClientInput } from './errors.js';

describe('parseClientInput', () => {
  it('returns what the parser returned', () => {
    expect(parseClientInput(() => parseTopic('pets/dogs'))).toBe('pets/dogs');
  });

  it("answers a refused topic as a 400 INVALID_TOPIC with the protocol's message", () => {
    const thrown = catchError(() => parseClientInput(() => parseTopic('a//b')));
    expect(thrown).toBeInstanceOf(GatewayError);
    expect(thrown).toMatchObject({ code: 'INVALID_TOPIC', status: 400, expose: true });
    expect((thrown as GatewayError).cause).toBeInstanceOf(ProtocolError);
    expect((thrown as GatewayError).message).toBe(
      ((thrown as GatewayError).cause as ProtocolError).message,
    );
  });

  it('keeps the code of a refused event name and prefixes where the input was', () => {
    const thrown = catchError(() =>
      parseClientInput(() => parseEventName('a\nb'), 'events[2].event'),
    );
    expect(thrown).toMatchObject({ code: 'INVALID_EVENT_NAME', status: 400 });
    expect((thrown as GatewayError).message).toMatch(/^events\[2\]\.event: /);
  });

  it("rethrows INVALID_FIELD and other errors as they are: they are not the client's", () => {
    const field = new ProtocolError('INVALID_FIELD', 'a frame field');
    expect(
      catchError(() =>
        parseClientInput(() => {
          throw field;
        }),
      ),
    ).toBe(field);
    const other = new TypeError('boom');
    expect(
      catchError(() =>
        parseClientInput(() => {
          throw other;
        }),
      ),
    ).toBe(other);
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
