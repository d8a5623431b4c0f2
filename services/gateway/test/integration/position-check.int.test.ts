/**
 * CHECK_POSITION_SCRIPT against a real Redis (issue #10): the relay trusts its verdict before
 * every backfill, so each branch is pinned here on streams built to match the case, including
 * the ones wall-clock ids cannot tell apart (history that went backwards, then grew past the
 * position again).
 */
import { randomUUID } from 'node:crypto';
import { CHECK_POSITION_SCRIPT } from '@ssehub/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(() => {
  redis.disconnect();
});

/** A meta hash with epoch `AbCd` and a stream holding entries with the given ids. */
async function shard(ids: readonly string[]): Promise<{ meta: string; stream: string }> {
  const base = `t${randomUUID().replaceAll('-', '')}`;
  const meta = `${base}:meta`;
  const stream = `${base}:log`;
  await redis.hset(meta, 'epoch', 'AbCd');
  for (const id of ids) await redis.xadd(stream, id, 'd', 'x');
  return { meta, stream };
}

async function check(keys: { meta: string; stream: string }, seen: string, epoch = 'AbCd') {
  return redis.eval(CHECK_POSITION_SCRIPT, 2, keys.meta, keys.stream, epoch, seen);
}

describe('CHECK_POSITION_SCRIPT (#10)', () => {
  it('ok, with the newest id, for a position still in history', async () => {
    const keys = await shard(['1-0', '2-0', '3-0']);
    expect(await check(keys, '2-0')).toEqual(['ok', '3-0']);
    expect(await check(keys, '3-0')).toEqual(['ok', '3-0']);
  });

  it('ok for 0-0 on a stream that never lost an entry, and on a stream that does not exist', async () => {
    expect(await check(await shard(['1-0']), '0-0')).toEqual(['ok', '1-0']);
    expect(await check(await shard([]), '0-0')).toEqual(['ok', '0-0']);
  });

  it('trimmed for a position older than the retained history', async () => {
    const keys = await shard(['1-0', '2-0', '3-0', '4-0']);
    await redis.xtrim(keys.stream, 'MAXLEN', 2);
    expect(await check(keys, '1-0')).toEqual(['trimmed']);
    expect(await check(keys, '0-0')).toEqual(['trimmed']);
  });

  it('ok when everything was trimmed but nothing came after the position (HISTORY_SIZE=0)', async () => {
    const keys = await shard(['1-0', '2-0']);
    await redis.xtrim(keys.stream, 'MAXLEN', 0);
    expect(await check(keys, '2-0')).toEqual(['ok', '2-0']);
    expect(await check(keys, '1-0')).toEqual(['trimmed']);
  });

  it('backwards for a position above the newest id (a replica that missed the newest events)', async () => {
    expect(await check(await shard(['1-0', '2-0']), '5-0')).toEqual(['backwards']);
  });

  it('backwards for a missing position the history would hold, even once newer ids exist again', async () => {
    // The new master lacks 3-0 and 4-0, then accepted 9-0: its newest id is above the position.
    expect(await check(await shard(['1-0', '2-0', '9-0']), '4-0')).toEqual(['backwards']);
  });

  it('backwards for a missing position below the first entry when nothing was ever trimmed', async () => {
    expect(await check(await shard(['7-0', '8-0']), '4-0')).toEqual(['backwards']);
  });

  it('epoch when the shard follows another epoch, nometa when the hash is gone', async () => {
    const keys = await shard(['1-0']);
    expect(await check(keys, '1-0', 'ZzZz')).toEqual(['epoch', 'AbCd']);
    await redis.del(keys.meta);
    expect(await check(keys, '1-0')).toEqual(['nometa']);
  });
});
