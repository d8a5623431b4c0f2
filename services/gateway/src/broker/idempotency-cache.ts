/**
 * Idempotency keys of the embedded broker (SPEC 7): a repeat within the TTL returns the first id;
 * a repeat with other content is a conflict. Content is compared by a SHA-256 digest of topic,
 * event name and data, so a 64 KiB event costs 32 bytes to remember.
 */
import { createHash } from 'node:crypto';
import { GatewayError } from '../errors.js';

interface Remembered {
  readonly id: string;
  readonly digest: string;
  readonly expiresAt: number;
}

export type IdempotencyVerdict =
  | { readonly kind: 'new' }
  | { readonly kind: 'repeat'; readonly id: string }
  | { readonly kind: 'conflict' };

export function contentDigest(topic: string, event: string | undefined, data: string): string {
  // A NUL cannot occur in a topic or event name, so the fields cannot run into each other.
  return createHash('sha256')
    .update(topic)
    .update('\0')
    .update(event ?? '')
    .update('\0')
    .update(data)
    .digest('base64');
}

export class IdempotencyCache {
  /** Insertion-ordered; every entry has the same TTL, so the oldest expire first. */
  readonly #entries = new Map<string, Remembered>();

  /** @param ttlMs - how long a key is remembered, in ms (`IDEMPOTENCY_TTL_MS`). */
  constructor(readonly ttlMs: number) {}

  get size(): number {
    return this.#entries.size;
  }

  check(key: string, digest: string, now: number): IdempotencyVerdict {
    this.#expire(now);
    const known = this.#entries.get(key);
    if (known === undefined) return { kind: 'new' };
    return known.digest === digest ? { kind: 'repeat', id: known.id } : { kind: 'conflict' };
  }

  remember(key: string, digest: string, id: string, now: number): void {
    this.#entries.set(key, { id, digest, expiresAt: now + this.ttlMs });
  }

  #expire(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) return;
      this.#entries.delete(key);
    }
  }
}

/** The 409 both brokers answer when a key comes back with other content (SPEC 7). */
export function idempotencyConflict(key: string): GatewayError {
  return new GatewayError(
    'IDEMPOTENCY_CONFLICT',
    `Idempotency key "${key}" was already used for a different event (topic, event name or data). Use a new key for new content.`,
  );
}
