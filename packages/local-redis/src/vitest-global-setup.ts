/**
 * Vitest global setup: one real Redis shared by a project's integration tests, which read its URL
 * with `inject('redisUrl')` and keep apart by a unique key prefix each. Point `globalSetup` at
 * `'@ssehub/local-redis/vitest-global-setup'` and add
 * `import type {} from '@ssehub/local-redis/vitest-global-setup'` to the config, so the
 * `redisUrl` key is typed in the tests.
 *
 * A `redis-server` on a free port by default. A project that sets `provide: { redisContainer:
 * '<image>' }` gets a container (testcontainers) of that image where a container engine runs, and
 * the `redis-server` where none does: testcontainers rejects in a few ms with "Could not find a
 * working container runtime strategy" on machines without one (TOOLCHAIN.md).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
// The augmented module must be in the program for `declare module 'vitest'` below.
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { RedisServer } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `redis://127.0.0.1:<port>` (or the container's URL) of the Redis the integration tests share. */
    redisUrl: string;
    /**
     * Set in a project's `provide` config to try a container of this image (e.g. `'redis:7.0'`)
     * before the `redis-server`; unset, the `redis-server` only.
     */
    redisContainer?: string;
  }
}

/** The part of `@testcontainers/redis` used here. */
interface RedisContainerModule {
  readonly RedisContainer: new (image: string) => {
    start(): Promise<{ getConnectionUrl(): string; stop(): Promise<unknown> }>;
  };
}

/**
 * A started container of `image`, or `undefined` when no container engine runs. The module is
 * resolved from the project's root, so only a project that asks for a container needs
 * `@testcontainers/redis` among its devDependencies (this package does not depend on it).
 */
async function fromContainer(
  root: string,
  image: string,
): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  try {
    const resolved = createRequire(join(root, 'package.json')).resolve('@testcontainers/redis');
    const { RedisContainer } = (await import(pathToFileURL(resolved).href)) as RedisContainerModule;
    const container = await new RedisContainer(image).start();
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

/**
 * Starts the shared Redis and provides `redisUrl`; the returned teardown stops it.
 * @param project - The Vitest project (its root and `provide` config).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const image = project.getProvidedContext().redisContainer;
  if (image !== undefined) {
    const container = await fromContainer(project.config.root, image);
    if (container !== undefined) {
      project.provide('redisUrl', container.url);
      return container.stop;
    }
  }
  const server = await RedisServer.start();
  project.provide('redisUrl', server.url);
  return () => server.stop();
}
