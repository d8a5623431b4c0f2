import { describe, expect, it } from 'vitest';
import { encodeEventId, streamIdToPosition } from './event-id.js';
import { encodeFrame } from './frame.js';
import {
  MESSAGE_VERSION,
  RELAY_SKIP_REASONS,
  parseRelayedMessage,
  type RelaySkipReason,
} from './relayed-message.js';

describe('parseRelayedMessage', () => {
  it('reads the five header lines and keeps every newline of the data', () => {
    expect(
      parseRelayedMessage(
        `${MESSAGE_VERSION}\nAbCd\n1763800000000-5\npets/dogs\nnew-dog\nline 1\nline 2\r\n`,
      ),
    ).toEqual({
      ok: true,
      message: {
        epoch: 'AbCd',
        streamId: '1763800000000-5',
        topic: 'pets/dogs',
        event: 'new-dog',
        data: 'line 1\nline 2\r\n',
      },
    });
  });

  it('reads an empty event name as an unnamed event, and empty data as empty', () => {
    expect(parseRelayedMessage('1\nAbCd\n1-0\nt\n\n')).toEqual({
      ok: true,
      message: { epoch: 'AbCd', streamId: '1-0', topic: 't', event: undefined, data: '' },
    });
  });

  // Each of these once made every gateway subscribed to the channel exit with a ProtocolError
  // thrown from the message handler (encodeEventId, streamIdToPosition or the frame encoder).
  it.each<[RelaySkipReason, string, string]>([
    ['format', 'plain text', 'hello'],
    ['format', 'too few lines', '1\nAbCd\n1-0\nt'],
    ['format', 'nothing', ''],
    ['version', 'another version', '2\nAbCd\n1-0\nt\ne\nd'],
    ['version', 'another version with fewer lines', '2\nAbCd'],
    ['version', 'a version line with a CR', '1\r\nAbCd\n1-0\nt\n\nd'],
    ['epoch', 'no epoch', '1\n\n1-0\nt\ne\nd'],
    ['epoch', 'an epoch of the wrong length', '1\nXX\n1-1\na\n\nx'],
    ['epoch', 'an epoch that is too long', '1\nAbCdE\n1-1\na\n\nx'],
    ['epoch', 'an epoch outside base62', '1\nAb-d\n1-1\na\n\nx'],
    ['stream_id', 'a stream id that is not ms-seq', '1\nAbCd\nabc\nt\ne\nd'],
    [
      'stream_id',
      'a 20-digit stream id (above MAX_SAFE_INTEGER)',
      '1\nAbCd\n18446744073709551615-1\na\n\nx',
    ],
    ['stream_id', 'a seq above MAX_SAFE_INTEGER', '1\nAbCd\n1-9007199254740993\na\n\nx'],
    ['stream_id', 'ms beyond what an id holds (62^7)', '1\nAbCd\n3521614606208-0\na\n\nx'],
    ['stream_id', 'leading zeros', '1\nAbCd\n01-0\na\n\nx'],
    ['topic', 'no topic', '1\nAbCd\n1-0\n\ne\nd'],
    ['topic', 'an invalid topic', '1\nAbCd\n1-0\nbad topic\n\nx'],
    ['topic', 'a trailing slash', '1\nAbCd\n1-0\na/\n\nx'],
    ['topic', 'a topic that is not normalized', '1\nAbCd\n1-0\n/a\n\nx'],
    ['topic', 'a CR in the topic', '1\nAbCd\n1-0\na\r\n\nx'],
    ['event_name', 'a CR in the event name', '1\nAbCd\n1-1\na\nev\rdata: injected\nx'],
    ['event_name', 'a reserved name', '1\nAbCd\n1-1\na\nssehub.reset\nx'],
    ['event_name', 'a name EventSource uses', '1\nAbCd\n1-1\na\nerror\nx'],
    ['event_name', 'a name that is too long', `1\nAbCd\n1-1\na\n${'e'.repeat(65)}\nx`],
  ])('skips a message with %s: %s (written by something else)', (reason, _why, message) => {
    expect(parseRelayedMessage(message)).toEqual({ ok: false, reason });
  });

  it('lists every reason once', () => {
    expect(new Set(RELAY_SKIP_REASONS).size).toBe(RELAY_SKIP_REASONS.length);
    expect(RELAY_SKIP_REASONS).toEqual([
      'format',
      'version',
      'epoch',
      'stream_id',
      'topic',
      'event_name',
    ]);
  });

  it('accepts only messages that encode into an id and a frame without throwing', () => {
    // The largest ms an id holds, the largest seq JavaScript keeps exact.
    const result = parseRelayedMessage(
      `1\nzzzz\n3521614606207-${Number.MAX_SAFE_INTEGER}\na/b\nok\nx`,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { epoch, streamId, event, data } = result.message;
    const id = encodeEventId([{ epoch, shard: 0, position: streamIdToPosition(streamId) }]);
    expect(encodeFrame({ id, event, data })).toContain('event: ok\n');
  });

  it('never throws, whatever the input', () => {
    const pieces = [
      '1',
      '\n',
      '\r',
      'AbCd',
      '1-0',
      'a',
      '/',
      '',
      'ssehub.x',
      '99999999999999999999',
    ];
    for (let i = 0; i < 2000; i++) {
      let message = '';
      for (let k = 0; k < 12; k++)
        message += pieces[(i * 7 + k * 13 + ((i >> k) & 3)) % pieces.length] ?? '';
      expect(() => parseRelayedMessage(message)).not.toThrow();
    }
  });
});
