/**
 * Turns a subscribe request into patterns and a start position (SPEC 3 and 5), or a 400 with the
 * SPEC code. Pure: reads only the values it is given.
 */
import {
  decodeEventId,
  isWellFormedEventId,
  parsePattern,
  parseTopic,
  subtreePattern,
  type Pattern,
} from '@ssehub/protocol';
import { GatewayError, parseClientInput } from '../../errors.js';
import type { StreamStart } from '../../sse/stream-opener.js';

/** SPEC 3: 1 to 32 patterns per connection. */
export const MAX_PATTERNS = 32;

export interface SubscriptionQuery {
  /** The raw (still percent-encoded) path after `/subscribe/`, or undefined for `/subscribe?topic=`. */
  readonly pathTopic: string | undefined;
  /** Every `topic` query value. */
  readonly topics: readonly string[];
  /** The `Last-Event-ID` header, when sent. */
  readonly lastEventIdHeader: string | undefined;
  /** The `lastEventId` query value, when sent. */
  readonly lastEventIdQuery: string | undefined;
  /** The `envelope` query value, when sent. */
  readonly envelope: string | undefined;
}

export interface ParsedSubscription {
  readonly patterns: readonly Pattern[];
  readonly start: StreamStart;
  readonly envelope: boolean;
}

/** Raw pattern strings as requested, before parsing (authorization's PUBLIC_TOPICS check needs them). */
export function requestedPatterns(q: SubscriptionQuery): string[] {
  if (q.pathTopic !== undefined) return [`${safeDecode(q.pathTopic) ?? q.pathTopic}/**`];
  return [...q.topics];
}

export function parseSubscription(q: SubscriptionQuery): ParsedSubscription {
  return { patterns: parsePatterns(q), start: parseStart(q), envelope: q.envelope === '1' };
}

function parsePatterns(q: SubscriptionQuery): Pattern[] {
  if (q.pathTopic !== undefined) {
    const decoded = safeDecode(q.pathTopic);
    if (decoded === undefined) {
      throw new GatewayError(
        'INVALID_TOPIC',
        'The topic in the path is not valid percent-encoding.',
      );
    }
    // The path holds a topic, not a pattern: `*` there is INVALID_TOPIC (SPEC 3).
    return [subtreePattern(parseClientInput(() => parseTopic(decoded)))];
  }
  if (q.topics.length === 0) {
    throw new GatewayError(
      'INVALID_TOPIC',
      'Name at least one pattern: /subscribe?topic=<pattern>, or /subscribe/<topic>.',
    );
  }
  if (q.topics.length > MAX_PATTERNS) {
    throw new GatewayError(
      'TOO_MANY_PATTERNS',
      `A connection may subscribe to at most ${MAX_PATTERNS} patterns; ${q.topics.length} were given.`,
    );
  }
  // An event that matches several patterns is delivered once: the matcher holds the connection
  // once per pattern and returns it once per event. Identical patterns are kept once here.
  const bySource = new Map<string, Pattern>();
  for (const raw of q.topics) {
    const pattern = parseClientInput(() => parsePattern(raw));
    bySource.set(pattern.source, pattern);
  }
  return [...bySource.values()];
}

function parseStart(q: SubscriptionQuery): StreamStart {
  // The header wins: it is what the browser sends on every reconnect (SPEC 3).
  if (q.lastEventIdHeader !== undefined && q.lastEventIdHeader !== '') {
    try {
      return { kind: 'resume', cursors: decodeEventId(q.lastEventIdHeader) };
    } catch {
      // The browser sends back whatever a server sent, perhaps before an upgrade: reset, not 400.
      return { kind: 'undecodable' };
    }
  }
  const fromQuery = q.lastEventIdQuery;
  if (fromQuery === undefined || fromQuery === '') return { kind: 'fresh' };
  if (fromQuery === 'earliest') return { kind: 'earliest' };
  if (!isWellFormedEventId(fromQuery)) {
    throw new GatewayError(
      'INVALID_LAST_EVENT_ID',
      'lastEventId must be an id ssehub sent (1 to 256 characters from 0-9 A-Z a-z . _ , : -) or "earliest".',
    );
  }
  try {
    return { kind: 'resume', cursors: decodeEventId(fromQuery) };
  } catch (err) {
    throw new GatewayError(
      'INVALID_LAST_EVENT_ID',
      `lastEventId "${fromQuery}" is not an id ssehub could have sent: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function safeDecode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
