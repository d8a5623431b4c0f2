/**
 * The demo publisher of the local stack (examples/demo-publisher): the time every second on
 * `time`, pet events under `pets/…` and per-user messages, straight to Redis.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ManagedProcess, type OutputMode } from './managed-process.js';

/** The demo publisher's built entry point, found through the workspace dependency. */
export function demoPublisherMainPath(): string {
  const manifest = createRequire(import.meta.url).resolve('@ssehub/demo-publisher/package.json');
  return join(dirname(manifest), 'dist', 'main.js');
}

export function startDemoPublisher(
  redisUrl: string,
  prefix: string,
  output: OutputMode,
): ManagedProcess {
  return ManagedProcess.spawn({
    name: 'demo-publisher',
    command: process.execPath,
    args: [demoPublisherMainPath()],
    env: { PATH: process.env['PATH'] ?? '', REDIS_URL: redisUrl, REDIS_PREFIX: prefix },
    output,
  });
}
