/**
 * `@ssehub/protocol/scripts`: the Lua scripts every writer and reader of a deployment's Redis
 * runs (DESIGN.md "Data path"), each as a {@link Script}: its source, a pure builder of its KEYS
 * and ARGV, and a parser that checks its reply. Each runs on one shard: all its keys share the
 * shard's hash tag, so it is atomic on Redis Cluster too. No I/O: running them is
 * `@ssehub/redis-client`'s job.
 *
 * @packageDocumentation
 */
export { ScriptReplyError } from './script.js';
export type { NoMetaReply, Script, ScriptCall } from './script.js';
export { REDIS_PROTOCOL_VERSION } from './protocol-version.js';
export { ensureMetaScript } from './ensure-meta.js';
export type {
  EnsureMetaInput,
  EnsureMetaMismatch,
  EnsureMetaOk,
  EnsureMetaReply,
  MetaSettings,
} from './ensure-meta.js';
export { conflictingKey, publishScript } from './publish.js';
export type {
  PublishConflict,
  PublishEvent,
  PublishInput,
  PublishReply,
  PublishStored,
} from './publish.js';
export { readScript } from './read.js';
export type { ReadEntry, ReadInput, ReadOk, ReadRefused, ReadReply } from './read.js';
export { headScript } from './head.js';
export type { HeadInput, HeadPosition, HeadReply } from './head.js';
export { checkPositionScript } from './check-position.js';
export type { CheckPositionInput, CheckPositionReply } from './check-position.js';
export { bumpEpochScript } from './bump-epoch.js';
export type { BumpEpochInput, BumpEpochReply } from './bump-epoch.js';
