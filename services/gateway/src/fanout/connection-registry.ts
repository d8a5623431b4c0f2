/**
 * Every open stream of this replica: what the heartbeat, drain, age and buffer rules walk over,
 * and where stats and presence come from.
 */
import type { PresenceEntry } from '../broker/broker.js';
import type { SseConnection } from '../sse/sse-connection.js';
import type { CloseReason } from '../sse/close-reason.js';

export class ConnectionRegistry {
  readonly #connections = new Set<SseConnection>();

  get size(): number {
    return this.#connections.size;
  }

  add(conn: SseConnection): void {
    this.#connections.add(conn);
  }

  delete(conn: SseConnection): void {
    this.#connections.delete(conn);
  }

  [Symbol.iterator](): IterableIterator<SseConnection> {
    return this.#connections.values();
  }

  /** Distinct patterns over all streams (the `topics` figure of `/admin/api/stats`). */
  distinctPatterns(): number {
    const seen = new Set<string>();
    for (const conn of this.#connections) for (const p of conn.patterns) seen.add(p.source);
    return seen.size;
  }

  /**
   * Authenticated subjects' streams, one entry per subject and set of patterns: presence counts
   * only the streams whose own patterns overlap the asked pattern, so streams of one subject
   * with different subscriptions must not be merged into one entry.
   */
  presence(): PresenceEntry[] {
    const groups = new Map<string, { sub: string; connections: number; patterns: string[] }>();
    for (const conn of this.#connections) {
      if (conn.subject === undefined) continue;
      const patterns = [...new Set(conn.patterns.map((p) => p.source))].sort();
      const key = JSON.stringify([conn.subject, patterns]);
      const group = groups.get(key);
      if (group === undefined) groups.set(key, { sub: conn.subject, connections: 1, patterns });
      else group.connections += 1;
    }
    return [...groups.values()];
  }

  /** Closes every stream covering a shard (after a broker gap that could not be backfilled). */
  closeShard(shard: number, reason: CloseReason): void {
    for (const conn of [...this.#connections]) {
      if (conn.shards.includes(shard)) conn.close(reason);
    }
  }

  closeAll(reason: CloseReason): void {
    for (const conn of [...this.#connections]) conn.close(reason);
  }

  /**
   * Closes every stream, spread evenly over `overMs`, so clients reconnect to other replicas
   * without a herd (SPEC 10 SIGTERM). Resolves when the last one is closed.
   */
  async drainGradually(overMs: number, reason: CloseReason): Promise<void> {
    const all = [...this.#connections];
    if (all.length === 0) return;
    const start = Date.now();
    const dueAt = (index: number): number => start + (overMs * index) / all.length;
    let next = 0;
    while (next < all.length) {
      const now = Date.now();
      for (let conn = all[next]; conn !== undefined && dueAt(next) <= now; conn = all[next]) {
        conn.close(reason);
        next += 1;
      }
      if (next < all.length) await sleep(Math.max(1, dueAt(next) - Date.now()));
    }
    // Streams opened during the drain (there should be none: new ones are turned away).
    this.closeAll(reason);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
