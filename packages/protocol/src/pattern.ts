import { ProtocolError } from './errors.js';
import {
  MAX_TOPIC_BYTES,
  MAX_TOPIC_SEGMENTS,
  parseTopic,
  segmentProblem,
  splitPath,
  validTopicSegments,
} from './topic.js';

// In the comments below, "*&#47;" stands for "*/", which would end the comment.

/** Wildcard for exactly one segment. */
const STAR = '*';
/** Wildcard for zero or more trailing segments; only valid as the last segment. */
const GLOB = '**';

/**
 * A parsed subscription pattern (SPEC.md section 2): a topic in which any segment may be `*`
 * (exactly one segment) and the last may be `**` (zero or more segments). Build one with
 * {@link parsePattern} or {@link subtreePattern}; the relations below assume that origin. Values
 * are frozen.
 */
export interface Pattern {
  /** Normalized text (leading `/` dropped), e.g. `'pets/**'`. */
  readonly source: string;
  /** {@link Pattern.source} split on `/`, wildcards included. */
  readonly segments: readonly string[];
  /** Whether any segment is `*` or `**`. */
  readonly hasWildcard: boolean;
  /** Whether the last segment is `**`. */
  readonly endsWithGlob: boolean;
}

function freezePattern(source: string, segments: string[], hasWildcard: boolean): Pattern {
  return Object.freeze({
    source,
    segments: Object.freeze(segments),
    hasWildcard,
    endsWithGlob: segments[segments.length - 1] === GLOB,
  });
}

/** The pattern, or the sentence saying why `input` is not one. */
function checkPattern(input: string): Pattern | string {
  const split = splitPath(input, 'Pattern');
  if ('problem' in split) return split.problem;
  const { segments } = split;
  const last = segments.length - 1;
  let hasWildcard = false;
  for (const [index, segment] of segments.entries()) {
    if (segment === STAR) {
      hasWildcard = true;
    } else if (segment === GLOB) {
      if (index !== last) {
        return 'Pattern segment "**" may only be the last segment; use "*" to match exactly one segment elsewhere.';
      }
      hasWildcard = true;
    } else {
      const problem = segmentProblem(segment, 'Pattern');
      if (problem !== undefined) return problem;
    }
  }
  return freezePattern(split.normalized, segments, hasWildcard);
}

/**
 * Parses a subscription pattern (SPEC.md section 2). The limits are those of topics, applied to
 * the pattern text itself after its leading `/` is dropped: at most 16 segments and 255 bytes.
 *
 * @example
 * ```ts
 * parsePattern('/pets/*').source;     // 'pets/*'
 * parsePattern('pets/**');           // ends with "**": pets and everything below
 * parsePattern('**');                 // every topic
 * ```
 * @param input - Pattern text as received.
 * @throws {@link ProtocolError} `INVALID_TOPIC` with a sentence naming the rule that failed.
 */
export function parsePattern(input: string): Pattern {
  const result = checkPattern(input);
  if (typeof result === 'string') throw new ProtocolError('INVALID_TOPIC', result);
  return result;
}

/**
 * Whether {@link parsePattern} would accept `input`.
 *
 * @param input - Pattern text as received.
 */
export function isValidPattern(input: string): boolean {
  return typeof checkPattern(input) !== 'string';
}

/**
 * The pattern `<topic>/**`: the topic and all its descendants, which is what
 * `GET /subscribe/<topic>` subscribes to (SPEC.md section 3). It is not checked against the
 * pattern limits: derived from a valid topic, it may have 17 segments or 258 bytes, and still
 * matches only valid topics.
 *
 * @param topic - A valid topic (a leading `/` is dropped).
 * @throws {@link ProtocolError} `INVALID_TOPIC` when `topic` is not a valid topic (a `*` included).
 */
export function subtreePattern(topic: string): Pattern {
  const normalized = parseTopic(topic);
  return freezePattern(`${normalized}/${GLOB}`, [...normalized.split('/'), GLOB], true);
}

/** Whether the pattern segments match the topic segments. */
function matchSegments(
  pattern: readonly string[],
  topic: readonly string[],
  endsWithGlob: boolean,
): boolean {
  const fixed = endsWithGlob ? pattern.length - 1 : pattern.length;
  if (endsWithGlob ? topic.length < fixed : topic.length !== fixed) return false;
  for (let i = 0; i < fixed; i++) {
    const p = pattern[i];
    if (p !== STAR && p !== topic[i]) return false;
  }
  return true;
}

/**
 * Whether `pattern` matches `topic`: `pets/**` matches `pets`, `pets/dogs` and
 * `pets/dogs/puppies`; `pets/*` matches `pets/dogs` only; a pattern without wildcards matches
 * exactly its own topic.
 *
 * @param pattern - From {@link parsePattern} or {@link subtreePattern}.
 * @param topic - Any string; a leading `/` is dropped, and an invalid topic matches nothing.
 */
export function matches(pattern: Pattern, topic: string): boolean {
  const segments = validTopicSegments(topic);
  return segments !== undefined && matchSegments(pattern.segments, segments, pattern.endsWithGlob);
}

/**
 * A pattern reduced to what it matches among valid topics: a `prefix` of literal and `*`
 * segments, followed by zero or more further segments when `open`. Two rewrites make the
 * relations below exact:
 *
 * - `**` alone matches the same topics as `*` + `**`, since a topic has at least one segment.
 * - A trailing `**` after a prefix that leaves no room for one more segment (16 segments, or
 *   more than 253 bytes, possible only from {@link subtreePattern}) matches the prefix alone.
 */
interface Shape {
  readonly prefix: readonly string[];
  readonly open: boolean;
}

const STAR_PREFIX: readonly string[] = [STAR];

/** Fewest UTF-8 bytes of a topic matching `prefix` (each `*` taking a one-character segment). */
function minimalBytes(prefix: readonly string[]): number {
  let bytes = prefix.length - 1;
  for (const segment of prefix) bytes += segment === STAR ? 1 : segment.length;
  return bytes;
}

function shapeOf(pattern: Pattern): Shape {
  const { segments } = pattern;
  if (!pattern.endsWithGlob) return { prefix: segments, open: false };
  const prefix = segments.slice(0, -1);
  if (prefix.length === 0) return { prefix: STAR_PREFIX, open: true };
  // One more segment costs a "/" and at least one character.
  const roomForMore =
    prefix.length < MAX_TOPIC_SEGMENTS && minimalBytes(prefix) + 2 <= MAX_TOPIC_BYTES;
  return { prefix, open: roomForMore };
}

/**
 * Whether pattern `a` covers pattern `b`: every valid topic `b` matches is also matched by `a`
 * (SPEC.md section 2; authorization, section 6). This is an exact decision over valid topics,
 * limits included, not a heuristic:
 *
 * - `a` without a trailing `**` covers `b` only if `b` has none either (else `b` matches topics
 *   of two lengths), both have the same number of segments, and each segment of `a` is `*` or
 *   equals the literal segment of `b` at that place.
 * - `a` ending in `**` covers `b` when `a`'s other segments are no more than `b`'s and cover
 *   `b`'s leading segments one by one the same way.
 *
 * So covers('a/**', 'a/*&#47;c') and covers('*&#47;**', '**') hold (a topic has at least one
 * segment), while `covers('a/*', 'a/**')` does not. At the limits, a 16-segment topic `t` covers
 * `subtreePattern(t)`, since no valid topic lies below `t`.
 *
 * @param a - The allowing pattern, from {@link parsePattern} or {@link subtreePattern}.
 * @param b - The requested pattern, from the same.
 */
export function covers(a: Pattern, b: Pattern): boolean {
  const sa = shapeOf(a);
  const sb = shapeOf(b);
  if (sa.open) {
    // a takes any topic of at least its prefix's length, so b must not allow shorter ones.
    if (sa.prefix.length > sb.prefix.length) return false;
  } else if (sb.open || sa.prefix.length !== sb.prefix.length) {
    // a fixes the topic's length, so b must fix the same one.
    return false;
  }
  for (const [i, x] of sa.prefix.entries()) {
    const y = sb.prefix[i];
    // A "*" in b takes values other than any one literal of a, so only "*" covers it.
    if (x !== STAR && x !== y) return false;
  }
  return true;
}

/**
 * Whether some valid topic matches both patterns (SPEC.md section 2; presence, section 10).
 *
 * Exact over valid topics, limits included: the shortest topic both could match (each `*` filled
 * with one character, no segment beyond the longer prefix) is built in the mind and must fit in
 * 16 segments and 255 bytes. The segment limit never decides the answer for valid patterns; the
 * byte limit can: L1/L2/L3/L4/*&#47;*&#47;*&#47;* and *&#47;*&#47;*&#47;*&#47;L5/L6/L7/L8 with
 * 60-character literals do not overlap, since a topic matching both would be 487 bytes long.
 *
 * @param a - From {@link parsePattern} or {@link subtreePattern}.
 * @param b - From the same.
 */
export function overlaps(a: Pattern, b: Pattern): boolean {
  const sa = shapeOf(a);
  const sb = shapeOf(b);
  const la = sa.prefix.length;
  const lb = sb.prefix.length;
  // A closed pattern fixes the topic's length; an open one sets its minimum.
  if (!sa.open && (sb.open ? la < lb : la !== lb)) return false;
  if (!sb.open && sa.open && lb < la) return false;
  const length = Math.max(la, lb);
  if (length > MAX_TOPIC_SEGMENTS) return false;
  let bytes = length - 1;
  for (let i = 0; i < length; i++) {
    // Beyond its prefix, an open pattern takes any segment, like "*".
    const x = sa.prefix[i] ?? STAR;
    const y = sb.prefix[i] ?? STAR;
    if (x !== STAR && y !== STAR && x !== y) return false;
    bytes += x !== STAR ? x.length : y !== STAR ? y.length : 1;
  }
  return bytes <= MAX_TOPIC_BYTES;
}

/**
 * The longest leading run of literal segments, joined by `/`: the subtree a replica must receive
 * from Redis for this pattern (SPEC.md section 9). 'a/b/*&#47;c' gives `'a/b'`, `'a/b'` gives
 * `'a/b'`, `'a/**'` gives `'a'`.
 *
 * @param pattern - From {@link parsePattern} or {@link subtreePattern}.
 * @returns A valid topic, or `undefined` when the first segment is a wildcard ('*&#47;x', `'**'`):
 *   such a pattern needs every event of every shard.
 */
export function literalPrefix(pattern: Pattern): string | undefined {
  const { segments } = pattern;
  let count = 0;
  while (count < segments.length && segments[count] !== STAR && segments[count] !== GLOB) count++;
  if (count === 0) return undefined;
  if (count === segments.length) return pattern.source;
  return segments.slice(0, count).join('/');
}
