import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { freePort, isListening } from './ports.js';
import { RedisServer } from './redis-server.js';

const run = promisify(execFile);
let server: RedisServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function cli(url: string, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-u', url, ...args])).stdout.trim();
}

it('starts on a free port, and a restart without persistence loses the data', async () => {
  server = await RedisServer.start();
  expect(await isListening(server.port)).toBe(true);
  await cli(server.url, 'SET', 'k', 'v');
  await server.restart();
  expect(await cli(server.url, 'GET', 'k')).toBe('');
});

it('keeps the data across a restart with appendOnly', async () => {
  server = await RedisServer.start({ appendOnly: true });
  await cli(server.url, 'SET', 'k', 'v');
  await server.restart();
  expect(await cli(server.url, 'GET', 'k')).toBe('v');
});

it('passes extra arguments to redis-server', async () => {
  server = await RedisServer.start({
    args: ['--client-output-buffer-limit', 'pubsub 64mb 16mb 60'],
  });
  expect(await cli(server.url, 'CONFIG', 'GET', 'client-output-buffer-limit')).toContain(
    'pubsub 67108864 16777216 60',
  );
});

it('is not listening once stopped, and the port it had is free again', async () => {
  server = await RedisServer.start();
  const { port } = server;
  await server.stop();
  server = undefined;
  expect(await isListening(port)).toBe(false);
  expect(typeof (await freePort())).toBe('number');
});

it('with waitForPing, resolves once the server answers commands', async () => {
  server = await RedisServer.start({ appendOnly: true, waitForPing: true });
  expect(await cli(server.url, 'PING')).toBe('PONG');
});
