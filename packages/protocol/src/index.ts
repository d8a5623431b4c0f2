/**
 * `@ssehub/protocol`: the ssehub wire contract as pure functions. Topic and pattern grammar
 * (SPEC.md section 2), the pattern matcher, event names, SSE frames and the `envelope=1` JSON
 * (section 4), event ids and cursors (sections 4 and 5), and every Redis key and channel name
 * (section 9). No I/O.
 *
 * @packageDocumentation
 */
export { ProtocolError } from './errors.js';
export type { ProtocolErrorCode } from './errors.js';
export {
  MAX_SEGMENT_LENGTH,
  MAX_TOPIC_BYTES,
  MAX_TOPIC_SEGMENTS,
  ancestorTopics,
  isValidSegment,
  isValidTopic,
  parseTopic,
  topicSegments,
} from './topic.js';
export {
  covers,
  isValidPattern,
  literalPrefix,
  matches,
  overlaps,
  parsePattern,
  subtreePattern,
} from './pattern.js';
export type { Pattern } from './pattern.js';
export { PatternMatcher } from './matcher.js';
export { RESET_EVENT, isValidEventName, parseEventName } from './event-name.js';
export { encodeFrame, splitLines, utf8ByteLength } from './frame.js';
export type { FrameFields } from './frame.js';
export { DEPLOYMENT_DEFAULTS } from './deployment-defaults.js';
export { encodeEnvelope } from './envelope.js';
export type { Envelope } from './envelope.js';
export {
  EPOCH_LENGTH,
  MAX_EVENT_ID_LENGTH,
  MAX_SHARDS,
  comparePositions,
  decodeEventId,
  encodeEventId,
  isWellFormedEventId,
  newEpoch,
  positionToStreamId,
  streamIdToPosition,
} from './event-id.js';
export type { Cursor, StreamPosition } from './event-id.js';
export { shardOf } from './shard.js';
export {
  exactChannel,
  idempotencyKey,
  metaKey,
  replicasKey,
  shardTag,
  shardWildcardChannel,
  streamKey,
  subtreeChannel,
  validatePrefix,
} from './redis-keys.js';
export type { KeySpace } from './redis-keys.js';
// The Lua sources, inlined from src/scripts/*.lua at build time. Their call builders and reply
// parsers are the `@ssehub/protocol/scripts` entry.
export {
  BUMP_EPOCH_SCRIPT,
  CHECK_POSITION_SCRIPT,
  ENSURE_META_SCRIPT,
  HEAD_SCRIPT,
  PUBLISH_SCRIPT,
  READ_SCRIPT,
} from './scripts/generated.js';
export { REDIS_PROTOCOL_VERSION } from './scripts/protocol-version.js';
export { MESSAGE_VERSION, RELAY_SKIP_REASONS, parseRelayedMessage } from './relayed-message.js';
export type { RelaySkipReason, RelayedMessage, RelayedMessageResult } from './relayed-message.js';
