import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headScript } from '@ssehub/protocol/scripts';
import { ScriptRunner, type ScriptClient } from './script-runner.js';

/** A Redis that knows the scripts it was sent with EVAL, and counts the calls. */
function fakeRedis(): ScriptClient & { calls: string[] } {
  const known = new Set<string>();
  const calls: string[] = [];
  return {
    calls,
    evalsha(sha, numKeys, ...rest) {
      calls.push(`evalsha ${numKeys} ${rest.join(' ')}`);
      if (!known.has(sha)) return Promise.reject(new Error('NOSCRIPT No matching script.'));
      return Promise.resolve(['AbCd', '0-0']);
    },
    eval(source, numKeys, ...rest) {
      calls.push(`eval ${numKeys} ${rest.join(' ')}`);
      known.add(createHash('sha1').update(source).digest('hex'));
      return Promise.resolve(['AbCd', '0-0']);
    },
  };
}

describe('ScriptRunner', () => {
  it('sends the source only when Redis answers NOSCRIPT', async () => {
    const redis = fakeRedis();
    const runner = new ScriptRunner(redis);
    const call = { keys: ['k1', 'k2'], args: ['a'] };
    expect(await runner.evaluate('return 1', call)).toEqual(['AbCd', '0-0']);
    expect(await runner.evaluate('return 1', call)).toEqual(['AbCd', '0-0']);
    expect(redis.calls).toEqual(['evalsha 2 k1 k2 a', 'eval 2 k1 k2 a', 'evalsha 2 k1 k2 a']);
  });

  it('passes other errors through as they are', async () => {
    const error = new Error('ERR connection lost');
    const runner = new ScriptRunner({
      evalsha: () => Promise.reject(error),
      eval: () => Promise.reject(new Error('not reached')),
    });
    await expect(runner.evaluate('return 1', { keys: [], args: [] })).rejects.toBe(error);
  });

  it('runs a protocol script: builds the call, parses the reply', async () => {
    const runner = new ScriptRunner(fakeRedis());
    const keys = { prefix: 'ssehub', shardCount: 1 };
    expect(await runner.run(headScript, { keys, shard: 0 })).toEqual({
      kind: 'head',
      epoch: 'AbCd',
      lastGeneratedId: '0-0',
    });
  });
});
