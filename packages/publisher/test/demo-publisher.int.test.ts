/**
 * The demo publisher (examples/demo-publisher.ts), compiled with tsconfig.bench.json into
 * bench-dist and run with node against the shared redis-server for about 3 s.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { beforeAll, expect, inject, it } from 'vitest';
import { streamKey } from '@ssehub/protocol';
import { childEnv } from './helpers/env.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const demo = join(packageDir, 'bench-dist', 'examples', 'demo-publisher.js');

beforeAll(() => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.bench.json'], {
    cwd: packageDir,
    stdio: 'pipe',
  });
}, 180_000);

it('publishes the time, pets and user messages, and exits 0 on SIGTERM', async () => {
  const redisUrl = inject('redisUrl');
  const prefix = `demo${randomUUID().slice(0, 8)}`;
  const env = childEnv(['GATEWAY_URL', 'REDIS_SHARDS'], {
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
  });
  const child = spawn(process.execPath, [demo], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  // About 3 s: until the first user message (published every 3 s), at most 10 s on a slow machine.
  for (let i = 0; i < 100 && !/ users\//.test(stdout); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  const code = await closed;
  expect(stderr).toBe('');
  expect(code).toBe(0);
  expect(stdout).toMatch(/ time tick /);
  expect(stdout).toMatch(/ pets\/(dogs|cats|birds) (new-pet|pet-update) /);
  expect(stdout).toMatch(/ users\/[1-5]\/inbox message /);

  const redis = new Redis(redisUrl);
  try {
    const rows = await redis.xrange(streamKey({ prefix, shardCount: 1 }, 0), '-', '+');
    const fields = rows.map(([, f]) => f.join(' '));
    expect(fields.filter((f) => f.includes('time') && f.includes('tick')).length).toBeGreaterThan(
      1,
    );
    expect(fields.some((f) => /pets\/(dogs|cats|birds)/.test(f))).toBe(true);
  } finally {
    redis.disconnect();
  }
});
