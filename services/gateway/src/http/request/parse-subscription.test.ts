import { decodeEventId, encodeEventId, type Cursor } from '@ssehub/protocol';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import {
  MAX_PATTERNS,
  parseSubscription,
  requestedPatterns,
  type SubscriptionQuery,
} from './parse-subscription.js';

const base: SubscriptionQuery = {
  pathTopic: undefined,
  topics: [],
  lastEventIdHeader: undefined,
  lastEventIdQuery: undefined,
  envelope: undefined,
};

const q = (over: Partial<SubscriptionQuery>): SubscriptionQuery => ({ ...base, ...over });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err.code;
    throw err;
  }
  return undefined;
}

const cursor: Cursor = { epoch: 'AbC1', shard: 0, position: { ms: 42, seq: 0 } };
const ID = encodeEventId([cursor]);

describe('parseSubscription: the path form', () => {
  it('subscribes to the topic and its descendants', () => {
    expect(parseSubscription(q({ pathTopic: 'pets/dogs' })).patterns.map((p) => p.source)).toEqual([
      'pets/dogs/**',
    ]);
  });

  it('decodes percent-encoding and drops one leading "/"', () => {
    expect(
      parseSubscription(q({ pathTopic: '%2Fpets%2Fdogs' })).patterns.map((p) => p.source),
    ).toEqual(['pets/dogs/**']);
    expect(
      parseSubscription(q({ pathTopic: 'user%40example.com' })).patterns.map((p) => p.source),
    ).toEqual(['user@example.com/**']);
  });

  it.each([
    '',
    '*',
    'pets/*',
    'pets/**',
    'pets%2A',
    'pets/',
    'a//b',
    '..',
    'a%ZZ',
    'caf%C3%A9',
    'a%20b',
  ])('refuses %j with INVALID_TOPIC', (pathTopic) => {
    expect(codeOf(() => parseSubscription(q({ pathTopic })))).toBe('INVALID_TOPIC');
  });

  it('ignores topic query values when the path names the topic', () => {
    const parsed = parseSubscription(q({ pathTopic: 'a', topics: ['b', 'c'] }));
    expect(parsed.patterns.map((p) => p.source)).toEqual(['a/**']);
  });
});

describe('parseSubscription: the query form', () => {
  it('needs at least one pattern', () => {
    expect(codeOf(() => parseSubscription(q({})))).toBe('INVALID_TOPIC');
  });

  it(`accepts ${MAX_PATTERNS} patterns and refuses ${MAX_PATTERNS + 1} with TOO_MANY_PATTERNS`, () => {
    const topics = (n: number): string[] => Array.from({ length: n }, (_, i) => `t${i}/*`);
    expect(MAX_PATTERNS).toBe(32);
    expect(parseSubscription(q({ topics: topics(32) })).patterns).toHaveLength(32);
    expect(codeOf(() => parseSubscription(q({ topics: topics(33) })))).toBe('TOO_MANY_PATTERNS');
  });

  it('keeps identical patterns once (a leading "/" makes no difference)', () => {
    const parsed = parseSubscription(q({ topics: ['a/*', '/a/*', 'a/*', '**'] }));
    expect(parsed.patterns.map((p) => p.source)).toEqual(['a/*', '**']);
  });

  it.each([[''], ['/'], ['a/'], ['**/a'], ['a*'], ['***'], ['a/./b'], ['a b']])(
    'refuses %j with INVALID_TOPIC',
    (t) => {
      expect(codeOf(() => parseSubscription(q({ topics: ['ok', t] })))).toBe('INVALID_TOPIC');
    },
  );
});

describe('parseSubscription: the start position', () => {
  it('is fresh without any id', () => {
    expect(parseSubscription(q({ topics: ['a'] })).start).toEqual({ kind: 'fresh' });
    expect(
      parseSubscription(q({ topics: ['a'], lastEventIdHeader: '', lastEventIdQuery: '' })).start,
    ).toEqual({
      kind: 'fresh',
    });
  });

  it('resumes from the header, which wins over the query', () => {
    const start = parseSubscription(
      q({ topics: ['a'], lastEventIdHeader: ID, lastEventIdQuery: 'earliest' }),
    ).start;
    expect(start).toEqual({ kind: 'resume', cursors: decodeEventId(ID) });
  });

  it('treats an undecodable header as unknown (reset), not as a 400', () => {
    for (const header of ['earliest', 'not an id', 'x'.repeat(300)]) {
      expect(parseSubscription(q({ topics: ['a'], lastEventIdHeader: header })).start).toEqual({
        kind: 'undecodable',
      });
    }
  });

  it('reads the query value: an id, or earliest; anything else is INVALID_LAST_EVENT_ID', () => {
    expect(parseSubscription(q({ topics: ['a'], lastEventIdQuery: ID })).start).toEqual({
      kind: 'resume',
      cursors: decodeEventId(ID),
    });
    expect(parseSubscription(q({ topics: ['a'], lastEventIdQuery: 'earliest' })).start).toEqual({
      kind: 'earliest',
    });
    for (const bad of ['not an id', 'x'.repeat(257), 'zz']) {
      expect(codeOf(() => parseSubscription(q({ topics: ['a'], lastEventIdQuery: bad })))).toBe(
        'INVALID_LAST_EVENT_ID',
      );
    }
  });

  it('reports an invalid topic before an invalid id', () => {
    expect(codeOf(() => parseSubscription(q({ topics: ['a/'], lastEventIdQuery: 'bad id' })))).toBe(
      'INVALID_TOPIC',
    );
  });
});

describe('parseSubscription: envelope', () => {
  it('is on for envelope=1 only', () => {
    expect(parseSubscription(q({ topics: ['a'], envelope: '1' })).envelope).toBe(true);
    for (const envelope of [undefined, '0', 'true', '']) {
      expect(parseSubscription(q({ topics: ['a'], envelope })).envelope).toBe(false);
    }
  });
});

describe('requestedPatterns', () => {
  it('gives the raw patterns for the authorization check', () => {
    expect(requestedPatterns(q({ pathTopic: 'pets%2Fdogs' }))).toEqual(['pets/dogs/**']);
    expect(requestedPatterns(q({ topics: ['a/*', 'b'] }))).toEqual(['a/*', 'b']);
    expect(requestedPatterns(q({ pathTopic: 'a%ZZ' }))).toEqual(['a%ZZ/**']);
  });
});
