/**
 * The message every writer publishes on a shard's channels (src/scripts/publish.lua),
 * and its parser. Anyone with access to Redis can publish on an ssehub channel, so a replica
 * must never trust a message: every field is checked with the same validators that guard
 * publishing, so a message that passes can be encoded into an id and an SSE frame without
 * throwing, and one that fails is skipped and counted, never a crash (SPEC.md sections 9, 10).
 *
 * Payload: `1\n<epoch>\n<stream id>\n<topic>\n<event name or empty>\n<data>`. Topic and event
 * name cannot contain a newline; the data is everything after the fifth one.
 */
import { isValidEventName } from './event-name.js';
import { EPOCH_LENGTH, MS_LIMIT, streamIdToPosition, type StreamPosition } from './event-id.js';
import { isValidTopic } from './topic.js';

/** First line of every relayed message. */
export const MESSAGE_VERSION = '1';

/** A relayed message, parsed and validated. */
export interface RelayedMessage {
  /** The shard's epoch: exactly {@link EPOCH_LENGTH} base62 characters. */
  readonly epoch: string;
  /** The Redis stream id `<ms>-<seq>`; both parts safe integers, ms below 62^7. */
  readonly streamId: string;
  /** A valid topic in normalized form (no leading `/`). */
  readonly topic: string;
  /** A valid event name, or undefined for an unnamed event. */
  readonly event: string | undefined;
  /** The published text, verbatim. */
  readonly data: string;
}

/**
 * Why a relayed message was skipped, the `reason` label of
 * `ssehub_relay_messages_skipped_total` (SPEC.md section 10):
 *
 * - `format`: fewer than six lines (not an ssehub message at all);
 * - `version`: a first line other than {@link MESSAGE_VERSION} (another protocol version);
 * - `epoch`: not exactly {@link EPOCH_LENGTH} characters from `0-9 A-Z a-z`;
 * - `stream_id`: not `<ms>-<seq>` with safe integers, or ms beyond what an event id holds;
 * - `topic`: not a topic (SPEC.md section 2), or not in normalized form;
 * - `event_name`: a name outside the SPEC.md section 4 rule (`\r`, reserved, too long, …).
 */
export type RelaySkipReason = 'format' | 'version' | 'epoch' | 'stream_id' | 'topic' | 'event_name';

/** Every {@link RelaySkipReason}, in the order the parser checks them. */
export const RELAY_SKIP_REASONS: readonly RelaySkipReason[] = Object.freeze([
  'format',
  'version',
  'epoch',
  'stream_id',
  'topic',
  'event_name',
]);

/** What {@link parseRelayedMessage} found: the message, or why it must be skipped. */
export type RelayedMessageResult =
  | { readonly ok: true; readonly message: RelayedMessage }
  | { readonly ok: false; readonly reason: RelaySkipReason };

const EPOCH = new RegExp(`^[0-9A-Za-z]{${EPOCH_LENGTH}}$`);
const SLASH = 0x2f;

function skip(reason: RelaySkipReason): RelayedMessageResult {
  return { ok: false, reason };
}

function positionOf(streamId: string): StreamPosition | undefined {
  try {
    return streamIdToPosition(streamId);
  } catch {
    // Only malformed input throws; reported as `stream_id` by the caller.
    return undefined;
  }
}

/**
 * Parses and validates a message received on an ssehub channel. Never throws: a message that
 * ssehub did not write (or wrote in another protocol version) comes back with the reason to
 * skip it.
 *
 * @param raw - The channel message as received.
 * @returns `{ ok: true, message }` when every field is valid, else `{ ok: false, reason }`.
 */
export function parseRelayedMessage(raw: string): RelayedMessageResult {
  // The version line first: a later version may well have another number of lines.
  const a = raw.indexOf('\n');
  if (a === -1) return skip('format');
  if (raw.slice(0, a) !== MESSAGE_VERSION) return skip('version');
  const b = raw.indexOf('\n', a + 1);
  const c = b === -1 ? -1 : raw.indexOf('\n', b + 1);
  const d = c === -1 ? -1 : raw.indexOf('\n', c + 1);
  const e = d === -1 ? -1 : raw.indexOf('\n', d + 1);
  if (e === -1) return skip('format');
  const epoch = raw.slice(a + 1, b);
  if (!EPOCH.test(epoch)) return skip('epoch');
  const streamId = raw.slice(b + 1, c);
  const position = positionOf(streamId);
  // encodeEventId holds ms below 62^7 only: a larger one would throw at dispatch.
  if (position === undefined || position.ms >= MS_LIMIT) return skip('stream_id');
  const topic = raw.slice(c + 1, d);
  // Writers publish normalized topics; a leading "/" would name another channel's topic.
  if (!isValidTopic(topic) || topic.charCodeAt(0) === SLASH) return skip('topic');
  const event = raw.slice(d + 1, e);
  if (event !== '' && !isValidEventName(event)) return skip('event_name');
  return {
    ok: true,
    message: {
      epoch,
      streamId,
      topic,
      event: event === '' ? undefined : event,
      data: raw.slice(e + 1),
    },
  };
}
