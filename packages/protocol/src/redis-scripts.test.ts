import { describe, expect, it } from 'vitest';
import { MESSAGE_VERSION, parseRelayedMessage } from './redis-scripts.js';

describe('parseRelayedMessage', () => {
  it('reads the five header lines and keeps every newline of the data', () => {
    expect(
      parseRelayedMessage(
        `${MESSAGE_VERSION}\nAbCd\n1763800000000-5\npets/dogs\nnew-dog\nline 1\nline 2\r\n`,
      ),
    ).toEqual({
      epoch: 'AbCd',
      streamId: '1763800000000-5',
      topic: 'pets/dogs',
      event: 'new-dog',
      data: 'line 1\nline 2\r\n',
    });
  });

  it('reads an empty event name as an unnamed event, and empty data as empty', () => {
    expect(parseRelayedMessage('1\nAbCd\n1-0\nt\n\n')).toEqual({
      epoch: 'AbCd',
      streamId: '1-0',
      topic: 't',
      event: undefined,
      data: '',
    });
  });

  it.each([
    ['another version', '2\nAbCd\n1-0\nt\ne\nd'],
    ['too few lines', '1\nAbCd\n1-0\nt'],
    ['no epoch', '1\n\n1-0\nt\ne\nd'],
    ['a stream id that is not ms-seq', '1\nAbCd\nabc\nt\ne\nd'],
    ['no topic', '1\nAbCd\n1-0\n\ne\nd'],
    ['plain text', 'hello'],
  ])('rejects a message with %s (written by something else)', (_why, message) => {
    expect(parseRelayedMessage(message)).toBeUndefined();
  });
});
