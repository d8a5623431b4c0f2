import { RedisServer } from '@ssehub/local-redis';
import { ensureMetaScript, headScript } from '@ssehub/protocol/scripts';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptRunner } from './script-runner.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url);
});

afterAll(async () => {
  await redis.quit();
  await server.stop();
});

describe('ScriptRunner on a real Redis', () => {
  const keys = { prefix: 'runner', shardCount: 1 };
  const settings = {
    historySize: 5,
    historyTtlMs: 60_000,
    idempotencyTtlMs: 60_000,
    maxEventBytes: 100,
  };

  it('runs the protocol scripts on an ioredis client, again after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const runner = new ScriptRunner(redis);
    const created = await runner.run(ensureMetaScript, {
      keys,
      shard: 0,
      candidateEpoch: 'AbCd',
      apply: false,
      settings,
    });
    expect(created).toMatchObject({ kind: 'ok', epoch: 'AbCd', maxEventBytes: '100' });
    await redis.script('FLUSH');
    expect(await runner.run(headScript, { keys, shard: 0 })).toEqual({
      kind: 'head',
      epoch: 'AbCd',
      lastGeneratedId: '0-0',
    });
    expect(await runner.run(headScript, { keys: { ...keys, prefix: 'other' }, shard: 0 })).toEqual({
      kind: 'nometa',
    });
  });
});
