import { describe, expect, it } from 'vitest';
import * as protocol from './index.js';

describe('package entry', () => {
  it('exports exactly the documented runtime API', () => {
    expect(Object.keys(protocol).sort()).toEqual(
      [
        'ProtocolError',
        'MAX_TOPIC_BYTES',
        'MAX_TOPIC_SEGMENTS',
        'MAX_SEGMENT_LENGTH',
        'parseTopic',
        'isValidTopic',
        'isValidSegment',
        'topicSegments',
        'ancestorTopics',
        'parsePattern',
        'isValidPattern',
        'subtreePattern',
        'matches',
        'covers',
        'overlaps',
        'literalPrefix',
        'PatternMatcher',
        'RESET_EVENT',
        'parseEventName',
        'isValidEventName',
        'encodeFrame',
        'splitLines',
        'utf8ByteLength',
        'DEPLOYMENT_DEFAULTS',
        'encodeEnvelope',
        'MAX_SHARDS',
        'MAX_EVENT_ID_LENGTH',
        'EPOCH_LENGTH',
        'comparePositions',
        'isWellFormedEventId',
        'encodeEventId',
        'decodeEventId',
        'positionToStreamId',
        'streamIdToPosition',
        'newEpoch',
        'shardOf',
        'shardTag',
        'metaKey',
        'streamKey',
        'idempotencyKey',
        'exactChannel',
        'subtreeChannel',
        'shardWildcardChannel',
        'replicasKey',
        'validatePrefix',
        'BUMP_EPOCH_SCRIPT',
        'CHECK_POSITION_SCRIPT',
        'ENSURE_META_SCRIPT',
        'HEAD_SCRIPT',
        'MESSAGE_VERSION',
        'PUBLISH_SCRIPT',
        'READ_SCRIPT',
        'REDIS_PROTOCOL_VERSION',
        'RELAY_SKIP_REASONS',
        'parseRelayedMessage',
      ].sort(),
    );
  });

  it('wires the pieces together for a publish and a subscription', () => {
    const keys: protocol.KeySpace = { prefix: 'ssehub', shardCount: 4 };
    const topic = protocol.parseTopic('/pets/dogs');
    const shard = protocol.shardOf(topic, keys.shardCount);
    const subscription = protocol.parsePattern('pets/*');
    const matcher = new protocol.PatternMatcher<string>();
    matcher.add(subscription, 'conn-1');
    expect(matcher.match(topic)).toEqual(new Set(['conn-1']));
    const prefix = protocol.literalPrefix(subscription);
    expect(prefix).toBe('pets');
    expect(protocol.ancestorTopics(topic).map((t) => protocol.subtreeChannel(keys, t))).toContain(
      protocol.subtreeChannel(keys, prefix ?? ''),
    );
    const id = protocol.encodeEventId([
      { epoch: protocol.newEpoch(), shard, position: { ms: 1763800000000, seq: 0 } },
    ]);
    const frame = protocol.encodeFrame({
      id,
      event: protocol.parseEventName('new-dog'),
      data: 'Corgi',
    });
    expect(frame).toBe(`id: ${id}\nevent: new-dog\ndata: Corgi\n\n`);
  });
});
