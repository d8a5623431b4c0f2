/**
 * A batch of events over shards: one script call per shard (all or nothing within a shard), run
 * in parallel, with the ids put back in input order. When one shard fails after another stored
 * its events, the batch is partly stored: the caller reports which ids exist.
 */

/** The indexes of `items` that map to each shard, in input order, by first appearance. */
export function groupByShard<T>(
  items: readonly T[],
  shardOf: (item: T) => number,
): Map<number, number[]> {
  const byShard = new Map<number, number[]>();
  for (const [index, item] of items.entries()) {
    const shard = shardOf(item);
    const list = byShard.get(shard) ?? [];
    list.push(index);
    byShard.set(shard, list);
  }
  return byShard;
}

/** What one shard's call resolved to: one id per event given, in order. */
export interface ShardResult {
  readonly ids: readonly string[];
}

/** Every shard stored its events. */
export interface BatchStored<R extends ShardResult> {
  readonly ok: true;
  /** One id per event, in input order. */
  readonly ids: string[];
  /** Each shard's result, in the order the shards finished. */
  readonly results: R[];
}

/** At least one shard failed. */
export interface BatchFailed<R extends ShardResult> {
  readonly ok: false;
  /** Per event, its id when its shard stored it, null otherwise. */
  readonly ids: (string | null)[];
  /** True when some shard did store its events (the batch is partly stored). */
  readonly partial: boolean;
  /** The first shard failure, as thrown. */
  readonly failure: unknown;
  /** The results of the shards that stored. */
  readonly results: R[];
}

/** Outcome of {@link storeByShard}. */
export type BatchOutcome<R extends ShardResult> = BatchStored<R> | BatchFailed<R>;

/**
 * Runs `store` once per shard of `groups` (from {@link groupByShard}) with that shard's items,
 * all shards at once, and assembles the ids in input order. Never rejects: failures are in the
 * outcome.
 */
export async function storeByShard<T, R extends ShardResult>(
  items: readonly T[],
  groups: ReadonlyMap<number, readonly number[]>,
  store: (shard: number, items: T[]) => Promise<R>,
): Promise<BatchOutcome<R>> {
  const ids = new Array<string | null>(items.length).fill(null);
  const results: R[] = [];
  const failures: unknown[] = [];
  await Promise.all(
    [...groups].map(async ([shard, indexes]) => {
      try {
        const picked = indexes.map((i) => items[i]).filter((e): e is T => e !== undefined);
        const result = await store(shard, picked);
        for (const [k, index] of indexes.entries()) ids[index] = result.ids[k] ?? null;
        results.push(result);
      } catch (err) {
        failures.push(err);
      }
    }),
  );
  if (failures.length === 0) return { ok: true, ids: ids.map((id) => id ?? ''), results };
  return {
    ok: false,
    ids,
    partial: ids.some((id) => id !== null),
    failure: failures[0],
    results,
  };
}
