/**
 * Starts a real gateway (createGateway) on ephemeral loopback ports, with a chosen broker, and
 * stops it. Disposable (`await using gw = await startGateway(...)`).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  EmbeddedBroker,
  createGateway,
  type Broker,
  type Gateway,
  type GatewayInjections,
  type GatewayOptions,
} from '../../src/index.js';
import { pino } from 'pino';
import { inject } from 'vitest';
import { RedisBroker } from '../../src/broker/redis/redis-broker.js';
import { brokerOf, resolveConfig } from '../../src/config/index.js';
import { FakeBroker } from './fake-broker.js';

const ALL_BROKER_KINDS = ['embedded', 'fake', 'redis'] as const;
export type BrokerKind = (typeof ALL_BROKER_KINDS)[number];

/**
 * The brokers the behavioural suites run against. `SSEHUB_TEST_BROKERS=redis` (comma-separated)
 * narrows the list while working on one broker.
 */
export const BROKER_KINDS: readonly BrokerKind[] = (() => {
  const wanted = process.env['SSEHUB_TEST_BROKERS'];
  if (wanted === undefined || wanted === '') return ALL_BROKER_KINDS;
  return ALL_BROKER_KINDS.filter((kind) => wanted.split(',').includes(kind));
})();

export interface GatewayFixture {
  readonly gateway: Gateway;
  readonly broker: Broker;
  /** e.g. http://127.0.0.1:41234 */
  readonly publicUrl: string;
  readonly adminUrl: string;
  /** Publishes over the admin port's raw route; resolves to the id. */
  publish(topic: string, data: string, event?: string): Promise<string>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartOptions
  extends GatewayOptions, Pick<GatewayInjections, 'authenticator' | 'logger'> {
  /** @defaultValue 'embedded' */
  readonly brokerKind?: BrokerKind;
  /** A broker instance to use instead of brokerKind. */
  readonly broker?: Broker;
}

/**
 * The broker of `kind` for these settings. The settings are resolved as `createGateway` resolves
 * them, so the defaults and the Redis topology come from the config, not from a copy here; with
 * no `REDIS_*` server setting the Redis kind uses the shared test Redis.
 */
export function createBroker(kind: BrokerKind, options: GatewayOptions = {}): Broker {
  const config = resolveConfig(options);
  const settings = {
    historySize: config.historySize,
    historyTtlMs: config.historyTtlMs,
    idempotencyTtlMs: config.idempotencyTtlMs,
  };
  if (kind === 'redis') {
    const topology = brokerOf(config);
    return new RedisBroker({
      topology:
        topology.kind === 'embedded' ? { kind: 'standalone', url: inject('redisUrl') } : topology,
      // A prefix of its own per gateway keeps tests on the shared Redis apart (bullmq's practice).
      prefix: options.redisPrefix ?? `t${randomUUID().replaceAll('-', '')}`,
      shards: config.redisShards,
      maxEventBytes: config.maxEventBytes,
      log: pino({ level: 'silent' }),
      ...settings,
    });
  }
  return kind === 'fake' ? new FakeBroker(settings) : new EmbeddedBroker(settings);
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}`);
    });
  });
}

export async function startGateway(options: StartOptions = {}): Promise<GatewayFixture> {
  const { brokerKind = 'embedded', broker: given, ...rest } = options;
  // The injections are not settings: resolveConfig would refuse them as unknown options.
  const { authenticator: _authenticator, logger: _logger, ...settings } = rest;
  const broker = given ?? createBroker(brokerKind, settings);
  const gateway = createGateway({ logLevel: 'silent', ...rest, broker });
  const publicHandler = gateway.callback();
  const adminHandler = gateway.adminCallback();
  const publicServer = http.createServer((req, res) => void publicHandler(req, res));
  const adminServer = http.createServer((req, res) => void adminHandler(req, res));
  const [publicUrl, adminUrl] = await Promise.all([listen(publicServer), listen(adminServer)]);
  await gateway.ready();
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await gateway.close();
    for (const server of [publicServer, adminServer]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    }
  };
  return {
    gateway,
    broker,
    publicUrl,
    adminUrl,
    async publish(topic, data, event) {
      const query = event === undefined ? '' : `?event=${encodeURIComponent(event)}`;
      const res = await fetch(`${adminUrl}/publish/${topic}${query}`, {
        method: 'POST',
        body: data,
      });
      const body = (await res.json()) as { id?: string; error?: unknown };
      if (res.status !== 200 || body.id === undefined) {
        throw new Error(`publish answered ${res.status}: ${JSON.stringify(body)}`);
      }
      return body.id;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
