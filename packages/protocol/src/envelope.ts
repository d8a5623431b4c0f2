import { ProtocolError } from './errors.js';

/**
 * What a subscriber with `envelope=1` receives as the data of each event (SPEC.md section 4), so
 * a subscriber to a pattern learns each event's topic.
 */
export interface Envelope {
  /** The event's normalized topic. */
  readonly topic: string;
  /** The event's name; left out of the JSON for unnamed events. */
  readonly event?: string;
  /** The published data, verbatim. */
  readonly data: string;
  /** When the event was accepted, in milliseconds since the Unix epoch. */
  readonly publishedAt: number;
}

/**
 * Encodes an envelope as one line of JSON with keys in the order `topic`, `event` (only when
 * defined), `data`, `publishedAt`:
 * `{"topic":"pets/dogs","event":"new-dog","data":"Corgi","publishedAt":1763800000000}`.
 * `JSON.stringify` escapes `\r` and `\n`, so the result is always one `data:` line. Other
 * properties of `e` are ignored, so a richer event object can be passed as is.
 *
 * @throws {@link ProtocolError} `INVALID_FIELD` when `publishedAt` is not a non-negative safe
 *   integer (JSON would print `null` for `NaN`).
 */
export function encodeEnvelope(e: Envelope): string {
  if (!Number.isSafeInteger(e.publishedAt) || e.publishedAt < 0) {
    throw new ProtocolError(
      'INVALID_FIELD',
      `Envelope publishedAt must be a non-negative integer number of milliseconds; got ${String(e.publishedAt)}.`,
    );
  }
  // Built by hand rather than from an object literal: the key order is part of the contract and
  // this skips copying the event into a temporary object.
  const event = e.event === undefined ? '' : `"event":${JSON.stringify(e.event)},`;
  return `{"topic":${JSON.stringify(e.topic)},${event}"data":${JSON.stringify(e.data)},"publishedAt":${e.publishedAt}}`;
}
