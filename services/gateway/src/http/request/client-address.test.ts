import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress } from './client-address.js';

/** Only the two fields clientAddress reads. */
function req(remoteAddress: string | undefined, xff?: string | string[]): IncomingMessage {
  const headers: Record<string, string | string[]> = {};
  if (xff !== undefined) headers['x-forwarded-for'] = xff;
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

describe('clientAddress', () => {
  it('is the socket address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress(req('10.1.1.1', '203.0.113.1'), 0)).toBe('10.1.1.1');
    expect(clientAddress(req('10.1.1.1'), 0)).toBe('10.1.1.1');
  });

  it('takes the entry the outermost trusted proxy appended', () => {
    expect(clientAddress(req('10.1.1.1', '203.0.113.1'), 1)).toBe('203.0.113.1');
    expect(clientAddress(req('10.1.1.1', 'spoofed, 203.0.113.1'), 1)).toBe('203.0.113.1');
    expect(clientAddress(req('10.1.1.1', 'spoofed, 203.0.113.1, 10.0.0.2'), 2)).toBe('203.0.113.1');
    expect(clientAddress(req('10.1.1.1', ' 203.0.113.1 ,10.0.0.2 '), 2)).toBe('203.0.113.1');
  });

  it('joins repeated X-Forwarded-For headers in order', () => {
    expect(clientAddress(req('10.1.1.1', ['spoofed', '203.0.113.1, 10.0.0.2']), 2)).toBe(
      '203.0.113.1',
    );
  });

  it('takes the leftmost entry when there are fewer entries than trusted hops', () => {
    expect(clientAddress(req('10.1.1.1', '203.0.113.1'), 3)).toBe('203.0.113.1');
  });

  it('falls back to the socket address when the header is missing or empty', () => {
    expect(clientAddress(req('10.1.1.1'), 1)).toBe('10.1.1.1');
    expect(clientAddress(req('10.1.1.1', ''), 1)).toBe('10.1.1.1');
    expect(clientAddress(req('10.1.1.1', ' , '), 1)).toBe('10.1.1.1');
  });

  it('names a socket without an address', () => {
    expect(clientAddress(req(undefined), 0)).toBe('unknown');
  });
});
