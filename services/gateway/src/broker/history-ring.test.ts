import { describe, expect, it } from 'vitest';
import { HistoryRing, type RingEntry } from './history-ring.js';

/** Pushes entries with seq from..to, each `at` = seq * 10 ms unless given. */
function fill(
  ring: HistoryRing<string>,
  from: number,
  to: number,
  at?: (seq: number) => number,
): void {
  for (let seq = from; seq <= to; seq++)
    ring.push({ seq, at: at?.(seq) ?? seq * 10, value: `v${seq}` });
}

const seqs = (entries: readonly RingEntry<string>[]): number[] => entries.map((e) => e.seq);

describe('HistoryRing', () => {
  it('starts empty', () => {
    const ring = new HistoryRing<string>(5, 1000);
    expect(ring.length).toBe(0);
    expect(ring.firstSeq).toBeUndefined();
    expect(ring.after(0, 10)).toEqual([]);
  });

  it('keeps every entry below capacity, oldest first', () => {
    const ring = new HistoryRing<string>(5, 1000);
    fill(ring, 1, 3);
    expect(ring.length).toBe(3);
    expect(ring.firstSeq).toBe(1);
    expect(ring.after(0, 10)).toEqual([
      { seq: 1, at: 10, value: 'v1' },
      { seq: 2, at: 20, value: 'v2' },
      { seq: 3, at: 30, value: 'v3' },
    ]);
  });

  it('reads strictly after a position, up to a limit', () => {
    const ring = new HistoryRing<string>(10, 1000);
    fill(ring, 1, 8);
    expect(seqs(ring.after(3, 10))).toEqual([4, 5, 6, 7, 8]);
    expect(seqs(ring.after(3, 2))).toEqual([4, 5]);
    expect(seqs(ring.after(8, 10))).toEqual([]);
    expect(seqs(ring.after(20, 10))).toEqual([]);
    expect(seqs(ring.after(-5, 3))).toEqual([1, 2, 3]);
  });

  it('is bounded by its capacity: the oldest entries are overwritten', () => {
    const ring = new HistoryRing<string>(5, 1_000_000);
    fill(ring, 1, 12);
    expect(ring.length).toBe(5);
    expect(ring.firstSeq).toBe(8);
    expect(seqs(ring.after(0, 100))).toEqual([8, 9, 10, 11, 12]);
    expect(seqs(ring.after(9, 100))).toEqual([10, 11, 12]);
    expect(ring.after(11, 100).map((e) => e.value)).toEqual(['v12']);
  });

  it('drops entries older than the TTL, keeping one exactly at the limit', () => {
    const ring = new HistoryRing<string>(10, 100);
    fill(ring, 1, 5, (seq) => seq * 50); // at 50, 100, 150, 200, 250
    ring.expire(250); // oldest allowed: 150
    expect(ring.length).toBe(3);
    expect(ring.firstSeq).toBe(3);
    expect(seqs(ring.after(0, 10))).toEqual([3, 4, 5]);
    ring.expire(1000);
    expect(ring.length).toBe(0);
    expect(ring.firstSeq).toBeUndefined();
    expect(ring.after(0, 10)).toEqual([]);
  });

  it('keeps order across wrap-around after expiring and pushing again', () => {
    const ring = new HistoryRing<string>(4, 100);
    fill(ring, 1, 4, () => 0);
    ring.expire(50); // nothing is older than 100 ms yet
    expect(ring.length).toBe(4);
    fill(ring, 5, 6, () => 200); // overwrites 1 and 2
    ring.expire(250); // drops 3 and 4 (at 0)
    expect(seqs(ring.after(0, 10))).toEqual([5, 6]);
    fill(ring, 7, 9, () => 300); // wraps; 5 is overwritten once full
    expect(ring.length).toBe(4);
    expect(ring.firstSeq).toBe(6);
    expect(seqs(ring.after(0, 10))).toEqual([6, 7, 8, 9]);
    expect(seqs(ring.after(7, 10))).toEqual([8, 9]);
  });

  it('keeps nothing with capacity 0 (history off)', () => {
    const ring = new HistoryRing<string>(0, 1000);
    fill(ring, 1, 3);
    expect(ring.length).toBe(0);
    expect(ring.firstSeq).toBeUndefined();
    expect(ring.after(0, 10)).toEqual([]);
    ring.expire(10_000);
    expect(ring.length).toBe(0);
  });
});
