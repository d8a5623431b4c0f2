import { describe, expect, it } from 'vitest';
import { coveringChannels, isCoveredBy, parseChannel } from './channel-cover.js';

const base = 'ssehub:{ssehub:s0}:';

describe('channel cover', () => {
  it('parses the three channel kinds and rejects other names', () => {
    expect(parseChannel(`${base}t:a/b`)).toEqual({ base, kind: 'exact', topic: 'a/b' });
    expect(parseChannel(`${base}sub:a/b`)).toEqual({ base, kind: 'subtree', topic: 'a/b' });
    expect(parseChannel(`${base}all`)).toEqual({ base, kind: 'all', topic: '' });
    expect(parseChannel('plain')).toBeUndefined();
    expect(parseChannel(`${base}other`)).toBeUndefined();
  });

  it('lists what covers an exact channel: its own subtree, every ancestor subtree, the shard', () => {
    expect(coveringChannels(`${base}t:a/b/c`)).toEqual([
      `${base}sub:a/b/c`,
      `${base}sub:a/b`,
      `${base}sub:a`,
      `${base}all`,
    ]);
  });

  it('lists what covers a subtree channel: proper ancestors and the shard, not itself', () => {
    expect(coveringChannels(`${base}sub:a/b`)).toEqual([`${base}sub:a`, `${base}all`]);
    expect(coveringChannels(`${base}sub:a`)).toEqual([`${base}all`]);
    expect(coveringChannels(`${base}all`)).toEqual([]);
  });

  it('never covers across shards or siblings', () => {
    expect(isCoveredBy(`${base}t:a/b`, 'ssehub:{ssehub:s1}:sub:a')).toBe(false);
    expect(isCoveredBy(`${base}t:ab`, `${base}sub:a`)).toBe(false);
    expect(isCoveredBy(`${base}sub:a`, `${base}sub:a`)).toBe(false);
    expect(isCoveredBy(`${base}t:a`, `${base}sub:a`)).toBe(true);
  });
});
