import { describe, expect, it } from 'vitest';
import { parseReplicaReport } from './replica-report.js';

const stats = {
  id: 'r1',
  connections: 2,
  subscriptions: 3,
  topics: 1,
  eventsInPerSec: 0,
  eventsOutPerSec: 0.5,
  startedAt: '2026-01-01T00:00:00.000Z',
  version: 'extra fields are kept',
};
const presence = [{ sub: 'alice', connections: 1, patterns: ['a/**'] }];

describe('parseReplicaReport', () => {
  it('reads what a replica writes', () => {
    expect(parseReplicaReport(JSON.stringify({ stats, presence }))).toEqual({ stats, presence });
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '[1]'],
    ['stats without an id', JSON.stringify({ stats: { ...stats, id: 1 }, presence })],
    [
      'a count that is not a number',
      JSON.stringify({ stats: { ...stats, topics: '1' }, presence }),
    ],
    ['presence not a list', JSON.stringify({ stats, presence: {} })],
    [
      'a pattern that is not a string',
      JSON.stringify({ stats, presence: [{ ...presence[0], patterns: [1] }] }),
    ],
  ])('refuses %s', (_what, value) => {
    expect(parseReplicaReport(value)).toBeUndefined();
  });
});
