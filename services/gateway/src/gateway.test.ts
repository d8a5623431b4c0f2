import { describe, expect, it } from 'vitest';
import { createGateway } from './gateway.js';

describe('createGateway settings this build cannot honour', () => {
  it('refuses an AUTH_* setting instead of running with auth that protects nothing', () => {
    expect(() =>
      createGateway({ logLevel: 'silent', authJwtSecret: 'a-secret-of-32-bytes-at-least!!!' }),
    ).toThrow(/AUTH_\* setting .* no JWT verification yet/);
  });

  it('refuses Sentinel and Cluster settings instead of silently running something else', () => {
    expect(() =>
      createGateway({
        logLevel: 'silent',
        redisSentinels: [{ host: '127.0.0.1', port: 26379 }],
        redisSentinelName: 'mymaster',
      }),
    ).toThrow(/REDIS_SENTINELS and REDIS_CLUSTER_NODES are not supported/);
    expect(() =>
      createGateway({ logLevel: 'silent', redisClusterNodes: [{ host: '127.0.0.1', port: 7000 }] }),
    ).toThrow(/not supported by this build yet/);
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
