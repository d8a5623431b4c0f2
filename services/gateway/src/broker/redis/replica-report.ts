/**
 * One replica's report in the registry (redis-registry.ts): its stats and presence, as JSON
 * under a key that expires. Anyone with access to Redis can write there, so a report is
 * checked field by field when read, never trusted with a cast.
 */
import type { PresenceEntry, ReplicaStats } from '../broker.js';

/** What a replica writes under its registry key. */
export interface ReplicaReport {
  /** Its `/admin/api/stats` entry. */
  readonly stats: ReplicaStats;
  /** Its authenticated subjects' connections. */
  readonly presence: readonly PresenceEntry[];
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStats(value: unknown): value is ReplicaStats {
  if (!isRecord(value)) return false;
  const numbers = ['connections', 'subscriptions', 'topics', 'eventsInPerSec', 'eventsOutPerSec'];
  return (
    typeof value['id'] === 'string' &&
    typeof value['startedAt'] === 'string' &&
    numbers.every((field) => typeof value[field] === 'number')
  );
}

function isPresenceEntry(value: unknown): value is PresenceEntry {
  if (!isRecord(value)) return false;
  const patterns = value['patterns'];
  return (
    typeof value['sub'] === 'string' &&
    typeof value['connections'] === 'number' &&
    Array.isArray(patterns) &&
    patterns.every((p) => typeof p === 'string')
  );
}

/** The report a registry key holds, or undefined when it is not one (not JSON, or another shape). */
export function parseReplicaReport(value: string): ReplicaReport | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const { stats, presence } = parsed;
  if (!isStats(stats) || !Array.isArray(presence) || !presence.every(isPresenceEntry)) {
    return undefined;
  }
  return { stats, presence };
}
