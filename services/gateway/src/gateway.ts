/**
 * `createGateway(options)`: the whole gateway as a library (SPEC 12). The standalone service
 * (`main.ts`) is built on this same function. No module-level state: every gateway owns its
 * broker, metrics registry and timers, so two can run in one process.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type Koa from 'koa';
import type { Logger } from 'pino';
import { openAuthenticator, type Authenticator } from './auth/authenticator.js';
import type { Broker, ReplicaStats } from './broker/broker.js';
import { EmbeddedBroker } from './broker/embedded-broker.js';
import { DeploymentMismatchError, RedisBroker } from './broker/redis/redis-broker.js';
import {
  brokerOf,
  resolveConfig,
  type GatewayConfig,
  type GatewayOptions,
} from './config/index.js';
import { createAdminApp } from './http/admin-app.js';
import { cors } from './http/middleware/cors.js';
import { errorHandler } from './http/middleware/error-handler.js';
import { createPublicApp } from './http/public-app.js';
import { adminPublishAccess, publicPublishAccess } from './publish/publish-access.js';
import { adminRouter } from './http/routes/admin.js';
import { playgroundRoute } from './http/routes/playground.js';
import { publishRoute } from './http/routes/publish.js';
import { subscribeRoute } from './http/routes/subscribe.js';
import { Readiness } from './lifecycle/readiness.js';
import { createLogger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { ReplicaStatsCollector } from './observability/replica-stats.js';
import { validateEvent } from './publish/publish-request.js';
import { createBrokerSink } from './fanout/broker-sink.js';
import { ConnectionRegistry } from './fanout/connection-registry.js';
import { Dispatcher } from './fanout/dispatcher.js';
import { Maintenance } from './fanout/maintenance.js';
import { ConnectionLimits } from './sse/connection-limits.js';
import { PageReader } from './sse/page-reader.js';
import { StreamOpener } from './sse/stream-opener.js';

/** Events per history read during replay: large enough to amortise a Redis round trip, small enough to pace. */
const REPLAY_PAGE_SIZE = 200;

/** A Node request handler for `http.createServer`, `http2.createSecureServer` or Express. */
export type RequestHandler = ReturnType<Koa['callback']>;

/** Things a library user (or a test) may inject instead of having the gateway build them. */
export interface GatewayInjections {
  /** A broker to use instead of the one the settings select (tests inject a fake one). */
  readonly broker?: Broker;
  /** A pino logger; by default one is built from `logLevel`. */
  readonly logger?: Logger;
  /** Authentication; by default the open policy (no `AUTH_*` setting). */
  readonly authenticator?: Authenticator;
}

/** Options of {@link Gateway.publish}. */
export interface PublishOptions {
  /** Event name; unnamed events fire `message` in the browser. */
  readonly event?: string;
  /** A repeat within IDEMPOTENCY_TTL_MS returns the first id and publishes nothing. */
  readonly idempotencyKey?: string;
}

/** What {@link Gateway.stats} returns: this replica, and every live replica cluster-wide (this one included). */
export interface StatsView {
  readonly replica: ReplicaStats;
  readonly replicas: ReplicaStats[];
}

/** Options of {@link Gateway.middleware}. */
export interface MiddlewareOptions {
  /** Path prefix the routes are mounted under, e.g. `/events` serves `/events/subscribe/…`. @defaultValue `''` (the root) */
  readonly prefix?: string;
}

/**
 * A running gateway, as {@link createGateway} returns it. It serves nothing by itself: mount
 * {@link Gateway.callback} and {@link Gateway.adminCallback} on servers of your own, or
 * {@link Gateway.middleware} in a Koa app, then {@link Gateway.close} it when done.
 */
export interface Gateway {
  /** The resolved settings: the options given, then the environment, then the defaults. */
  readonly config: GatewayConfig;
  /** The pino logger it logs to (the injected one, or one built from `logLevel`). */
  readonly log: Logger;
  /** Its Prometheus metrics (served on the admin port at `/metrics`). */
  readonly metrics: Metrics;
  /** Resolves once the broker has been reached (the gateway is ready); rejects if it cannot be. */
  ready(): Promise<void>;
  /** Koa middleware serving the subscribe routes, optionally under a prefix. */
  middleware(options?: MiddlewareOptions): Koa.Middleware;
  /** Request handler for the public port (`http.createServer(gateway.callback())`, or HTTP/2). */
  callback(): RequestHandler;
  /** Request handler for the admin port (publish, health, metrics, stats). */
  adminCallback(): RequestHandler;
  /** Publishes one event; resolves to its id. */
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<string>;
  /** This replica's stats and every live replica's. */
  stats(): Promise<StatsView>;
  /** Stops taking streams and closes the open ones spread over `overMs` (default 80% of SHUTDOWN_GRACE_MS). */
  drain(overMs?: number): Promise<void>;
  /** Closes every stream at once and stops the broker and timers. */
  close(): Promise<void>;
}

/**
 * Builds a gateway: resolves the settings, opens the broker they select (embedded, or Redis
 * standalone, Sentinel or Cluster), and starts it in the background; {@link Gateway.ready}
 * resolves once the broker has been reached. No module-level state, so two gateways can run in
 * one process. `main.ts`, the standalone service, is built on this same function.
 *
 * @param options - Settings (camelCase names of the variables in docs/configuration.md; each
 *   falls back to its environment variable, then its default), plus optional injections
 *   ({@link GatewayInjections}). Default: `{}`, every setting from the environment.
 * @throws `ConfigError` listing every bad setting at once.
 * @example
 * import { createServer } from 'node:http';
 * import { createGateway } from '@ssehub/gateway';
 *
 * const gateway = createGateway({ redisUrl: 'redis://127.0.0.1:6379' });
 * createServer(gateway.callback()).listen(8080);
 * createServer(gateway.adminCallback()).listen(8081);
 * await gateway.ready();
 * await gateway.publish('pets/dogs', { name: 'Rex' });
 */
export function createGateway(options: GatewayOptions & GatewayInjections = {}): Gateway {
  const config = resolveConfig(pickSettings(options));
  const log = options.logger ?? createLogger({ level: config.logLevel });
  const broker = options.broker ?? createBroker(config, log);
  const auth = options.authenticator ?? defaultAuthenticator(config);
  const readiness = new Readiness();
  const registry = new ConnectionRegistry();
  const metrics = createMetrics({
    connections: () => registry.size,
    // Read at scrape time, after the dispatcher below exists.
    subscriptions: () => dispatcher.subscriptions,
    brokerUp: () => (broker.isUp() ? 1 : 0),
    historyLength: () => broker.historyLength(),
    brokerCounters: () => broker.counters(),
    // Read at scrape time, after the page reader below exists.
    historyReads: () => ({ reads: pages.reads, shared: pages.shared }),
  });
  const dispatcher = new Dispatcher(broker.shardCount, metrics);
  const limits = new ConnectionLimits(config);
  const pages = new PageReader(broker);
  const opener = new StreamOpener(
    {
      maxBufferedBytes: config.maxBufferedBytes,
      maxConnectionAgeMs: config.maxConnectionAgeMs,
      replayPageSize: REPLAY_PAGE_SIZE,
      replayStallMs: Math.max(5000, 2 * config.heartbeatMs),
    },
    { broker, dispatcher, registry, pages, metrics, log },
  );
  const maintenance = new Maintenance(config, { broker, dispatcher, registry, metrics, log });
  const replicaId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const stats = new ReplicaStatsCollector(replicaId, {
    broker,
    dispatcher,
    registry,
    metrics,
    log,
  });

  if (!auth.isEnabled && config.nodeEnv === 'production') {
    log.warn('no AUTH_* setting: anyone may subscribe to any topic (SPEC 6 development default)');
  }

  const started = (async () => {
    await broker.start(createBrokerSink({ broker, dispatcher, registry, log }));
    // The watermarks start at a sync point, never at a bare head: an event between a head read
    // and a relay outage would otherwise sit below the watermark, and its backfill be dropped.
    for (let shard = 0; shard < broker.shardCount; shard++) {
      try {
        dispatcher.advance(await broker.syncPoint(shard));
      } catch (err) {
        log.debug({ err, shard }, 'no sync point at start; the next heartbeat interval takes one');
      }
    }
    readiness.markReady();
    maintenance.start();
    stats.start();
  })();
  started.catch((err: unknown) => {
    if (err instanceof DeploymentMismatchError) return; // the caller decides (main.ts exits)
    if (readiness.phase === 'stopped') return; // closed while it was still starting
    log.error({ err }, 'the broker could not be started; this replica will not become ready');
  });

  const subscribe = subscribeRoute({
    readiness,
    broker,
    auth,
    limits,
    opener,
    metrics,
    log,
    trustProxy: config.trustProxy,
  });
  const publishLimits = { maxEventBytes: config.maxEventBytes, maxBodyBytes: config.maxBodyBytes };
  const publicApp = createPublicApp(
    config.corsOrigins,
    [
      playgroundRoute(config.playground),
      subscribe,
      publishRoute({
        broker,
        metrics,
        access: publicPublishAccess(auth, config.playground),
        limits: publishLimits,
      }),
    ],
    log,
  );
  const adminApp = createAdminApp(
    adminRouter({
      readiness,
      broker,
      stats,
      metricsRegistry: metrics.registry,
      connections: registry,
    }),
    [
      publishRoute({
        broker,
        metrics,
        access: adminPublishAccess(config.adminToken),
        limits: publishLimits,
      }),
    ],
    log,
  );

  return {
    config,
    log,
    metrics,
    ready: () => started,
    middleware: (mw = {}) =>
      mountable(mw.prefix ?? '', [errorHandler(log), cors(config.corsOrigins), subscribe]),
    callback: () => publicApp.callback(),
    adminCallback: () => adminApp.callback(),
    async publish(topic, data, publishOptions = {}) {
      const input = validateEvent(
        {
          topic,
          event: publishOptions.event,
          data,
          idempotencyKey: publishOptions.idempotencyKey,
          hasData: true,
        },
        publishLimits,
      );
      const { ids, stored } = await broker.publish([input]);
      metrics.eventsPublished.inc(stored);
      return ids[0] ?? '';
    },
    async stats() {
      const replica = stats.snapshot();
      const others = await broker.registry.replicas();
      return { replica, replicas: [replica, ...others.filter((r) => r.id !== replica.id)] };
    },
    async drain(overMs = Math.floor(config.shutdownGraceMs * 0.8)) {
      readiness.markDraining();
      log.info(
        { connections: registry.size, overMs },
        'draining: closing streams spread over the grace period',
      );
      await registry.drainGradually(overMs, 'shutdown');
    },
    async close() {
      readiness.markStopped();
      maintenance.stop();
      stats.stop();
      registry.closeAll('shutdown');
      await broker.close();
    },
  };
}

function createBroker(config: GatewayConfig, log: Logger): Broker {
  const topology = brokerOf(config);
  if (topology.kind !== 'embedded') {
    return new RedisBroker({
      topology,
      prefix: config.redisPrefix,
      shards: config.redisShards,
      historySize: config.historySize,
      historyTtlMs: config.historyTtlMs,
      idempotencyTtlMs: config.idempotencyTtlMs,
      maxEventBytes: config.maxEventBytes,
      log: log.child({ component: 'redis' }),
    });
  }
  return new EmbeddedBroker({
    historySize: config.historySize,
    historyTtlMs: config.historyTtlMs,
    idempotencyTtlMs: config.idempotencyTtlMs,
  });
}

function defaultAuthenticator(config: GatewayConfig): Authenticator {
  if (config.auth.kind !== 'none') {
    // JWT verification is not built yet: an auth setting that silently protected nothing would
    // be worse than refusing to start.
    throw new Error(
      'An AUTH_* setting (AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL) was given, but this build has no JWT verification yet, so it would protect nothing. Unset it, or put an authenticating proxy in front.',
    );
  }
  return openAuthenticator;
}

/** The settings part of the options (injections are not settings). */
function pickSettings(options: GatewayOptions & GatewayInjections): GatewayOptions {
  const { broker: _broker, logger: _logger, authenticator: _authenticator, ...settings } = options;
  return settings;
}

/** Runs `chain` for requests under `prefix`, with the prefix stripped from `ctx.path` meanwhile. */
function mountable(prefix: string, chain: readonly Koa.Middleware[]): Koa.Middleware {
  const run = (ctx: Koa.Context, index: number, last: Koa.Next): Promise<unknown> => {
    const mw = chain[index];
    if (mw === undefined) return last();
    return Promise.resolve(mw(ctx, () => run(ctx, index + 1, last)));
  };
  return async (ctx, next) => {
    if (prefix !== '' && ctx.path !== prefix && !ctx.path.startsWith(`${prefix}/`)) {
      await next();
      return;
    }
    const original = ctx.path;
    ctx.path = original.slice(prefix.length) || '/';
    try {
      await run(ctx, 0, async () => {
        ctx.path = original;
        await next();
      });
    } finally {
      if (ctx.respond !== false) ctx.path = original;
    }
  };
}
