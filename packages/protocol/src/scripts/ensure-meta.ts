/** `ensure-meta.lua`: create or check a shard's meta hash (see the file's header). */
import { metaKey, type KeySpace } from '../redis-keys.js';
import { ENSURE_META_SCRIPT } from './generated.js';
import { REDIS_PROTOCOL_VERSION } from './protocol-version.js';
import { ReplyReader } from './reply.js';
import type { NoMetaReply, Script } from './script.js';

/** The deployment settings a meta hash holds (SPEC.md section 9). */
export interface MetaSettings {
  /** Events kept per shard, about (`HISTORY_SIZE`; 0 turns history off). */
  readonly historySize: number;
  /** Age limit of history, in milliseconds (`HISTORY_TTL_MS`). */
  readonly historyTtlMs: number;
  /** How long an idempotency key is remembered, in milliseconds (`IDEMPOTENCY_TTL_MS`). */
  readonly idempotencyTtlMs: number;
  /** Largest event data, in UTF-8 bytes (`MAX_EVENT_BYTES`). */
  readonly maxEventBytes: number;
}

/** Input of {@link ensureMetaScript}. */
export interface EnsureMetaInput {
  /** The deployment's prefix and shard count; the count is checked against the stored one. */
  readonly keys: KeySpace;
  /** The shard, 0-based. */
  readonly shard: number;
  /** The epoch a hash created by this call gets (`newEpoch()`). */
  readonly candidateEpoch: string;
  /** True: write `settings` over an existing hash (a gateway on start); false: leave it. */
  readonly apply: boolean;
  /** The settings of a hash created by this call, and of an existing one when `apply`. */
  readonly settings: MetaSettings;
  /**
   * The epoch the caller knew, recorded among the past epochs when the stored one differs.
   * @defaultValue none
   */
  readonly knownEpoch?: string | undefined;
  /**
   * False: do not create a missing hash (reply `nometa`), for a caller without settings of its
   * own. Left out, the argument is not sent and the script creates (what a gateway does).
   * @defaultValue undefined: create
   */
  readonly create?: boolean | undefined;
}

/** The stored meta hash (each field null when the hash lacks it). */
export interface EnsureMetaOk {
  readonly kind: 'ok';
  /** The shard's current epoch. */
  readonly epoch: string | null;
  /** `HISTORY_SIZE`, events, as stored (a decimal string). */
  readonly historySize: string | null;
  /** `HISTORY_TTL_MS`, milliseconds, as stored. */
  readonly historyTtlMs: string | null;
  /** `IDEMPOTENCY_TTL_MS`, milliseconds, as stored. */
  readonly idempotencyTtlMs: string | null;
  /** `MAX_EVENT_BYTES`, UTF-8 bytes, as stored. */
  readonly maxEventBytes: string | null;
}

/** The stored hash was made with another protocol version or shard count. */
export interface EnsureMetaMismatch {
  readonly kind: 'mismatch';
  /** Which fixed setting differs. */
  readonly field: 'version' | 'shards';
  /** Its stored value ('' when unset). */
  readonly stored: string;
}

/** Reply of {@link ensureMetaScript}. */
export type EnsureMetaReply = EnsureMetaOk | EnsureMetaMismatch | NoMetaReply;

const EXPECTED =
  "{ 'ok', epoch, historySize, historyTtlMs, idempotencyTtlMs, maxEventBytes }, { 'mismatch', 'version' | 'shards', stored } or { 'nometa' }";

/** Creates or checks a shard's meta hash. */
export const ensureMetaScript: Script<EnsureMetaInput, EnsureMetaReply> = {
  name: 'ensure-meta',
  source: ENSURE_META_SCRIPT,
  call(input) {
    const { settings } = input;
    const args = [
      REDIS_PROTOCOL_VERSION,
      String(input.keys.shardCount),
      input.candidateEpoch,
      input.apply ? '1' : '0',
      String(settings.historySize),
      String(settings.historyTtlMs),
      String(settings.idempotencyTtlMs),
      String(settings.maxEventBytes),
      input.knownEpoch ?? '',
    ];
    if (input.create !== undefined) args.push(input.create ? '1' : '0');
    return { keys: [metaKey(input.keys, input.shard)], args };
  },
  parse(reply) {
    const r = new ReplyReader('ensure-meta', EXPECTED, reply);
    const items = r.array(1);
    switch (items[0]) {
      case 'nometa':
        return { kind: 'nometa' };
      case 'mismatch': {
        const field = items[1];
        if (field !== 'version' && field !== 'shards') throw r.fail();
        return { kind: 'mismatch', field, stored: r.string(items, 2) };
      }
      case 'ok':
        r.array(6);
        return {
          kind: 'ok',
          epoch: r.stringOrNull(items, 1),
          historySize: r.stringOrNull(items, 2),
          historyTtlMs: r.stringOrNull(items, 3),
          idempotencyTtlMs: r.stringOrNull(items, 4),
          maxEventBytes: r.stringOrNull(items, 5),
        };
      default:
        throw r.fail();
    }
  },
};
