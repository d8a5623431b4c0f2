/**
 * Vitest global setup: one real Redis for the integration tests. A container (testcontainers)
 * where a container engine runs; else a `redis-server` from Debian on a free port, since
 * testcontainers rejects in a few ms with "Could not find a working container runtime strategy"
 * on machines without one (TOOLCHAIN.md). Tests read the URL with `inject('redisUrl')` and keep
 * apart by a unique REDIS_PREFIX each.
 */
import type { TestProject } from 'vitest/node';
import { RedisServer } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `redis://127.0.0.1:<port>` of the Redis the integration tests share. */
    redisUrl: string;
  }
}

async function fromContainer(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  try {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7.0').start();
    return {
      url: container.getConnectionUrl(),
      stop: async () => {
        await container.stop();
      },
    };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!message.includes('container runtime')) throw err;
    return undefined;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const container = await fromContainer();
  if (container !== undefined) {
    project.provide('redisUrl', container.url);
    return container.stop;
  }
  const server = await RedisServer.start();
  project.provide('redisUrl', server.url);
  return () => server.stop();
}
