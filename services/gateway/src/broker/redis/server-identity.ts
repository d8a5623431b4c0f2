/**
 * Which server a connection reaches: the `run_id` of a standalone or Sentinel connection, or on
 * Cluster the node that owns a key's slot. The relay compares its two connections with these
 * before it trusts a head read on one for what arrived on the other.
 */
import { clusterSlot } from './cluster-slot.js';
import type { RedisClient } from './redis-connections.js';

/** The `run_id` of the server a (non-Cluster) connection reaches, from `INFO server`. */
export async function serverIdOf(client: RedisClient): Promise<string> {
  const info = await client.info('server');
  const id = /^run_id:(\S+)/m.exec(info)?.[1];
  if (id === undefined) throw new Error('INFO server has no run_id');
  return id;
}

/** On Redis Cluster, the master that owns `key`'s slot in the client's slot map (`host:port`). */
export function slotOwnerOf(client: RedisClient, key: string): string | undefined {
  const slots = (client as unknown as { slots?: readonly (readonly string[] | undefined)[] }).slots;
  return slots?.[clusterSlot(key)]?.[0];
}
