import { describe, expect, it } from 'vitest';
import type { KeySpace } from '../redis-keys.js';
import {
  ScriptReplyError,
  bumpEpochScript,
  checkPositionScript,
  conflictingKey,
  ensureMetaScript,
  headScript,
  publishScript,
  readScript,
} from './index.js';

const keys: KeySpace = { prefix: 'ssehub', shardCount: 2 };
const meta = 'ssehub:{ssehub:s1}:meta';
const log = 'ssehub:{ssehub:s1}:log';
const settings = {
  historySize: 10,
  historyTtlMs: 20,
  idempotencyTtlMs: 30,
  maxEventBytes: 40,
};

describe('ensure-meta', () => {
  it('packs the settings, the known epoch, and create only when given', () => {
    const base = { keys, shard: 1, candidateEpoch: 'AbCd', apply: true, settings };
    expect(ensureMetaScript.call(base)).toEqual({
      keys: [meta],
      args: ['1', '2', 'AbCd', '1', '10', '20', '30', '40', ''],
    });
    expect(
      ensureMetaScript.call({ ...base, apply: false, knownEpoch: 'Old0', create: false }),
    ).toEqual({ keys: [meta], args: ['1', '2', 'AbCd', '0', '10', '20', '30', '40', 'Old0', '0'] });
    expect(ensureMetaScript.call({ ...base, create: true }).args.at(-1)).toBe('1');
  });

  it('parses each documented reply', () => {
    expect(ensureMetaScript.parse(['ok', 'AbCd', '10', '20', null, '40'])).toEqual({
      kind: 'ok',
      epoch: 'AbCd',
      historySize: '10',
      historyTtlMs: '20',
      idempotencyTtlMs: null,
      maxEventBytes: '40',
    });
    expect(ensureMetaScript.parse(['mismatch', 'shards', '4'])).toEqual({
      kind: 'mismatch',
      field: 'shards',
      stored: '4',
    });
    expect(ensureMetaScript.parse(['nometa'])).toEqual({ kind: 'nometa' });
  });

  it.each([[null], ['ok'], [['ok', 'AbCd']], [['mismatch', 'prefix', 'x']], [[1]], [[]]])(
    'refuses %j',
    (reply) => {
      expect(() => ensureMetaScript.parse(reply)).toThrow(ScriptReplyError);
    },
  );
});

describe('publish', () => {
  const input = {
    keys,
    shard: 1,
    sharded: false,
    events: [
      { topic: 'a', data: 'x', idempotencyKey: 'k1' },
      { topic: 'a/b', event: 'named', data: '{}' },
    ],
  };

  it('packs the keys of events with an idempotency key, and 4 values per event', () => {
    expect(publishScript.call(input)).toEqual({
      keys: [meta, log, 'ssehub:{ssehub:s1}:idem:k1'],
      args: ['ssehub:{ssehub:s1}:', 'PUBLISH', '2', 'a', '', 'x', '1', 'a/b', 'named', '{}', ''],
    });
    expect(publishScript.call({ ...input, sharded: true }).args[1]).toBe('SPUBLISH');
  });

  it('parses each documented reply', () => {
    expect(publishScript.parse(['AbCd', 1, '1-0', '1-0'])).toEqual({
      kind: 'stored',
      epoch: 'AbCd',
      stored: 1,
      streamIds: ['1-0', '1-0'],
    });
    expect(publishScript.parse(['conflict', 'ssehub:{ssehub:s1}:idem:k1'])).toEqual({
      kind: 'conflict',
      key: 'ssehub:{ssehub:s1}:idem:k1',
    });
    expect(publishScript.parse(['nometa'])).toEqual({ kind: 'nometa' });
  });

  it.each([['AbCd'], [['AbCd', '1', '1-0']], [['AbCd', 1, 2]], [['conflict']], [{}]])(
    'refuses %j',
    (reply) => {
      expect(() => publishScript.parse(reply)).toThrow(ScriptReplyError);
    },
  );

  it('finds the caller key behind a conflict', () => {
    expect(conflictingKey(input, 'ssehub:{ssehub:s1}:idem:k1')).toBe('k1');
    expect(conflictingKey(input, 'ssehub:{ssehub:s1}:idem:other')).toBeUndefined();
  });
});

describe('read', () => {
  it('packs the cursor, the page size and the TTL', () => {
    const after = { epoch: 'AbCd', position: { ms: 5, seq: 1 } };
    expect(readScript.call({ keys, shard: 1, after, limit: 3, historyTtlMs: 9 })).toEqual({
      keys: [meta, log],
      args: ['AbCd', '5-1', '3', '9'],
    });
    expect(
      readScript.call({ keys, shard: 1, after: 'earliest', limit: 3, historyTtlMs: 9 }).args,
    ).toEqual(['', '', '3', '9']);
  });

  it('parses entries, verdicts and nometa', () => {
    expect(
      readScript.parse(['ok', 'AbCd', '2-0', '1-0', 'a', '', 'x', '2-0', 'b', 'e', 'y']),
    ).toEqual({
      kind: 'ok',
      epoch: 'AbCd',
      lastGeneratedId: '2-0',
      entries: [
        { id: '1-0', topic: 'a', event: '', data: 'x' },
        { id: '2-0', topic: 'b', event: 'e', data: 'y' },
      ],
    });
    expect(readScript.parse(['lost', 'AbCd', '2-0'])).toEqual({
      kind: 'lost',
      epoch: 'AbCd',
      lastGeneratedId: '2-0',
    });
    expect(readScript.parse(['nometa'])).toEqual({ kind: 'nometa' });
  });

  it.each([[['ok', 'AbCd', '2-0', '1-0', 'a']], [['later', 'AbCd', '2-0']], [['trimmed', 'AbCd']]])(
    'refuses %j',
    (reply) => {
      expect(() => readScript.parse(reply)).toThrow(ScriptReplyError);
    },
  );
});

describe('head, check-position, bump-epoch', () => {
  it('pack their keys and arguments', () => {
    expect(headScript.call({ keys, shard: 1 })).toEqual({ keys: [meta, log], args: [] });
    expect(
      checkPositionScript.call({ keys, shard: 1, epoch: 'AbCd', position: { ms: 0, seq: 0 } }),
    ).toEqual({ keys: [meta, log], args: ['AbCd', '0-0'] });
    expect(bumpEpochScript.call({ keys, shard: 1, seen: 'AbCd', next: 'EfGh' })).toEqual({
      keys: [meta],
      args: ['AbCd', 'EfGh'],
    });
  });

  it('parse their replies', () => {
    expect(headScript.parse(['AbCd', '0-0'])).toEqual({
      kind: 'head',
      epoch: 'AbCd',
      lastGeneratedId: '0-0',
    });
    expect(headScript.parse(['nometa'])).toEqual({ kind: 'nometa' });
    expect(checkPositionScript.parse(['ok', '3-0'])).toEqual({
      kind: 'ok',
      lastGeneratedId: '3-0',
    });
    expect(checkPositionScript.parse(['epoch', 'EfGh'])).toEqual({
      kind: 'epoch',
      current: 'EfGh',
    });
    expect(checkPositionScript.parse(['backwards'])).toEqual({ kind: 'backwards' });
    expect(bumpEpochScript.parse('EfGh')).toEqual({ kind: 'epoch', current: 'EfGh' });
    expect(bumpEpochScript.parse(null)).toEqual({ kind: 'epoch', current: null });
  });

  it('refuse other shapes, naming the script', () => {
    expect(() => headScript.parse(['AbCd'])).toThrow(/head script/);
    expect(() => checkPositionScript.parse(['gone'])).toThrow(/check-position script/);
    expect(() => bumpEpochScript.parse(['EfGh'])).toThrow(ScriptReplyError);
  });
});
