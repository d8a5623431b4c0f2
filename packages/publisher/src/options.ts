/**
 * Checks of `createPublisher`'s options, before any I/O, and the deployment settings a publisher
 * with `settings` fills the missing ones from.
 */
import { DEPLOYMENT_DEFAULTS, MAX_SHARDS, validatePrefix } from '@ssehub/protocol';
import { PublisherError } from './errors.js';
import type { DeploymentSettings, PublisherOptions } from './types.js';

/**
 * The gateway's defaults for the settings a shard's meta hash holds (`DEPLOYMENT_DEFAULTS` of
 * `@ssehub/protocol`, which the gateway's settings table uses too). A
 * publisher created with {@link PublisherOptions.settings} fills the settings it leaves out with
 * these; a publisher without `settings` never writes them (it waits for a gateway instead).
 */
export const DEFAULT_META = {
  historySize: DEPLOYMENT_DEFAULTS.historySize,
  historyTtlMs: DEPLOYMENT_DEFAULTS.historyTtlMs,
  idempotencyTtlMs: DEPLOYMENT_DEFAULTS.idempotencyTtlMs,
  maxEventBytes: DEPLOYMENT_DEFAULTS.maxEventBytes,
} as const;

/** An `INVALID_OPTIONS` error with `message`. */
export function invalidOptions(message: string): PublisherError {
  return new PublisherError('INVALID_OPTIONS', message);
}

/** The four settings of a meta hash, all given. */
export type MetaSettings = { readonly [K in keyof DeploymentSettings]-?: number };

/** `settings` filled with {@link DEFAULT_META}, or undefined when the caller gave none. */
export function checkSettings(settings: DeploymentSettings | undefined): MetaSettings | undefined {
  if (settings === undefined) return undefined;
  // Lower bounds as the gateway's configuration has them (HISTORY_SIZE 0 turns history off).
  const lowest: MetaSettings = {
    historySize: 0,
    historyTtlMs: 1,
    idempotencyTtlMs: 1,
    maxEventBytes: 1,
  };
  const filled = { ...DEFAULT_META, ...settings };
  for (const key of Object.keys(lowest) as (keyof MetaSettings)[]) {
    const value = filled[key];
    if (!Number.isSafeInteger(value) || value < lowest[key]) {
      throw invalidOptions(
        `settings.${key} is ${String(value)}; pass the deployment's value, an integer of at least ${lowest[key]}.`,
      );
    }
  }
  return filled;
}

/** Checks `prefix`, `shards` and `commandTimeoutMs`; throws `INVALID_OPTIONS`. */
export function checkOptions(options: PublisherOptions): { prefix: string; shards: number } {
  const prefix = options.prefix ?? DEPLOYMENT_DEFAULTS.prefix;
  try {
    validatePrefix(prefix);
  } catch (err) {
    throw new PublisherError(
      'INVALID_OPTIONS',
      `prefix: ${err instanceof Error ? err.message : String(err)} It must equal the deployment's REDIS_PREFIX.`,
      { cause: err },
    );
  }
  const shards = options.shards ?? DEPLOYMENT_DEFAULTS.shards;
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw invalidOptions(
      `shards is ${String(shards)}; pass the deployment's REDIS_SHARDS, an integer from 1 to ${MAX_SHARDS}.`,
    );
  }
  const timeout = options.commandTimeoutMs;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0)) {
    throw invalidOptions(`commandTimeoutMs is ${String(timeout)}; pass a positive integer.`);
  }
  return { prefix, shards };
}
