import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PatternMatcher, internalNodeCount } from './matcher.js';
import { matches, parsePattern, subtreePattern, type Pattern } from './pattern.js';

const p = parsePattern;

function enumerateTopics(alphabet: readonly string[], maxDepth: number): string[] {
  const out: string[] = [];
  let level = [''];
  for (let depth = 1; depth <= maxDepth; depth++) {
    level = level.flatMap((prefix) => alphabet.map((s) => (prefix === '' ? s : `${prefix}/${s}`)));
    out.push(...level);
  }
  return out;
}

const TOPICS = enumerateTopics(['a', 'b', 'c'], 4);

const patternArb = fc
  .record({
    prefix: fc.array(fc.constantFrom('a', 'b', '*'), { maxLength: 4 }),
    glob: fc.boolean(),
  })
  .filter(({ prefix, glob }) => prefix.length > 0 || glob)
  .map(({ prefix, glob }) => p([...prefix, ...(glob ? ['**'] : [])].join('/')));

type Op = { readonly kind: 'add' | 'remove'; readonly pattern: Pattern; readonly value: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('add', 'add', 'remove'),
  pattern: patternArb,
  value: fc.nat(5),
});

/** What the matcher should hold: distinct (pattern source, value) pairs. */
class ReferenceModel {
  readonly entries = new Map<string, { pattern: Pattern; value: number }>();
  add(pattern: Pattern, value: number): void {
    this.entries.set(`${pattern.source} ${value}`, { pattern, value });
  }
  remove(pattern: Pattern, value: number): boolean {
    return this.entries.delete(`${pattern.source} ${value}`);
  }
  match(topic: string): Set<number> {
    const out = new Set<number>();
    for (const { pattern, value } of this.entries.values())
      if (matches(pattern, topic)) out.add(value);
    return out;
  }
}

const sorted = (values: Iterable<number>): number[] => [...values].sort((x, y) => x - y);

describe('PatternMatcher', () => {
  it('finds values by exact, "*" and "**" patterns', () => {
    const m = new PatternMatcher<string>();
    m.add(p('pets/**'), 'all-pets');
    m.add(p('pets/*'), 'pet-kinds');
    m.add(p('pets/dogs'), 'dogs');
    m.add(p('*/dogs'), 'any-dogs');
    m.add(p('**'), 'everything');
    m.add(p('news'), 'news');
    expect(m.match('pets')).toEqual(new Set(['all-pets', 'everything']));
    expect(m.match('pets/dogs')).toEqual(
      new Set(['all-pets', 'pet-kinds', 'dogs', 'any-dogs', 'everything']),
    );
    expect(m.match('pets/dogs/puppies')).toEqual(new Set(['all-pets', 'everything']));
    expect(m.match('zoo/dogs')).toEqual(new Set(['any-dogs', 'everything']));
    expect(m.match('news')).toEqual(new Set(['news', 'everything']));
    expect(m.match('news/today')).toEqual(new Set(['everything']));
  });

  it('returns each value once even when several of its patterns match', () => {
    const m = new PatternMatcher<string>();
    m.add(p('a/**'), 'conn');
    m.add(p('a/*'), 'conn');
    m.add(p('*/b'), 'conn');
    m.add(p('a/b'), 'conn');
    expect([...m.match('a/b')]).toEqual(['conn']);
    expect(m.size).toBe(4);
  });

  it('counts the same (pattern, value) once, even from distinct Pattern objects', () => {
    const m = new PatternMatcher<number>();
    m.add(p('a/*'), 1);
    m.add(p('/a/*'), 1);
    m.add(p('a/*'), 2);
    m.add(subtreePattern('a'), 1);
    m.add(p('a/**'), 1);
    expect(m.size).toBe(3);
    expect(m.remove(p('a/*'), 1)).toBe(true);
    expect(m.remove(p('a/*'), 1)).toBe(false);
    expect(m.size).toBe(2);
    expect(m.match('a/x')).toEqual(new Set([2, 1]));
  });

  it('adds to a given set and returns it', () => {
    const m = new PatternMatcher<string>();
    m.add(p('a'), 'x');
    const into = new Set(['existing']);
    expect(m.match('a', into)).toBe(into);
    expect(into).toEqual(new Set(['existing', 'x']));
    const empty = new PatternMatcher<string>();
    expect(empty.match('a', into)).toBe(into);
    expect(empty.match('a')).toEqual(new Set());
  });

  it('treats a leading "/" on the topic like parseTopic does', () => {
    const m = new PatternMatcher<string>();
    m.add(p('a/b'), 'x');
    expect(m.match('/a/b')).toEqual(new Set(['x']));
  });

  it('matches a 16-segment topic with a 17-segment subtree pattern', () => {
    const sixteen = Array.from({ length: 16 }, (_, i) => `s${i}`).join('/');
    const m = new PatternMatcher<string>();
    m.add(subtreePattern(sixteen), 'deep');
    expect(m.match(sixteen)).toEqual(new Set(['deep']));
    expect(m.match(sixteen.replace('s15', 'x'))).toEqual(new Set());
  });

  it('returns false when removing an absent entry, and changes nothing', () => {
    const m = new PatternMatcher<string>();
    m.add(p('a/b/c'), 'x');
    const nodes = internalNodeCount(m);
    expect(m.remove(p('a/b/c'), 'y')).toBe(false);
    expect(m.remove(p('a/b'), 'x')).toBe(false);
    expect(m.remove(p('a/b/**'), 'x')).toBe(false);
    expect(m.remove(p('a/*/c'), 'x')).toBe(false);
    expect(m.remove(p('a/b/c/d'), 'x')).toBe(false);
    expect(m.size).toBe(1);
    expect(internalNodeCount(m)).toBe(nodes);
    expect(m.match('a/b/c')).toEqual(new Set(['x']));
  });

  it('prunes nodes that no longer hold anything, and only those', () => {
    const m = new PatternMatcher<string>();
    expect(internalNodeCount(m)).toBe(0);
    m.add(p('a/b/c'), 'x');
    expect(internalNodeCount(m)).toBe(3);
    m.add(p('a/*/c'), 'x');
    expect(internalNodeCount(m)).toBe(5);
    m.add(p('a/**'), 'y');
    expect(internalNodeCount(m)).toBe(5); // "**" is stored on the "a" node
    m.remove(p('a/b/c'), 'x');
    expect(internalNodeCount(m)).toBe(3);
    m.remove(p('a/*/c'), 'x');
    expect(internalNodeCount(m)).toBe(1);
    m.remove(p('a/**'), 'y');
    expect(internalNodeCount(m)).toBe(0);
    m.add(p('**'), 'z');
    expect(internalNodeCount(m)).toBe(0); // root-level "**" needs no node
    expect(m.match('q')).toEqual(new Set(['z']));
    m.remove(p('**'), 'z');
    expect(m.size).toBe(0);
    expect(m.match('q')).toEqual(new Set());
  });

  it('keeps a node while another value or pattern still uses it', () => {
    const m = new PatternMatcher<string>();
    m.add(p('a/b'), 'x');
    m.add(p('a/b'), 'y');
    m.add(p('a/b/**'), 'x');
    m.remove(p('a/b'), 'x');
    expect(internalNodeCount(m)).toBe(2);
    expect(m.match('a/b')).toEqual(new Set(['y', 'x']));
    m.remove(p('a/b'), 'y');
    expect(internalNodeCount(m)).toBe(2);
    expect(m.match('a/b/c')).toEqual(new Set(['x']));
    m.remove(p('a/b/**'), 'x');
    expect(internalNodeCount(m)).toBe(0);
  });

  it('uses SameValueZero for values, so objects are kept apart by identity', () => {
    const m = new PatternMatcher<{ id: number }>();
    const one = { id: 1 };
    m.add(p('a'), one);
    m.add(p('a'), { id: 1 });
    expect(m.size).toBe(2);
    expect(m.remove(p('a'), { id: 1 })).toBe(false);
    expect(m.remove(p('a'), one)).toBe(true);
  });

  it('agrees with filtering every entry through matches() after any sequence of adds and removes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const m = new PatternMatcher<number>();
        const model = new ReferenceModel();
        for (const op of ops) {
          if (op.kind === 'add') {
            m.add(op.pattern, op.value);
            model.add(op.pattern, op.value);
          } else {
            expect(m.remove(op.pattern, op.value)).toBe(model.remove(op.pattern, op.value));
          }
          expect(m.size).toBe(model.entries.size);
        }
        for (const topic of TOPICS)
          expect(sorted(m.match(topic))).toEqual(sorted(model.match(topic)));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves no node behind once every entry is removed, in any order', () => {
    fc.assert(
      fc.property(
        fc
          .array(fc.tuple(patternArb, fc.nat(3)), { minLength: 1, maxLength: 30 })
          .chain((entries) =>
            fc.tuple(
              fc.constant(entries),
              fc.shuffledSubarray(entries, { minLength: entries.length }),
            ),
          ),
        ([entries, removalOrder]) => {
          const m = new PatternMatcher<number>();
          for (const [pattern, value] of entries) m.add(pattern, value);
          for (const [pattern, value] of removalOrder) m.remove(pattern, value);
          expect(m.size).toBe(0);
          expect(internalNodeCount(m)).toBe(0);
          for (const topic of TOPICS) expect(m.match(topic).size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
