/**
 * Vitest global setup: one real `redis-server` on a free port for the integration tests (the
 * approach of the gateway's test helpers, copied since a package must not import from
 * services/). Tests read the URL with `inject('redisUrl')` and keep apart by a unique prefix each.
 */
import type { TestProject } from 'vitest/node';
import { RedisServer } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `redis://127.0.0.1:<port>` of the Redis the integration tests share. */
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await RedisServer.start();
  project.provide('redisUrl', server.url);
  return () => server.stop();
}
