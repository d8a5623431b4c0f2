/**
 * `@ssehub/redis-client`: the client side of ssehub's Redis protocol, shared by the gateway and
 * the publisher SDK so it exists once: the script runner (EVALSHA with a NOSCRIPT fallback), the
 * circuit breaker around request-path calls, the request-path connection options, and the
 * per-shard split of a batch. The scripts themselves, their call builders and reply parsers are
 * `@ssehub/protocol/scripts`.
 *
 * @packageDocumentation
 */
export { createBreaker, isBreakerOpen } from './breaker.js';
export type { Breaker, BreakerOptions, BreakerState } from './breaker.js';
export { ScriptRunner } from './script-runner.js';
export type { ScriptClient } from './script-runner.js';
export { clusterNodeOptions, requestPathOptions } from './connection-options.js';
export type { RequestPathOptions } from './connection-options.js';
export { groupByShard, storeByShard } from './shard-batch.js';
export type { BatchFailed, BatchOutcome, BatchStored, ShardResult } from './shard-batch.js';
