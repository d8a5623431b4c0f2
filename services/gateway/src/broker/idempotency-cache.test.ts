import { describe, expect, it } from 'vitest';
import { IdempotencyCache, contentDigest } from './idempotency-cache.js';

describe('contentDigest', () => {
  it('is stable for equal content', () => {
    expect(contentDigest('pets/dogs', 'new-dog', 'Corgi')).toBe(
      contentDigest('pets/dogs', 'new-dog', 'Corgi'),
    );
  });

  it('differs when the topic, the event name or the data differs', () => {
    const base = contentDigest('pets/dogs', 'new-dog', 'Corgi');
    expect(contentDigest('pets/cats', 'new-dog', 'Corgi')).not.toBe(base);
    expect(contentDigest('pets/dogs', 'old-dog', 'Corgi')).not.toBe(base);
    expect(contentDigest('pets/dogs', undefined, 'Corgi')).not.toBe(base);
    expect(contentDigest('pets/dogs', 'new-dog', 'Corgi ')).not.toBe(base);
  });

  it('does not let fields run into each other', () => {
    expect(contentDigest('ab', undefined, 'c')).not.toBe(contentDigest('a', 'b', 'c'));
    expect(contentDigest('a', 'bc', '')).not.toBe(contentDigest('a', 'b', 'c'));
  });
});

describe('IdempotencyCache', () => {
  const d1 = contentDigest('t', undefined, 'one');
  const d2 = contentDigest('t', undefined, 'two');

  it('answers new for an unknown key', () => {
    const cache = new IdempotencyCache(1000);
    expect(cache.check('k', d1, 0)).toEqual({ kind: 'new' });
    expect(cache.size).toBe(0);
  });

  it('answers repeat with the first id for the same content', () => {
    const cache = new IdempotencyCache(1000);
    cache.remember('k', d1, 'id-1', 0);
    expect(cache.check('k', d1, 10)).toEqual({ kind: 'repeat', id: 'id-1' });
    expect(cache.size).toBe(1);
  });

  it('answers conflict for the same key with other content', () => {
    const cache = new IdempotencyCache(1000);
    cache.remember('k', d1, 'id-1', 0);
    expect(cache.check('k', d2, 10)).toEqual({ kind: 'conflict' });
  });

  it('keeps keys apart', () => {
    const cache = new IdempotencyCache(1000);
    cache.remember('a', d1, 'id-a', 0);
    cache.remember('b', d2, 'id-b', 0);
    expect(cache.check('a', d1, 1)).toEqual({ kind: 'repeat', id: 'id-a' });
    expect(cache.check('b', d2, 1)).toEqual({ kind: 'repeat', id: 'id-b' });
    expect(cache.check('c', d1, 1)).toEqual({ kind: 'new' });
  });

  it('forgets a key once its TTL has passed (injected clock)', () => {
    const cache = new IdempotencyCache(300);
    cache.remember('k', d1, 'id-1', 1000);
    expect(cache.check('k', d1, 1299)).toEqual({ kind: 'repeat', id: 'id-1' });
    expect(cache.check('k', d2, 1299)).toEqual({ kind: 'conflict' });
    expect(cache.check('k', d2, 1300)).toEqual({ kind: 'new' });
    expect(cache.size).toBe(0);
  });

  it('expires oldest keys first and keeps younger ones', () => {
    const cache = new IdempotencyCache(100);
    cache.remember('old', d1, 'id-old', 0);
    cache.remember('mid', d1, 'id-mid', 50);
    cache.remember('young', d1, 'id-young', 90);
    expect(cache.check('young', d1, 120)).toEqual({ kind: 'repeat', id: 'id-young' });
    expect(cache.size).toBe(2);
    expect(cache.check('mid', d1, 120)).toEqual({ kind: 'repeat', id: 'id-mid' });
    expect(cache.check('old', d1, 120)).toEqual({ kind: 'new' });
    expect(cache.check('mid', d1, 150)).toEqual({ kind: 'new' });
    expect(cache.size).toBe(1);
  });

  it('remembers a key again after it expired, with the new id', () => {
    const cache = new IdempotencyCache(100);
    cache.remember('k', d1, 'id-1', 0);
    expect(cache.check('k', d2, 200)).toEqual({ kind: 'new' });
    cache.remember('k', d2, 'id-2', 200);
    expect(cache.check('k', d2, 250)).toEqual({ kind: 'repeat', id: 'id-2' });
    expect(cache.check('k', d1, 250)).toEqual({ kind: 'conflict' });
  });
});
