import { describe, expect, it } from 'vitest';
import { groupByShard, storeByShard } from './shard-batch.js';

const topics = ['a', 'b', 'a', 'c'];
const shardOf = (topic: string): number => (topic === 'b' ? 1 : 0);

describe('groupByShard', () => {
  it('lists each shard’s indexes in input order', () => {
    expect([...groupByShard(topics, shardOf)]).toEqual([
      [0, [0, 2, 3]],
      [1, [1]],
    ]);
  });
});

describe('storeByShard', () => {
  const groups = groupByShard(topics, shardOf);

  it('puts the ids back in input order', async () => {
    const outcome = await storeByShard(topics, groups, (shard, items) =>
      Promise.resolve({ ids: items.map((t, i) => `${shard}:${t}:${i}`) }),
    );
    expect(outcome.ok).toBe(true);
    expect(outcome.ids).toEqual(['0:a:0', '1:b:0', '0:a:1', '0:c:2']);
  });

  it('reports a partly stored batch: the stored ids, null for the others, the failure', async () => {
    const failure = new Error('shard 1 down');
    const outcome = await storeByShard(topics, groups, (shard, items) =>
      shard === 1 ? Promise.reject(failure) : Promise.resolve({ ids: items.map(() => 'id') }),
    );
    expect(outcome).toMatchObject({ ok: false, partial: true, failure });
    expect(outcome.ids).toEqual(['id', null, 'id', 'id']);
  });

  it('is not partial when nothing was stored', async () => {
    const outcome = await storeByShard(topics, groups, () => Promise.reject(new Error('down')));
    expect(outcome).toMatchObject({ ok: false, partial: false });
  });
});
