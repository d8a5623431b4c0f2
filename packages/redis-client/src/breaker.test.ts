import { describe, expect, it } from 'vitest';
import { createBreaker, isBreakerOpen, type BreakerState } from './breaker.js';

const failing = (): Promise<never> => Promise.reject(new Error('down'));

describe('createBreaker', () => {
  it('opens after the volume threshold, reports each state, and fails fast while open', async () => {
    const states: BreakerState[] = [];
    const breaker = createBreaker(failing, {
      name: 'test',
      volumeThreshold: 2,
      resetTimeoutMs: 60_000,
      onStateChange: (state) => {
        states.push(state);
        throw new Error('a listener bug is ignored');
      },
    });
    await expect(breaker.fire()).rejects.toThrow('down');
    expect(breaker.state).toBe('closed');
    await expect(breaker.fire()).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    const refused = await breaker.fire().catch((err: unknown) => err);
    expect(isBreakerOpen(refused)).toBe(true);
    breaker.onHealthy();
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'closed']);
    breaker.shutdown();
  });

  it('never counts errors the caller owns', async () => {
    const breaker = createBreaker(failing, {
      name: 'test',
      volumeThreshold: 1,
      isCallerError: () => true,
    });
    for (let i = 0; i < 3; i++) await expect(breaker.fire()).rejects.toThrow('down');
    expect(breaker.state).toBe('closed');
    breaker.onHealthy();
    expect(breaker.state).toBe('closed');
    breaker.shutdown();
  });
});

describe('isBreakerOpen', () => {
  it('is true only for the open circuit’s own refusal', () => {
    expect(
      isBreakerOpen(Object.assign(new Error('Breaker is open'), { code: 'EOPENBREAKER' })),
    ).toBe(true);
    expect(isBreakerOpen(new Error('down'))).toBe(false);
    expect(isBreakerOpen({ code: 'EOPENBREAKER' })).toBe(false);
    expect(isBreakerOpen(undefined)).toBe(false);
  });
});
