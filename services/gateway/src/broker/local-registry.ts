/**
 * The replica registry of a single replica: what it last reported is all there is. The Redis
 * broker replaces it with one shared through Redis keys with a TTL.
 */
import type { PresenceEntry, ReplicaPresence, ReplicaRegistry, ReplicaStats } from './broker.js';

export class LocalRegistry implements ReplicaRegistry {
  #stats: ReplicaStats | undefined;
  #presence: readonly PresenceEntry[] = [];

  report(stats: ReplicaStats, presence: readonly PresenceEntry[]): Promise<void> {
    this.#stats = stats;
    this.#presence = presence;
    return Promise.resolve();
  }

  replicas(): Promise<ReplicaStats[]> {
    return Promise.resolve(this.#stats === undefined ? [] : [this.#stats]);
  }

  presence(): Promise<ReplicaPresence[]> {
    if (this.#stats === undefined) return Promise.resolve([]);
    return Promise.resolve([{ replica: this.#stats.id, entries: this.#presence }]);
  }
}
