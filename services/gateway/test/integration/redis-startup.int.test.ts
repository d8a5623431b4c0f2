/**
 * Start-up against a Redis that is not there yet, or too old (SPEC 9, issue #10): the gateway
 * keeps trying with backoff, says where and why, and becomes ready the first time it gets
 * there; a Redis older than 7.0 stops it with a message naming the version.
 */
import net from 'node:net';
import { RedisServer } from '@ssehub/local-redis';
import { describe, expect, it } from 'vitest';
import { GatewayProcess, freePort, runGateway } from '../helpers/gateway-process.js';
import { subscribe } from '../helpers/sse-client.js';
import { sleep } from '../helpers/timing.js';

const BASE_ENV = { HOST: '127.0.0.1', ADMIN_HOST: '127.0.0.1', LOG_LEVEL: 'info' } as const;

describe('a gateway started while Redis is down, Redis started 2 s later (#10)', () => {
  it('a gateway started while Redis is down becomes ready once Redis is up, and logs the address and cause', async () => {
    const redisPort = await freePort();
    const url = `redis://127.0.0.1:${String(redisPort)}`;
    let redis: RedisServer | undefined;
    // Redis comes up 2 s after the gateway: GatewayProcess.start polls /readyz meanwhile.
    const late = sleep(2000).then(async () => {
      redis = await RedisServer.start({ port: redisPort });
    });
    try {
      await using gw = await GatewayProcess.start({ env: { ...BASE_ENV, REDIS_URL: url } });
      await late;
      const warning = gw
        .logLines()
        .find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('cannot reach Redis'));
      expect(warning?.['redis']).toBe(url);
      expect(String(warning?.['cause'])).toContain('ECONNREFUSED');
      // Ready means serving: a stream opens and gets an event published through this gateway.
      const stream = await subscribe(`${gw.publicUrl}/subscribe/late`);
      const res = await fetch(`${gw.adminUrl}/publish/late?event=hello`, {
        method: 'POST',
        body: 'there',
      });
      expect(res.status).toBe(200);
      await stream.waitForEvents(1);
      expect(stream.events[0]?.data).toBe('there');
      stream.close();
      // "listening" is said once, after Redis was reached, never while it was not.
      const listening = gw.logLines().filter((l) => String(l['msg']).includes('listening'));
      expect(listening).toHaveLength(1);
    } finally {
      await late;
      await redis?.stop();
    }
  });

  it('reports not ready, with /healthz up, for as long as Redis cannot be reached', async () => {
    const redisPort = await freePort();
    const adminPort = await freePort();
    const start = GatewayProcess.start({
      adminPort,
      env: { ...BASE_ENV, REDIS_URL: `redis://127.0.0.1:${String(redisPort)}` },
    }).catch((err: unknown) => err);
    await sleep(1500);
    const ready = await fetch(`http://127.0.0.1:${String(adminPort)}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'starting', brokerUp: false });
    const health = await fetch(`http://127.0.0.1:${String(adminPort)}/healthz`);
    expect(health.status).toBe(200);
    await health.arrayBuffer();
    // Start Redis now so the pending start resolves and the process is cleaned up.
    const redis = await RedisServer.start({ port: redisPort });
    try {
      const proc = await start;
      expect(proc).toBeInstanceOf(GatewayProcess);
      if (proc instanceof GatewayProcess) await proc[Symbol.asyncDispose]();
    } finally {
      await redis.stop();
    }
  });
});

/**
 * The least of the RESP protocol a Redis client needs to get to `INFO server`: every command
 * gets `+OK`, except INFO, which describes a Redis 6.2. There is no Redis 6 on this machine, and
 * the check under test only reads `redis_version`.
 */
async function oldRedis(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      // One reply per command in the chunk: commands arrive as RESP arrays (`*<n>`).
      const commands = chunk
        .toString('latin1')
        .split('\r\n')
        .filter((l) => l.startsWith('*'));
      for (const _ of commands) {
        if (chunk.toString('latin1').toUpperCase().includes('INFO')) {
          const body = '# Server\r\nredis_version:6.2.14\r\nloading:0\r\n';
          socket.write(`$${String(Buffer.byteLength(body))}\r\n${body}\r\n`);
        } else {
          socket.write('+OK\r\n');
        }
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        for (const socket of sockets) socket.destroy();
      }),
  };
}

describe('Redis version check (#10)', () => {
  it('refuses a Redis older than 7.0 at start, naming its version, with exit code 1', async () => {
    const redis = await oldRedis();
    try {
      const result = await runGateway({
        env: {
          ...BASE_ENV,
          PORT: String(await freePort()),
          ADMIN_PORT: String(await freePort()),
          REDIS_URL: `redis://127.0.0.1:${String(redis.port)}`,
        },
      });
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('6.2.14');
      expect(result.stdout).toContain('Redis 7.0 or later');
    } finally {
      await redis.close();
    }
  });
});
