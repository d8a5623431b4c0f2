/**
 * The cluster-wide replica registry (SPEC 10 `/admin/api/stats`, presence): each replica writes
 * its stats and presence under a key that expires unless refreshed, and indexes itself in a
 * sorted set scored by expiry, so any replica can list the live ones. All keys share one hash
 * tag, so this works on Redis Cluster too.
 */
import type { RedisClient } from './redis-connections.js';
import type { PresenceEntry, ReplicaPresence, ReplicaRegistry, ReplicaStats } from '../broker.js';
import { parseReplicaReport, type ReplicaReport } from './replica-report.js';

/** A replica missing this many report intervals (1 s each) is gone. */
const TTL_MS = 5000;

export class RedisRegistry implements ReplicaRegistry {
  readonly #index: string;
  readonly #base: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.#base = `${prefix}:{${prefix}:replicas}`;
    this.#index = `${this.#base}:index`;
  }

  async report(stats: ReplicaStats, presence: readonly PresenceEntry[]): Promise<void> {
    const expiresAt = Date.now() + TTL_MS;
    await this.redis
      .multi()
      .set(`${this.#base}:r:${stats.id}`, JSON.stringify({ stats, presence }), 'PX', TTL_MS)
      .zadd(this.#index, expiresAt, stats.id)
      .zremrangebyscore(this.#index, '-inf', Date.now())
      .exec();
  }

  async replicas(): Promise<ReplicaStats[]> {
    return (await this.#reports()).map((r) => r.stats);
  }

  async presence(): Promise<ReplicaPresence[]> {
    return (await this.#reports()).map((r) => ({ replica: r.stats.id, entries: r.presence }));
  }

  async #reports(): Promise<ReplicaReport[]> {
    const ids = await this.redis.zrangebyscore(this.#index, Date.now(), '+inf');
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => `${this.#base}:r:${id}`));
    const reports: ReplicaReport[] = [];
    for (const value of values) {
      if (value === null) continue;
      const report = parseReplicaReport(value);
      // Undefined: written by something else; skip it.
      if (report !== undefined) reports.push(report);
    }
    return reports;
  }
}
