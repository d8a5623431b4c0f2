/**
 * The demo publisher's built entry point (dist/main.js, what the image and the local stack run),
 * run with node against a real redis-server for about 3 s.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisServer } from '@ssehub/local-redis';
import { streamKey } from '@ssehub/protocol';

const demo = fileURLToPath(new URL('../dist/main.js', import.meta.url));
let redis: RedisServer;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis.stop();
});

it('publishes the time, pets and user messages, and exits 0 on SIGTERM', async () => {
  const redisUrl = redis.url;
  const prefix = `demo${randomUUID().slice(0, 8)}`;
  // Only PATH from this environment, so the demo's defaults are what is tested.
  const env = { PATH: process.env['PATH'] ?? '', REDIS_URL: redisUrl, REDIS_PREFIX: prefix };
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

  const client = new Redis(redisUrl);
  try {
    const rows = await client.xrange(streamKey({ prefix, shardCount: 1 }, 0), '-', '+');
    const fields = rows.map(([, f]) => f.join(' '));
    expect(fields.filter((f) => f.includes('time') && f.includes('tick')).length).toBeGreaterThan(
      1,
    );
    expect(fields.some((f) => /pets\/(dogs|cats|birds)/.test(f))).toBe(true);
  } finally {
    client.disconnect();
  }
});
