import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import {
  MAX_SEGMENT_LENGTH,
  MAX_TOPIC_BYTES,
  MAX_TOPIC_SEGMENTS,
  ancestorTopics,
  isValidSegment,
  isValidTopic,
  parseTopic,
  segmentProblem,
  splitPath,
  topicSegments,
  validTopicSegments,
} from './topic.js';

const SEGMENT_ALPHABET = 'ABCXYZabcxyz0189_.~:@|-';

/** Returns the ProtocolError thrown by fn, failing the test if there is none. */
function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

const segmentArb = fc
  .string({ unit: fc.constantFrom(...Array.from(SEGMENT_ALPHABET)), minLength: 1, maxLength: 8 })
  .filter((s) => s !== '.' && s !== '..');
const topicArb = fc.array(segmentArb, { minLength: 1, maxLength: 6 }).map((s) => s.join('/'));

describe('limits', () => {
  it('are the SPEC.md section 2 values', () => {
    expect([MAX_TOPIC_BYTES, MAX_TOPIC_SEGMENTS, MAX_SEGMENT_LENGTH]).toEqual([255, 16, 64]);
  });
});

describe('parseTopic', () => {
  it.each([
    ['pets', 'pets'],
    ['pets/dogs', 'pets/dogs'],
    ['/pets/dogs', 'pets/dogs'],
    ['/a', 'a'],
    ['A-Z_a.z~0:9@x|y', 'A-Z_a.z~0:9@x|y'],
    ['...', '...'],
    ['.a/a.', '.a/a.'],
    ['Pets/DOGS', 'Pets/DOGS'],
  ])('accepts %j as %j', (input, expected) => {
    expect(parseTopic(input)).toBe(expected);
    expect(isValidTopic(input)).toBe(true);
  });

  it.each([
    ['', /empty/],
    ['/', /"\/" has no segments/],
    ['//pets', /empty segment/],
    ['pets/', /empty segment/],
    ['pets//dogs', /empty segment/],
    ['a b', /character outside A-Z a-z 0-9 _ \. ~ : @ \| -/],
    ['pets/dögs', /character outside/],
    ['pets/*', /contains "\*", which only patterns may use/],
    ['**', /contains "\*"/],
    ['a/./b', /"\." is not allowed/],
    ['a/..', /"\.\." is not allowed/],
    ['.', /not allowed/],
    ['a\nb', /character outside/],
    ['a?b', /character outside/],
    ['a#b', /character outside/],
    ['a%2Fb', /character outside/],
  ])('refuses %j', (input, message) => {
    const error = thrown(() => parseTopic(input));
    expect(error.code).toBe('INVALID_TOPIC');
    expect(error.message).toMatch(message);
    expect(isValidTopic(input)).toBe(false);
  });

  it('gives the exact sentence of the brief for a bad character', () => {
    expect(thrown(() => parseTopic('a b')).message).toBe(
      'Topic segment "a b" has a character outside A-Z a-z 0-9 _ . ~ : @ | -.',
    );
  });

  it('accepts exactly 16 segments and refuses 17', () => {
    const sixteen = Array.from({ length: 16 }, (_, i) => `s${i}`).join('/');
    expect(parseTopic(sixteen)).toBe(sixteen);
    const error = thrown(() => parseTopic(`${sixteen}/x`));
    expect(error.message).toBe('Topic has 17 segments; the limit is 16 segments.');
    expect(parseTopic(`/${sixteen}`)).toBe(sixteen);
  });

  it('accepts 64-character segments and refuses 65', () => {
    const s64 = 'a'.repeat(64);
    expect(parseTopic(`x/${s64}`)).toBe(`x/${s64}`);
    expect(thrown(() => parseTopic(`x/${s64}b`)).message).toMatch(
      /is 65 characters long; the limit is 64/,
    );
    expect(isValidSegment(s64)).toBe(true);
    expect(isValidSegment(`${s64}b`)).toBe(false);
  });

  it('accepts 255 bytes and refuses 256, counted after the leading "/"', () => {
    // 3 × 64 + 60 characters and 3 slashes = 255
    const t255 = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64), 'd'.repeat(60)].join('/');
    expect(t255.length).toBe(255);
    expect(parseTopic(t255)).toBe(t255);
    expect(parseTopic(`/${t255}`)).toBe(t255);
    const t256 = `${t255}e`;
    expect(thrown(() => parseTopic(t256)).message).toBe(
      'Topic is 256 bytes long; the limit is 255 bytes.',
    );
    expect(isValidTopic(`//${t255}`)).toBe(false);
  });

  it('reports UTF-8 bytes, not characters, for a long non-ASCII topic', () => {
    expect(thrown(() => parseTopic('é'.repeat(300))).message).toBe(
      'Topic is 600 bytes long; the limit is 255 bytes.',
    );
  });

  it('refuses megabyte inputs without echoing them', () => {
    const error = thrown(() => parseTopic('a/'.repeat(1_000_000)));
    expect(error.message.length).toBeLessThan(200);
  });

  it('shortens long values quoted in messages', () => {
    const error = thrown(() => parseTopic(`${'x'.repeat(60)} y`));
    expect(error.message).toContain(`"${'x'.repeat(40)}…"`);
  });

  it('is case-sensitive and otherwise the identity on valid normalized topics', () => {
    fc.assert(
      fc.property(topicArb, (topic) => {
        expect(parseTopic(topic)).toBe(topic);
        expect(parseTopic(`/${topic}`)).toBe(topic);
        expect(isValidTopic(`${topic}/`)).toBe(false);
        expect(isValidTopic(`//${topic}`)).toBe(false);
      }),
    );
  });

  it('agrees with isValidTopic and a reference grammar on arbitrary strings', () => {
    const reference = (input: string): boolean => {
      const body = input.startsWith('/') ? input.slice(1) : input;
      const segments = body.split('/');
      return (
        body.length > 0 &&
        new TextEncoder().encode(body).length <= 255 &&
        segments.length <= 16 &&
        segments.every((s) => /^[A-Za-z0-9_.~:@|-]{1,64}$/.test(s) && s !== '.' && s !== '..')
      );
    };
    const noisy = fc.string({
      unit: fc.constantFrom('a', 'b', '/', '.', '*', ' ', 'é', '~'),
      maxLength: 12,
    });
    fc.assert(
      fc.property(fc.oneof(noisy, fc.string(), topicArb), (input) => {
        const valid = reference(input);
        expect(isValidTopic(input)).toBe(valid);
        expect(validTopicSegments(input) !== undefined).toBe(valid);
        if (valid) expect(parseTopic(input)).toBe(input.startsWith('/') ? input.slice(1) : input);
        else expect(thrown(() => parseTopic(input)).code).toBe('INVALID_TOPIC');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isValidSegment', () => {
  it.each(['a', 'Z', '0', '_', '~', ':', '@', '|', '-', '...', '.a', 'a..b'])('accepts %j', (s) => {
    expect(isValidSegment(s)).toBe(true);
  });

  it.each(['', '.', '..', '*', '**', 'a/b', 'a b', 'ü', 'a*', '\t'])('refuses %j', (s) => {
    expect(isValidSegment(s)).toBe(false);
  });

  it('agrees with segmentProblem', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (s) => {
        expect(isValidSegment(s)).toBe(segmentProblem(s, 'Topic') === undefined);
      }),
    );
  });
});

describe('splitPath and segmentProblem', () => {
  it('name the noun they were given', () => {
    expect(splitPath('', 'Pattern')).toEqual({
      problem: 'Pattern is empty; it must be 1 to 16 segments joined by "/".',
    });
    expect(segmentProblem('a*', 'Pattern')).toMatch(
      /^Pattern segment "a\*" is neither a wildcard nor a literal/,
    );
    expect(segmentProblem('', 'Topic')).toMatch(/^Topic has an empty segment/);
  });

  it('returns the normalized text and its segments', () => {
    expect(splitPath('/a/b', 'Topic')).toEqual({ normalized: 'a/b', segments: ['a', 'b'] });
  });
});

describe('topicSegments', () => {
  it('splits a topic into its segments', () => {
    expect(topicSegments('a/b/c')).toEqual(['a', 'b', 'c']);
    expect(topicSegments('/a')).toEqual(['a']);
  });

  it('refuses an invalid topic', () => {
    expect(thrown(() => topicSegments('a//b')).code).toBe('INVALID_TOPIC');
  });

  it('inverts join("/")', () => {
    fc.assert(
      fc.property(topicArb, (topic) => {
        expect(topicSegments(topic).join('/')).toBe(topic);
      }),
    );
  });
});

describe('ancestorTopics', () => {
  it('lists the topic and its ancestors, self first', () => {
    expect(ancestorTopics('a/b/c')).toEqual(['a/b/c', 'a/b', 'a']);
    expect(ancestorTopics('pets')).toEqual(['pets']);
    expect(ancestorTopics('/x/y')).toEqual(['x/y', 'x']);
  });

  it('refuses an invalid topic', () => {
    expect(thrown(() => ancestorTopics('a/*')).code).toBe('INVALID_TOPIC');
  });

  it('returns one prefix per segment, each a valid topic and a prefix of the next', () => {
    fc.assert(
      fc.property(topicArb, (topic) => {
        const ancestors = ancestorTopics(topic);
        const segments = topic.split('/');
        expect(ancestors).toHaveLength(segments.length);
        ancestors.forEach((ancestor, i) => {
          expect(ancestor).toBe(segments.slice(0, segments.length - i).join('/'));
          expect(isValidTopic(ancestor)).toBe(true);
        });
      }),
    );
  });
});
