import { describe, expect, it } from 'vitest';
import { createGateway } from './gateway.js';

describe('createGateway settings this build cannot honour', () => {
  it('refuses an AUTH_* setting instead of running with auth that protects nothing', () => {
    expect(() =>
      createGateway({ logLevel: 'silent', authJwtSecret: 'a-secret-of-32-bytes-at-least!!!' }),
    ).toThrow(/AUTH_\* setting .* no JWT verification yet/);
  });

  it('accepts Cluster settings (the Redis broker uses Redis Cluster with sharded pub/sub)', async () => {
    // Nothing listens on port 1: the gateway is built, and starting it fails.
    const gateway = createGateway({
      logLevel: 'silent',
      redisClusterNodes: [{ host: '127.0.0.1', port: 1 }],
    });
    await gateway.close();
    await expect(gateway.ready()).rejects.toThrow();
  });

  it('accepts Sentinel settings (the Redis broker finds the master through the sentinels)', async () => {
    // Nothing listens on port 1: the gateway is built and keeps looking for a sentinel.
    const gateway = createGateway({
      logLevel: 'silent',
      redisSentinels: [{ host: '127.0.0.1', port: 1 }],
      redisSentinelName: 'mymaster',
    });
    await gateway.close();
    await expect(gateway.ready()).rejects.toThrow();
  });

  it('starts on the embedded broker with no settings at all', async () => {
    const gateway = createGateway({ logLevel: 'silent' });
    await gateway.ready();
    const id = await gateway.publish('pets/dogs', 'Corgi', { event: 'new-dog' });
    const { replica } = await gateway.stats();
    expect(id).toMatch(/^[0-9A-Za-z]{13,}$/);
    expect(replica.connections).toBe(0);
    await gateway.close();
  });
});
