/**
 * Validation of publish requests (SPEC 7): everything is checked before anything is stored, so
 * a 4xx means nothing was published. Pure: no I/O.
 */
import { parseEventName, parseTopic, utf8ByteLength } from '@ssehub/protocol';
import { GatewayError, parseClientInput } from '../errors.js';
import type { PublishInput } from '../broker/broker.js';

/** SPEC 7: at most this many events per batch. */
export const MAX_BATCH_EVENTS = 1000;
/** Longest accepted idempotency key, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

export interface PublishLimits {
  /** Largest event data, in UTF-8 bytes (`MAX_EVENT_BYTES`). */
  readonly maxEventBytes: number;
}

/** One event as it arrives, before validation. */
export interface RawEvent {
  readonly topic: unknown;
  readonly event: unknown;
  /** A string is sent verbatim; any other JSON value as its JSON text. */
  readonly data: unknown;
  readonly idempotencyKey: unknown;
  /** False when the JSON object had no `data` field at all. */
  readonly hasData: boolean;
}

/** Validates one event; `where` prefixes messages in a batch (`events[3]`). */
export function validateEvent(raw: RawEvent, limits: PublishLimits, where = ''): PublishInput {
  const at = (field: string): string => (where === '' ? field : `${where}.${field}`);
  if (typeof raw.topic !== 'string') {
    throw new GatewayError('INVALID_BODY', `${at('topic')} must be a string.`);
  }
  const topic = parseClientInput(() => parseTopic(raw.topic as string), at('topic'));
  let event: string | undefined;
  if (raw.event !== undefined && raw.event !== null) {
    if (typeof raw.event !== 'string') {
      throw new GatewayError('INVALID_BODY', `${at('event')} must be a string.`);
    }
    event = parseClientInput(() => parseEventName(raw.event as string), at('event'));
  }
  if (!raw.hasData) throw new GatewayError('INVALID_BODY', `${at('data')} is missing.`);
  const data = dataText(raw.data, at('data'));
  if (LONE_SURROGATE.test(data)) {
    throw new GatewayError(
      'INVALID_BODY',
      `${at('data')} contains a lone UTF-16 surrogate, which is not valid UTF-8 text; send well-formed Unicode.`,
    );
  }
  const bytes = utf8ByteLength(data);
  if (bytes > limits.maxEventBytes) {
    throw new GatewayError(
      'EVENT_TOO_LARGE',
      `${at('data')} is ${bytes} bytes; the limit is ${limits.maxEventBytes} (MAX_EVENT_BYTES).`,
    );
  }
  return {
    topic,
    event,
    data,
    idempotencyKey: validateKey(raw.idempotencyKey, at('idempotencyKey')),
  };
}

/**
 * A UTF-16 surrogate that is not half of a pair: with the `u` flag a pair is one code point, so
 * only lone halves match. JSON escapes (`"\\ud800"`) and library callers can produce them, and
 * UTF-8 cannot carry them (they would silently become U+FFFD).
 */
const LONE_SURROGATE = /\p{Cs}/u;

/** A string is sent verbatim; any other JSON value as its JSON text (SPEC 7). */
function dataText(data: unknown, where: string): string {
  if (typeof data === 'string') return data;
  // Typed unknown: JSON.stringify's declared return type omits the undefined it gives for
  // undefined, functions and symbols.
  let text: unknown;
  try {
    text = JSON.stringify(data);
  } catch (err) {
    // BigInt values and cyclic objects.
    throw new GatewayError(
      'INVALID_BODY',
      `${where} cannot be serialized as JSON: give a string or a JSON value.`,
      {
        cause: err,
      },
    );
  }
  if (typeof text !== 'string') {
    throw new GatewayError(
      'INVALID_BODY',
      `${where} is not a JSON value: give a string or a JSON value.`,
    );
  }
  return text;
}

export function validateKey(key: unknown, where: string): string | undefined {
  if (key === undefined || key === null) return undefined;
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > MAX_IDEMPOTENCY_KEY_LENGTH ||
    !/^[\x21-\x7e]+$/.test(key)
  ) {
    throw new GatewayError(
      'INVALID_BODY',
      `${where} must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces.`,
    );
  }
  return key;
}

/**
 * A `POST /publish` JSON body: one event, or `{"events":[…]}`. A batch is validated whole, and
 * an `Idempotency-Key` header on a batch is refused (each event carries its own key).
 */
export function parseJsonPublish(
  body: unknown,
  headerKey: string | undefined,
  limits: PublishLimits,
): { readonly batch: boolean; readonly events: PublishInput[] } {
  if (!isRecord(body)) {
    throw new GatewayError(
      'INVALID_BODY',
      'The body must be a JSON object: {"topic","event","data"} or {"events":[…]}.',
    );
  }
  if ('events' in body) {
    if (headerKey !== undefined) {
      throw new GatewayError(
        'INVALID_BODY',
        'An Idempotency-Key header applies to single events; give each event of a batch an "idempotencyKey" field instead.',
      );
    }
    const list = body['events'];
    if (!Array.isArray(list) || list.length === 0) {
      throw new GatewayError('INVALID_BODY', '"events" must be a non-empty array of events.');
    }
    if (list.length > MAX_BATCH_EVENTS) {
      throw new GatewayError(
        'BATCH_TOO_LARGE',
        `A batch holds at most ${MAX_BATCH_EVENTS} events; ${list.length} were sent. Split it.`,
      );
    }
    const events = list.map((item: unknown, i) => {
      if (!isRecord(item))
        throw new GatewayError('INVALID_BODY', `events[${i}] must be an object.`);
      return validateEvent(rawOf(item, item['idempotencyKey']), limits, `events[${i}]`);
    });
    return { batch: true, events };
  }
  const fieldKey = body['idempotencyKey'];
  if (headerKey !== undefined && fieldKey !== undefined && fieldKey !== headerKey) {
    throw new GatewayError(
      'INVALID_BODY',
      'The Idempotency-Key header and the "idempotencyKey" field differ.',
    );
  }
  return { batch: false, events: [validateEvent(rawOf(body, headerKey ?? fieldKey), limits)] };
}

function rawOf(o: Record<string, unknown>, idempotencyKey: unknown): RawEvent {
  return {
    topic: o['topic'],
    event: o['event'],
    data: o['data'],
    idempotencyKey,
    hasData: 'data' in o,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
