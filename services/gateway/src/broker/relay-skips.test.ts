import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { RelaySkips, SKIP_REASONS } from './relay-skips.js';

function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log: Logger = pino(
    { level: 'warn' },
    {
      write: (chunk: string) => {
        lines.push(JSON.parse(chunk) as Record<string, unknown>);
      },
    },
  );
  return { log, lines };
}

describe('RelaySkips (malformed message on an ssehub channel (#10))', () => {
  it('counts each reason', () => {
    const { log } = capture();
    const skips = new RelaySkips(log);
    skips.count('epoch');
    skips.count('epoch');
    skips.count('topic');
    expect(skips.counts()).toEqual({ epoch: 2, topic: 1 });
  });

  it('parses a valid message, and counts an invalid one under its reason', () => {
    const { log, lines } = capture();
    const skips = new RelaySkips(log);
    expect(skips.parse('ch', '1\nAbCd\n1-1\na\n\nx')).toMatchObject({ topic: 'a', data: 'x' });
    expect(skips.parse('ch', '1\nXX\n1-1\na\n\nx')).toBeUndefined();
    expect(skips.counts()).toEqual({ epoch: 1 });
    expect(lines[0]).toMatchObject({ reason: 'epoch', channel: 'ch' });
  });

  it('catches and counts whatever dispatching throws', () => {
    const { log, lines } = capture();
    const skips = new RelaySkips(log);
    expect(() => {
      skips.guard(() => {
        throw new Error('boom');
      });
    }).not.toThrow();
    let ran = false;
    skips.guard(() => {
      ran = true;
    });
    expect(ran).toBe(true);
    expect(skips.counts()).toEqual({ dispatch: 1 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ reason: 'dispatch', skipped: 1 });
  });

  it('logs at most once per interval, with the count since the last line', () => {
    const { log, lines } = capture();
    let now = 0;
    const skips = new RelaySkips(log, 5000, () => now);
    for (let i = 0; i < 1000; i++) skips.count('format', { channel: 'c' });
    expect(lines).toHaveLength(1);
    now = 5000;
    skips.count('version');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ reason: 'version', skipped: 1000 });
  });

  it('has one dispatch reason besides the parser’s', () => {
    expect(SKIP_REASONS).toEqual([
      'format',
      'version',
      'epoch',
      'stream_id',
      'topic',
      'event_name',
      'dispatch',
    ]);
  });
});
