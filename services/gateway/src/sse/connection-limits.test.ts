import { describe, expect, it } from 'vitest';
import { ConnectionLimits } from './connection-limits.js';

const limits = (
  maxConnections: number,
  maxConnectionsPerIp: number,
  maxConnectionsPerSubject: number,
) => new ConnectionLimits({ maxConnections, maxConnectionsPerIp, maxConnectionsPerSubject });

describe('ConnectionLimits', () => {
  it('refuses past MAX_CONNECTIONS and admits again after a release', () => {
    const l = limits(2, 10, 10);
    const a = l.tryAcquire('1', undefined);
    const b = l.tryAcquire('2', undefined);
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(l.tryAcquire('3', undefined)).toBeUndefined();
    a?.release();
    expect(l.total).toBe(1);
    expect(l.tryAcquire('3', undefined)).toBeDefined();
  });

  it('counts per address and per subject', () => {
    const l = limits(100, 2, 1);
    expect(l.tryAcquire('1', undefined)).toBeDefined();
    const second = l.tryAcquire('1', undefined);
    expect(second).toBeDefined();
    expect(l.tryAcquire('1', undefined)).toBeUndefined();
    expect(l.tryAcquire('2', 'alice')).toBeDefined();
    expect(l.tryAcquire('3', 'alice')).toBeUndefined();
    expect(l.tryAcquire('3', 'bob')).toBeDefined();
    second?.release();
    expect(l.tryAcquire('1', undefined)).toBeDefined();
  });

  it('gives a slot back exactly once, however often release is called', () => {
    const l = limits(1, 1, 1);
    const slot = l.tryAcquire('1', 's');
    slot?.release();
    slot?.release();
    expect(l.total).toBe(0);
    const again = l.tryAcquire('1', 's');
    expect(again).toBeDefined();
    expect(l.tryAcquire('1', 's')).toBeUndefined();
    expect(l.total).toBe(1);
  });

  it('takes nothing when a limit refuses', () => {
    const l = limits(10, 1, 10);
    l.tryAcquire('1', undefined);
    expect(l.tryAcquire('1', 'alice')).toBeUndefined();
    expect(l.total).toBe(1);
    expect(l.tryAcquire('2', 'alice')).toBeDefined();
  });
});
