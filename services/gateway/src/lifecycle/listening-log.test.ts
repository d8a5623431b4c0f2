import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { resolveConfig, type GatewayOptions } from '../config/index.js';
import { listeningLog } from './listening-log.js';

const address = (host: string, port: number): AddressInfo => ({
  address: host,
  family: host.includes(':') ? 'IPv6' : 'IPv4',
  port,
});

const logOf = (options: GatewayOptions) =>
  listeningLog(resolveConfig(options), address('0.0.0.0', 8080), address('0.0.0.0', 9090));

describe('listeningLog', () => {
  it.each<[string, GatewayOptions]>([
    ['embedded', {}],
    ['standalone', { redisUrl: 'redis://redis:6379' }],
    ['sentinel', { redisSentinels: [{ host: 's1', port: 26_379 }], redisSentinelName: 'mymaster' }],
    ['cluster', { redisClusterNodes: [{ host: 'c1', port: 6379 }] }],
  ])('names the %s broker', (kind, options) => {
    expect(logOf(options).fields.broker).toBe(kind);
  });

  it('gives the URLs and the curl example, with localhost for a wildcard address', () => {
    const { fields, message } = logOf({});
    expect(fields).toEqual({
      public: 'http://localhost:8080',
      admin: 'http://localhost:9090',
      broker: 'embedded',
    });
    expect(message).toBe(
      'ssehub gateway listening. Try it:\n' +
        '  curl -N http://localhost:8080/subscribe/pets\n' +
        "  curl -X POST 'http://localhost:9090/publish/pets/dogs?event=new-dog' -d Corgi",
    );
  });

  it('uses https for the public port with TLS and keeps a specific address', () => {
    const config = resolveConfig({ tlsCert: 'c.pem', tlsKey: 'k.pem' });
    const { fields } = listeningLog(config, address('::1', 8443), address('127.0.0.1', 9090));
    expect(fields.public).toBe('https://::1:8443');
    expect(fields.admin).toBe('http://127.0.0.1:9090');
  });
});
