import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import {
  covers,
  isValidPattern,
  literalPrefix,
  matches,
  overlaps,
  parsePattern,
  subtreePattern,
  type Pattern,
} from './pattern.js';
import { isValidTopic } from './topic.js';

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

const p = parsePattern;

/**
 * Reference semantics, written independently of the implementation: a regular expression per
 * pattern, tried only on valid topics.
 */
function referenceMatches(pattern: Pattern, topic: string): boolean {
  return isValidTopic(topic) && regexMatches(pattern, topic);
}

/** The pattern's regular expression alone: the grammar without the 16-segment and 255-byte limits. */
function regexMatches(pattern: Pattern, topic: string): boolean {
  const normalized = topic.startsWith('/') ? topic.slice(1) : topic;
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const parts = pattern.segments.map((s) => (s === '*' ? '[^/]+' : s === '**' ? null : escape(s)));
  let source: string;
  if (pattern.endsWithGlob) {
    const fixed = parts.slice(0, -1).join('/');
    source = fixed === '' ? '[^/]+(/[^/]+)*' : `${fixed}(/[^/]+)*`;
  } else {
    source = parts.join('/');
  }
  return new RegExp(`^${source}$`).test(normalized);
}

/** Every sequence of 1 to maxDepth segments from alphabet, joined by "/". */
function enumerateTopics(alphabet: readonly string[], maxDepth: number): string[] {
  const out: string[] = [];
  let level = [''];
  for (let depth = 1; depth <= maxDepth; depth++) {
    level = level.flatMap((prefix) => alphabet.map((s) => (prefix === '' ? s : `${prefix}/${s}`)));
    out.push(...level);
  }
  return out;
}

/** Patterns over {a, b, *} with up to 4 segments, optionally ending in "**". */
const smallPatternArb = fc
  .record({
    prefix: fc.array(fc.constantFrom('a', 'b', '*'), { maxLength: 4 }),
    glob: fc.boolean(),
  })
  .filter(({ prefix, glob }) => prefix.length > 0 || glob)
  .map(({ prefix, glob }) => p([...prefix, ...(glob ? ['**'] : [])].join('/')));

/** Topics deep enough to separate every pair of small patterns (prefix length + 1). */
const SMALL_TOPICS = enumerateTopics(['a', 'b'], 5);

const coversByEnumeration = (a: Pattern, b: Pattern, topics: readonly string[]): boolean =>
  topics.every((t) => !matches(b, t) || matches(a, t));
const overlapsByEnumeration = (a: Pattern, b: Pattern, topics: readonly string[]): boolean =>
  topics.some((t) => matches(a, t) && matches(b, t));

describe('parsePattern', () => {
  it.each([
    ['pets/**', ['pets', '**'], true, true],
    ['/pets/*', ['pets', '*'], true, false],
    ['**', ['**'], true, true],
    ['*', ['*'], true, false],
    ['pets/dogs', ['pets', 'dogs'], false, false],
    ['*/a/*/**', ['*', 'a', '*', '**'], true, true],
  ] as const)('parses %j', (input, segments, hasWildcard, endsWithGlob) => {
    const pattern = p(input);
    expect(pattern).toEqual({
      source: input.replace(/^\//, ''),
      segments,
      hasWildcard,
      endsWithGlob,
    });
    expect(isValidPattern(input)).toBe(true);
  });

  it('returns frozen values', () => {
    const pattern = p('a/*');
    expect(Object.isFrozen(pattern)).toBe(true);
    expect(Object.isFrozen(pattern.segments)).toBe(true);
  });

  it.each([
    ['', /empty/],
    ['/', /no segments/],
    ['//a', /empty segment/],
    ['a/', /empty segment/],
    ['**/a', /"\*\*" may only be the last segment/],
    ['a/**/b', /may only be the last segment/],
    ['**/**', /may only be the last segment/],
    ['***', /"\*\*\*" is neither a wildcard nor a literal/],
    ['a*', /neither a wildcard nor a literal/],
    ['*b', /neither a wildcard nor a literal/],
    ['a/./b', /not allowed/],
    ['a/..', /not allowed/],
    ['a b', /character outside/],
  ])('refuses %j', (input, message) => {
    const error = thrown(() => p(input));
    expect(error.code).toBe('INVALID_TOPIC');
    expect(error.message).toMatch(message);
    expect(isValidPattern(input)).toBe(false);
  });

  it('applies the topic limits to the pattern text', () => {
    const sixteen = Array.from({ length: 15 }, () => '*').join('/');
    expect(isValidPattern(`${sixteen}/**`)).toBe(true);
    expect(thrown(() => p(`${sixteen}/*/**`)).message).toBe(
      'Pattern has 17 segments; the limit is 16 segments.',
    );
    const long = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64), 'd'.repeat(57)].join('/');
    expect(isValidPattern(`${long}/**`)).toBe(true); // 252 + 3 = 255 bytes
    expect(isValidPattern(`/${long}/**`)).toBe(true);
    expect(thrown(() => p(`${long}d/**`)).message).toBe(
      'Pattern is 256 bytes long; the limit is 255 bytes.',
    );
  });

  it('accepts every valid topic as a wildcard-free pattern with the same source', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'B', '0', 'x.y', '~'), { minLength: 1, maxLength: 16 }),
        (segs) => {
          const topic = segs.join('/');
          const pattern = p(topic);
          expect(pattern.source).toBe(topic);
          expect(pattern.hasWildcard).toBe(false);
          expect(matches(pattern, topic)).toBe(true);
        },
      ),
    );
  });
});

describe('subtreePattern', () => {
  it('builds <topic>/**', () => {
    expect(subtreePattern('pets')).toEqual(p('pets/**'));
    expect(subtreePattern('/pets/dogs').source).toBe('pets/dogs/**');
  });

  it('refuses a topic with a wildcard or any other invalid topic', () => {
    expect(thrown(() => subtreePattern('pets/*')).code).toBe('INVALID_TOPIC');
    expect(thrown(() => subtreePattern('')).code).toBe('INVALID_TOPIC');
  });

  it('is not limited to 16 segments or 255 bytes, since its topic is valid', () => {
    const sixteen = Array.from({ length: 16 }, (_, i) => `s${i}`).join('/');
    const pattern = subtreePattern(sixteen);
    expect(pattern.segments).toHaveLength(17);
    expect(isValidPattern(pattern.source)).toBe(false);
    expect(matches(pattern, sixteen)).toBe(true);
    const t255 = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64), 'd'.repeat(60)].join('/');
    expect(matches(subtreePattern(t255), t255)).toBe(true);
  });
});

describe('matches', () => {
  it.each([
    ['pets/**', 'pets', true],
    ['pets/**', 'pets/dogs', true],
    ['pets/**', 'pets/dogs/puppies', true],
    ['pets/**', 'petshop', false],
    ['pets/**', 'other/pets', false],
    ['pets/*', 'pets/dogs', true],
    ['pets/*', 'pets', false],
    ['pets/*', 'pets/dogs/puppies', false],
    ['**', 'anything', true],
    ['**', 'a/b/c/d', true],
    ['*', 'a', true],
    ['*', 'a/b', false],
    ['a/*/c', 'a/b/c', true],
    ['a/*/c', 'a/b/d', false],
    ['pets/dogs', 'pets/dogs', true],
    ['pets/dogs', 'pets/Dogs', false],
    ['pets/dogs', '/pets/dogs', true],
  ])('%j on %j is %j', (pattern, topic, expected) => {
    expect(matches(p(pattern), topic)).toBe(expected);
  });

  it('matches no invalid topic, even with "**"', () => {
    for (const topic of ['', '/', 'a/', '//a', 'a b', '*', 'a/**', '.']) {
      expect(matches(p('**'), topic)).toBe(false);
    }
    const sixteen = Array.from({ length: 16 }, () => 'x').join('/');
    expect(matches(p('**'), sixteen)).toBe(true);
    expect(matches(p('**'), `${sixteen}/x`)).toBe(false);
  });

  it('agrees with a regular-expression reference on every small topic', () => {
    fc.assert(
      fc.property(smallPatternArb, (pattern) => {
        for (const topic of SMALL_TOPICS)
          expect(matches(pattern, topic)).toBe(referenceMatches(pattern, topic));
      }),
      { numRuns: 300 },
    );
  });
});

describe('covers', () => {
  it.each([
    ['a/**', 'a/*/c', true],
    ['a/**', 'a', true],
    ['a/**', 'a/**', true],
    ['a/*', 'a/**', false],
    ['a/*', 'a/b', true],
    ['a/b', 'a/*', false],
    ['**', 'x/y/z', true],
    ['**', '*', true],
    // A topic has at least one segment, so "**" and "*/**" match the same topics.
    ['*/**', '**', true],
    ['**', '*/**', true],
    ['*/*/**', '**', false],
    ['users/*/**', 'users/42/**', true],
    ['users/42/**', 'users/*/**', false],
    ['news/**', 'users/1', false],
    ['a', 'a', true],
    ['a', 'b', false],
    ['*', 'a/b', false],
  ])('covers(%j, %j) is %j', (a, b, expected) => {
    expect(covers(p(a), p(b))).toBe(expected);
  });

  it('equals "every small topic b matches, a matches" (brute force)', () => {
    fc.assert(
      fc.property(smallPatternArb, smallPatternArb, (a, b) => {
        expect(covers(a, b)).toBe(coversByEnumeration(a, b, SMALL_TOPICS));
      }),
      { numRuns: 3000 },
    );
  });

  it('is reflexive', () => {
    fc.assert(fc.property(smallPatternArb, (a) => covers(a, a)));
  });

  it('is transitive on random triples', () => {
    fc.assert(
      fc.property(smallPatternArb, smallPatternArb, smallPatternArb, (a, b, c) => {
        if (covers(a, b) && covers(b, c)) expect(covers(a, c)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('holds along chains of generalizations, and so is transitive on them', () => {
    // Generalizing a pattern (a literal becomes "*", or a tail becomes "**") gives a pattern that
    // covers it; chains of two make every triple exercise transitivity.
    const generalize = (
      pattern: Pattern,
      stars: readonly boolean[],
      cut: number | undefined,
    ): Pattern => {
      const prefix = (
        pattern.endsWithGlob ? pattern.segments.slice(0, -1) : [...pattern.segments]
      ).map((segment, i) => (stars[i] === true ? '*' : segment));
      if (cut === undefined)
        return p([...prefix, ...(pattern.endsWithGlob ? ['**'] : [])].join('/'));
      return p([...prefix.slice(0, cut), '**'].join('/'));
    };
    const stepArb = fc.tuple(
      fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      fc.option(fc.nat(5)),
    );
    fc.assert(
      fc.property(smallPatternArb, stepArb, stepArb, (c, [starsB, cutB], [starsA, cutA]) => {
        const clamp = (cut: number | null, pattern: Pattern): number | undefined =>
          cut === null
            ? undefined
            : Math.min(cut, pattern.segments.length - (pattern.endsWithGlob ? 1 : 0));
        const b = generalize(c, starsB, clamp(cutB, c));
        const a = generalize(b, starsA, clamp(cutA, b));
        expect(covers(b, c)).toBe(true);
        expect(covers(a, b)).toBe(true);
        expect(covers(a, c)).toBe(true);
        expect(coversByEnumeration(a, c, SMALL_TOPICS)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('implies overlaps, since every pattern matches some topic', () => {
    fc.assert(
      fc.property(smallPatternArb, smallPatternArb, (a, b) => {
        if (covers(a, b)) expect(overlaps(a, b)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('holds between a subtree at the 16-segment limit and its topic alone', () => {
    // With 16 segments nothing fits below the topic, so "<topic>/**" matches the topic only.
    const sixteen = Array.from({ length: 16 }, (_, i) => `s${i}`).join('/');
    expect(covers(p(sixteen), subtreePattern(sixteen))).toBe(true);
    expect(covers(subtreePattern(sixteen), p(sixteen))).toBe(true);
    expect(covers(p(sixteen.replace('s3', '*')), subtreePattern(sixteen))).toBe(true);
    const fifteen = Array.from({ length: 15 }, (_, i) => `s${i}`).join('/');
    expect(covers(p(fifteen), subtreePattern(fifteen))).toBe(false);
    expect(covers(p(`${fifteen}/*`), subtreePattern(fifteen))).toBe(false);
  });

  it('holds between a subtree at the 255-byte limit and its topic alone', () => {
    const base = ['a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64)].join('/'); // 194 bytes
    for (const [length, expected] of [
      [253, false], // "<topic>/x" is 255 bytes: still a topic
      [254, true],
      [255, true],
    ] as const) {
      const topic = `${base}/${'d'.repeat(length - base.length - 1)}`;
      expect(topic.length).toBe(length);
      expect(covers(p(topic), subtreePattern(topic))).toBe(expected);
      expect(isValidTopic(`${topic}/x`)).toBe(!expected);
    }
  });

  describe('where the 255-byte limit bites (brute force with 60-character segments)', () => {
    const L1 = 'l'.repeat(60);
    const L2 = 'm'.repeat(60);
    // Every topic that can tell these patterns apart uses their literals or a fresh segment "z".
    const allTopics = enumerateTopics([L1, L2, 'a', 'z'], 6);
    const topics = allTopics.filter((t) => isValidTopic(t));
    const toPattern = (prefix: readonly string[], glob: boolean): Pattern | undefined => {
      const source = [...prefix, ...(glob ? ['**'] : [])].join('/');
      return isValidPattern(source) ? p(source) : undefined;
    };

    it('decides covers and overlaps like enumeration, for any pair', () => {
      const prefixArb = fc.array(fc.constantFrom(L1, L2, 'a', '*'), { maxLength: 5 });
      fc.assert(
        fc.property(
          prefixArb,
          fc.boolean(),
          prefixArb,
          fc.boolean(),
          (prefixA, globA, prefixB, globB) => {
            const a = toPattern(prefixA, globA);
            const b = toPattern(prefixB, globB);
            fc.pre(a !== undefined && b !== undefined);
            expect(covers(a, b)).toBe(coversByEnumeration(a, b, topics));
            expect(overlaps(a, b)).toBe(overlapsByEnumeration(a, b, topics));
          },
        ),
        { numRuns: 150 },
      );
    });

    it('finds no overlap when a common topic needs five 60-character segments', () => {
      // Five literals, each kept by a, by b or by both, and neither keeping all five (so each is a
      // valid pattern of at most 255 bytes): every topic both match is over 300 bytes long.
      const ownerArb = fc.constantFrom('a', 'b', 'both');
      const pairArb = fc
        .tuple(
          fc.array(fc.constantFrom(L1, L2), { minLength: 5, maxLength: 5 }),
          fc.array(ownerArb, { minLength: 5, maxLength: 5 }),
          fc.boolean(),
          fc.boolean(),
        )
        .filter(([, owners]) => owners.includes('a') && owners.includes('b'));
      const cut = (segments: string[], glob: boolean): string[] => {
        if (!glob) return segments;
        // Keep up to the last literal, then let "**" stand for the rest.
        let last = segments.length - 1;
        while (last >= 0 && segments[last] === '*') last--;
        return segments.slice(0, last + 1);
      };
      fc.assert(
        fc.property(pairArb, ([literals, owners, globA, globB]) => {
          const keep = (who: 'a' | 'b'): string[] =>
            literals.map((literal, i) =>
              owners[i] === who || owners[i] === 'both' ? literal : '*',
            );
          const a = toPattern(cut(keep('a'), globA), globA);
          const b = toPattern(cut(keep('b'), globB), globB);
          expect(a).toBeDefined();
          expect(b).toBeDefined();
          if (a === undefined || b === undefined) return;
          // Without the byte limit they would overlap: the limit decides.
          expect(allTopics.some((t) => regexMatches(a, t) && regexMatches(b, t))).toBe(true);
          expect(overlaps(a, b)).toBe(false);
          expect(overlapsByEnumeration(a, b, topics)).toBe(false);
          expect(covers(a, b)).toBe(coversByEnumeration(a, b, topics));
        }),
        { numRuns: 100 },
      );
    });
  });
});

describe('overlaps', () => {
  it.each([
    ['a/*', 'a', false],
    ['a/**', 'a', true],
    ['**', 'x', true],
    ['*', '**', true],
    ['a/*/c', 'a/b/*', true],
    ['a/*/c', 'a/b/d', false],
    ['a/**', 'b/**', false],
    ['*/b/**', 'a/*/c', true],
    ['a/b/c', 'a/**', true],
    ['a/b', 'a/b/c', false],
    ['*/*', '*', false],
  ])('overlaps(%j, %j) is %j', (a, b, expected) => {
    expect(overlaps(p(a), p(b))).toBe(expected);
    expect(overlaps(p(b), p(a))).toBe(expected);
  });

  it('equals "some small topic matches both" (brute force)', () => {
    fc.assert(
      fc.property(smallPatternArb, smallPatternArb, (a, b) => {
        expect(overlaps(a, b)).toBe(overlapsByEnumeration(a, b, SMALL_TOPICS));
      }),
      { numRuns: 3000 },
    );
  });

  it('is symmetric and reflexive', () => {
    fc.assert(
      fc.property(smallPatternArb, smallPatternArb, (a, b) => {
        expect(overlaps(a, b)).toBe(overlaps(b, a));
        expect(overlaps(a, a)).toBe(true);
      }),
    );
  });

  it('is false when the only common topics would exceed 255 bytes', () => {
    const L = (c: string): string => c.repeat(60);
    const a = p(`${L('a')}/${L('b')}/${L('c')}/${L('d')}/*/*/*/*`);
    const b = p(`*/*/*/*/${L('e')}/${L('f')}/${L('g')}/${L('h')}`);
    expect(overlaps(a, b)).toBe(false);
    const c = p(`*/*/*/${L('e')}/*/*/*/*`);
    expect(overlaps(a, p('*/*/*/*/x/y/z/w'))).toBe(true);
    expect(overlaps(a, c)).toBe(false); // position 4 holds two different literals
    const ab = p(`${L('a')}/${L('b')}/**`);
    expect(overlaps(ab, p(`*/*/${L('c')}/${L('d')}`))).toBe(true); // 240 + 3 slashes = 243 bytes
    expect(overlaps(ab, p(`*/*/${L('c')}/${L('d')}/*/*/*/*/*/*`))).toBe(true); // 246 + 9 = 255
    expect(overlaps(ab, p(`*/*/${L('c')}/${L('d')}/*/*/*/*/*/*/*`))).toBe(false); // 247 + 10 = 257
  });

  it('handles subtrees at the limits', () => {
    const sixteen = Array.from({ length: 16 }, (_, i) => `s${i}`).join('/');
    expect(overlaps(subtreePattern(sixteen), p('**'))).toBe(true);
    expect(overlaps(subtreePattern(sixteen), subtreePattern(sixteen))).toBe(true);
    expect(overlaps(subtreePattern(sixteen), p(sixteen))).toBe(true);
  });
});

describe('literalPrefix', () => {
  it.each([
    ['a/b/*/c', 'a/b'],
    ['a/b', 'a/b'],
    ['a/**', 'a'],
    ['a/*', 'a'],
    ['**', undefined],
    ['*', undefined],
    ['*/a/**', undefined],
  ])('of %j is %j', (pattern, expected) => {
    expect(literalPrefix(p(pattern))).toBe(expected);
  });

  it('is a valid topic whose subtree covers the pattern', () => {
    fc.assert(
      fc.property(smallPatternArb, (pattern) => {
        const prefix = literalPrefix(pattern);
        if (prefix === undefined) {
          expect(['*', '**']).toContain(pattern.segments[0]);
        } else {
          expect(isValidTopic(prefix)).toBe(true);
          expect(covers(subtreePattern(prefix), pattern)).toBe(true);
        }
      }),
    );
  });
});
