import { ProtocolError } from './errors.js';
import { quote } from './quote.js';
import { utf8ByteLength } from './utf8.js';

/**
 * Longest topic, in UTF-8 bytes of its normalized form (SPEC.md section 2). Every allowed
 * character is ASCII, so for a valid topic this is also its length in characters. The bound
 * keeps Redis channel names, log lines and the per-connection pattern lists small.
 */
export const MAX_TOPIC_BYTES = 255;

/**
 * Most segments in a topic (SPEC.md section 2). It bounds the matcher's trie depth and the number
 * of subtree channels an event is published to (one per ancestor, DESIGN.md "Data path").
 */
export const MAX_TOPIC_SEGMENTS = 16;

/** Longest segment, in characters (SPEC.md section 2). */
export const MAX_SEGMENT_LENGTH = 64;

/** Characters of a segment: `A-Z a-z 0-9 _ . ~ : @ | -` (SPEC.md section 2). */
const SEGMENT_CHARS = /^[A-Za-z0-9_.~:@|-]+$/;

const SLASH = 0x2f;

/** What a path grammar error message calls the value. */
type Noun = 'Topic' | 'Pattern';

/**
 * A topic or pattern split into segments, after the length and segment-count limits passed, or
 * the sentence saying which limit failed.
 *
 * @internal
 */
export type SplitPath =
  { readonly normalized: string; readonly segments: string[] } | { readonly problem: string };

/**
 * Applies the rules topics and patterns share (SPEC.md section 2): not empty, one leading `/`
 * dropped, at most {@link MAX_TOPIC_BYTES} bytes and {@link MAX_TOPIC_SEGMENTS} segments. The
 * segments themselves are not checked here, since patterns allow wildcards where topics do not.
 *
 * @param input - Text as received from a client.
 * @param noun - `'Topic'` or `'Pattern'`, for the error message.
 * @internal
 */
export function splitPath(input: string, noun: Noun): SplitPath {
  if (input.length === 0) {
    return {
      problem: `${noun} is empty; it must be 1 to ${MAX_TOPIC_SEGMENTS} segments joined by "/".`,
    };
  }
  // Exactly one leading "/" is dropped so "/pets/dogs" (as in a URL path) names "pets/dogs";
  // a second one is an empty segment and is refused below.
  const normalized = input.charCodeAt(0) === SLASH ? input.slice(1) : input;
  if (normalized.length === 0) {
    return {
      problem: `${noun} "/" has no segments; it must be 1 to ${MAX_TOPIC_SEGMENTS} segments joined by "/".`,
    };
  }
  // UTF-8 never takes fewer bytes than UTF-16 code units, so this cheap test refuses every
  // over-long value before it is split (a client can send megabytes).
  if (normalized.length > MAX_TOPIC_BYTES) {
    return {
      problem: `${noun} is ${utf8ByteLength(normalized)} bytes long; the limit is ${MAX_TOPIC_BYTES} bytes.`,
    };
  }
  const segments = normalized.split('/');
  if (segments.length > MAX_TOPIC_SEGMENTS) {
    return {
      problem: `${noun} has ${segments.length} segments; the limit is ${MAX_TOPIC_SEGMENTS} segments.`,
    };
  }
  return { normalized, segments };
}

/**
 * Why `segment` is not a literal segment (SPEC.md section 2), or `undefined` when it is one.
 *
 * @param segment - One segment, without `/`.
 * @param noun - `'Topic'` or `'Pattern'`, for the error message.
 * @internal
 */
export function segmentProblem(segment: string, noun: Noun): string | undefined {
  if (segment.length === 0) {
    return `${noun} has an empty segment (from "//", or a "/" at the end); every segment needs 1 to ${MAX_SEGMENT_LENGTH} characters.`;
  }
  if (segment.length > MAX_SEGMENT_LENGTH) {
    return `${noun} segment ${quote(segment)} is ${segment.length} characters long; the limit is ${MAX_SEGMENT_LENGTH}.`;
  }
  if (!SEGMENT_CHARS.test(segment)) {
    if (segment.includes('*')) {
      return noun === 'Topic'
        ? `Topic segment ${quote(segment)} contains "*", which only patterns may use; a topic segment uses only A-Z a-z 0-9 _ . ~ : @ | -.`
        : `Pattern segment ${quote(segment)} is neither a wildcard nor a literal; a wildcard segment is exactly "*" (one segment) or "**" (zero or more, last only), and a literal uses only A-Z a-z 0-9 _ . ~ : @ | -.`;
    }
    return `${noun} segment ${quote(segment)} has a character outside A-Z a-z 0-9 _ . ~ : @ | -.`;
  }
  // "." and ".." would be read as relative path steps by URL tooling and proxies in front of
  // GET /subscribe/<topic>, so they never name a topic.
  if (segment === '.' || segment === '..') {
    return `${noun} segment ${quote(segment)} is not allowed; "." and ".." are reserved because they read as relative paths.`;
  }
  return undefined;
}

/** Why `input` is not a topic, or `undefined` when it is one. */
function topicProblem(input: string): string | undefined {
  const split = splitPath(input, 'Topic');
  if ('problem' in split) return split.problem;
  for (const segment of split.segments) {
    const problem = segmentProblem(segment, 'Topic');
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * The segments of `input` when it is a valid topic (a leading `/` allowed), else `undefined`.
 * Used where an invalid topic must simply match nothing.
 *
 * @internal
 */
export function validTopicSegments(input: string): string[] | undefined {
  const split = splitPath(input, 'Topic');
  if ('problem' in split) return undefined;
  for (const segment of split.segments) {
    if (!isValidSegment(segment)) return undefined;
  }
  return split.segments;
}

/**
 * Checks a topic against SPEC.md section 2 and returns its normalized form: 1 to
 * {@link MAX_TOPIC_SEGMENTS} segments joined by `/`, at most {@link MAX_TOPIC_BYTES} bytes, one
 * leading `/` dropped. Comparison is exact and case-sensitive, so nothing else is rewritten.
 *
 * @example
 * ```ts
 * parseTopic('/pets/dogs'); // 'pets/dogs'
 * parseTopic('pets/');      // throws ProtocolError INVALID_TOPIC (empty segment)
 * ```
 * @param input - Topic text as received.
 * @returns The normalized topic.
 * @throws {@link ProtocolError} `INVALID_TOPIC` with a sentence naming the rule that failed.
 */
export function parseTopic(input: string): string {
  const problem = topicProblem(input);
  if (problem !== undefined) throw new ProtocolError('INVALID_TOPIC', problem);
  return input.charCodeAt(0) === SLASH ? input.slice(1) : input;
}

/**
 * Whether {@link parseTopic} would accept `input` (a leading `/` is allowed).
 *
 * @param input - Topic text as received.
 */
export function isValidTopic(input: string): boolean {
  return topicProblem(input) === undefined;
}

/**
 * Whether `segment` is one literal topic segment: 1 to {@link MAX_SEGMENT_LENGTH} characters from
 * `A-Z a-z 0-9 _ . ~ : @ | -`, and neither `.` nor `..`. Wildcards (`*`, `**`) are not segments.
 *
 * @param segment - Candidate segment, without `/`.
 */
export function isValidSegment(segment: string): boolean {
  return (
    segment.length > 0 &&
    segment.length <= MAX_SEGMENT_LENGTH &&
    SEGMENT_CHARS.test(segment) &&
    segment !== '.' &&
    segment !== '..'
  );
}

/**
 * The segments of a topic, root first: `'a/b/c'` gives `['a', 'b', 'c']`.
 *
 * @param topic - A valid topic; a leading `/` is dropped as in {@link parseTopic}.
 * @returns A new array the caller may modify.
 * @throws {@link ProtocolError} `INVALID_TOPIC` when `topic` is not a valid topic.
 */
export function topicSegments(topic: string): string[] {
  return parseTopic(topic).split('/');
}

/**
 * The topic and each of its ancestors, self first: `'a/b/c'` gives `['a/b/c', 'a/b', 'a']`.
 * These are the subtree channels an event is published to (DESIGN.md "Data path"); the root
 * (every topic of the shard) is not a topic and is not included.
 *
 * @param topic - A valid topic; a leading `/` is dropped as in {@link parseTopic}.
 * @returns A new array of normalized topics, longest first.
 * @throws {@link ProtocolError} `INVALID_TOPIC` when `topic` is not a valid topic.
 */
export function ancestorTopics(topic: string): string[] {
  let current = parseTopic(topic);
  const result = [current];
  for (let slash = current.lastIndexOf('/'); slash > 0; slash = current.lastIndexOf('/')) {
    current = current.slice(0, slash);
    result.push(current);
  }
  return result;
}
