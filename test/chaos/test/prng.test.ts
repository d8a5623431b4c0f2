import { describe, expect, it } from 'vitest';
import { Rng } from '../src/prng.js';
import { FAULT_KINDS, faultsFor, laneOf, planFaults } from '../src/schedule.js';

describe('Rng', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 20 }, () => a.next());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.next())).not.toEqual(xs);
  });

  it('stays in range and covers it', () => {
    const rng = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = rng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
      const n = rng.int(3, 6);
      expect(n).toBeGreaterThanOrEqual(3);
      expect(n).toBeLessThanOrEqual(6);
      seen.add(n);
    }
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });

  it('forks independent but reproducible streams', () => {
    const a = new Rng(1).fork();
    const b = new Rng(1).fork();
    expect(a.next()).toBe(b.next());
    expect(() => new Rng(1).pick([])).toThrow();
  });
});

describe('planFaults', () => {
  const kinds = faultsFor('sentinel');

  it('is the same plan for the same seed', () => {
    const one = planFaults(new Rng(42), { kinds, durationMs: 60_000 });
    const two = planFaults(new Rng(42), { kinds, durationMs: 60_000 });
    expect(two).toEqual(one);
    expect(planFaults(new Rng(43), { kinds, durationMs: 60_000 })).not.toEqual(one);
  });

  it('spaces the faults of a lane by their hold time and a 0.5-3 s gap, within the duration', () => {
    const plan = planFaults(new Rng(5), { kinds, durationMs: 120_000 });
    expect(plan.length).toBeGreaterThan(40);
    for (const lane of [0, 1] as const) {
      const faults = plan.filter((f) => f.lane === lane);
      for (let i = 1; i < faults.length; i++) {
        const prev = faults[i - 1]!;
        const gap = faults[i]!.at - prev.at - prev.holdMs;
        expect(gap).toBeGreaterThanOrEqual(500);
        expect(gap).toBeLessThanOrEqual(3000);
      }
      for (const f of faults) {
        expect(f.at).toBeLessThan(120_000);
        expect(laneOf(f.kind)).toBe(lane);
      }
    }
  });

  it('draws only the kinds asked for, and over time every one of them', () => {
    const plan = planFaults(new Rng(9), { kinds, durationMs: 600_000 });
    expect(new Set(plan.map((f) => f.kind))).toEqual(new Set(kinds));
    const only = planFaults(new Rng(9), { kinds: ['proxy-cut'], durationMs: 30_000 });
    expect(only.every((f) => f.kind === 'proxy-cut' && f.lane === 1)).toBe(true);
  });

  it('knows which faults each topology has', () => {
    expect(faultsFor('standalone')).not.toContain('sentinel-failover');
    expect(faultsFor('sentinel')).toContain('failover-behind');
    expect(faultsFor('cluster')).toContain('cluster-failover');
    for (const k of FAULT_KINDS) expect([0, 1]).toContain(laneOf(k));
  });
});
