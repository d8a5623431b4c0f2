import { Buffer } from 'node:buffer';
import { ProtocolError, parseEventName, parseTopic } from '@ssehub/protocol';
import { PublisherError } from './errors.js';

/** Longest idempotency key, in characters (the gateway's limit on its HTTP routes too). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;

const IDEMPOTENCY_KEY = /^[\x21-\x7e]+$/;
/** A UTF-16 surrogate without its pair: not valid Unicode, so not storable as UTF-8 text. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** One event, checked and serialized, ready for the publish script. */
export interface PreparedEvent {
  /** Normalized topic (no leading `/`). */
  readonly topic: string;
  /** Event name, or `''` for none (the script's encoding). */
  readonly event: string;
  /** The data as sent on the wire. */
  readonly data: string;
  /** UTF-8 bytes of `data`, checked against `MAX_EVENT_BYTES` once it is known. */
  readonly bytes: number;
  readonly idempotencyKey: string | undefined;
  /** Where the event came from, for messages: `publish()` or `publishMany() event <i>`. */
  readonly where: string;
}

function fromProtocol<T>(run: () => T, where: string): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof ProtocolError && err.code === 'INVALID_TOPIC') {
      throw new PublisherError('INVALID_TOPIC', `${where}: ${err.message}`, { cause: err });
    }
    if (err instanceof ProtocolError && err.code === 'INVALID_EVENT_NAME') {
      throw new PublisherError('INVALID_EVENT_NAME', `${where}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * `JSON.stringify`, typed as it behaves: the lib typing says `string`, but it returns undefined
 * for undefined, functions and symbols.
 */
const toJson: (value: unknown) => string | undefined = JSON.stringify;

/** `data` as sent: a string verbatim, any other value as its JSON text (serialized once). */
function serialize(data: unknown, where: string): string {
  let text: string | undefined;
  if (typeof data === 'string') {
    text = data;
  } else {
    try {
      text = toJson(data);
    } catch (err) {
      throw new PublisherError(
        'INVALID_DATA',
        `${where}: data cannot be serialized to JSON (${err instanceof Error ? err.message : String(err)}). Pass a string, or a JSON value without BigInt or cycles.`,
        { cause: err },
      );
    }
  }
  if (text === undefined) {
    throw new PublisherError(
      'INVALID_DATA',
      `${where}: data is ${typeof data}, which has no JSON form. Pass a string or a JSON value (object, array, number, boolean or null).`,
    );
  }
  if (LONE_SURROGATE.test(text)) {
    throw new PublisherError(
      'INVALID_DATA',
      `${where}: data contains a lone UTF-16 surrogate, which is not valid UTF-8 text. Pass well-formed Unicode.`,
    );
  }
  return text;
}

function checkKey(key: unknown, where: string): string | undefined {
  if (key === undefined) return undefined;
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > MAX_IDEMPOTENCY_KEY_LENGTH ||
    !IDEMPOTENCY_KEY.test(key)
  ) {
    throw new PublisherError(
      'INVALID_OPTIONS',
      `${where}: idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters without spaces, for example a UUID.`,
    );
  }
  return key;
}

/**
 * Checks and serializes one event with no I/O. The size limit is checked separately
 * ({@link checkSize}), since it comes from the deployment's meta hash.
 *
 * @throws {@link PublisherError} `INVALID_TOPIC`, `INVALID_EVENT_NAME`, `INVALID_DATA` or
 *   `INVALID_OPTIONS`.
 */
export function prepareEvent(
  input: {
    readonly topic: string;
    readonly data: unknown;
    readonly event?: string | undefined;
    readonly idempotencyKey?: string | undefined;
  },
  where: string,
): PreparedEvent {
  if (typeof input.topic !== 'string') {
    throw new PublisherError('INVALID_TOPIC', `${where}: the topic must be a string.`);
  }
  const topic = fromProtocol(() => parseTopic(input.topic), where);
  let event = '';
  if (input.event !== undefined) {
    if (typeof input.event !== 'string') {
      throw new PublisherError(
        'INVALID_EVENT_NAME',
        `${where}: the event name must be a string; omit it for the default "message" event.`,
      );
    }
    const name = input.event;
    event = fromProtocol(() => parseEventName(name), where);
  }
  const data = serialize(input.data, where);
  return {
    topic,
    event,
    data,
    // Node's native count: the same number as the protocol's utf8ByteLength (a lone surrogate is
    // refused above anyway), at a fraction of the CPU on the publish hot path (bench/).
    bytes: Buffer.byteLength(data, 'utf8'),
    idempotencyKey: checkKey(input.idempotencyKey, where),
    where,
  };
}

/**
 * @throws {@link PublisherError} `EVENT_TOO_LARGE` when the data exceeds `maxEventBytes`.
 */
export function checkSize(e: PreparedEvent, maxEventBytes: number): void {
  if (e.bytes > maxEventBytes) {
    throw new PublisherError(
      'EVENT_TOO_LARGE',
      `${e.where}: data is ${e.bytes} bytes; this deployment's limit is ${maxEventBytes} (MAX_EVENT_BYTES). Send a smaller event, for example an id the client fetches.`,
    );
  }
}
