/**
 * The broker topology, derived from the resolved `REDIS_*` settings in one place: the gateway
 * builds its broker from it, the startup log names it, and the test fixture reuses it.
 *
 * Derived rather than stored on {@link GatewayConfig}: the config's fields are its public shape
 * (tests compare it whole, deploy checks list its keys as settings, and `main.ts` spreads it back
 * into `createGateway()` options, where a `broker` key is the injected broker instance).
 */
import type { BrokerConfig, GatewayConfig } from './types.js';

/** The settings {@link brokerOf} reads. */
export type BrokerSettings = Pick<
  GatewayConfig,
  'redisUrl' | 'redisSentinels' | 'redisSentinelName' | 'redisClusterNodes'
>;

/**
 * The broker the settings select. `resolveConfig` allows at most one of the three server
 * settings and the Sentinel name only with the sentinels, so the order of the checks below never
 * decides between two given settings.
 *
 * @param config - Resolved settings (only the `REDIS_*` server settings are read).
 * @returns A new topology; `{ kind: 'embedded' }` when no Redis server is set.
 */
export function brokerOf(config: BrokerSettings): BrokerConfig {
  if (config.redisClusterNodes !== undefined) {
    return { kind: 'cluster', nodes: config.redisClusterNodes };
  }
  if (config.redisSentinels !== undefined && config.redisSentinelName !== undefined) {
    return { kind: 'sentinel', sentinels: config.redisSentinels, name: config.redisSentinelName };
  }
  if (config.redisUrl !== undefined) return { kind: 'standalone', url: config.redisUrl };
  return { kind: 'embedded' };
}
