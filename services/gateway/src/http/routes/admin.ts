/**
 * Operations routes of the admin port (SPEC 10): health, readiness, Prometheus metrics, and the
 * JSON stats and presence views.
 */
import Router from '@koa/router';
import { overlaps, parsePattern, ProtocolError } from '@ssehub/protocol';
import type { Registry } from 'prom-client';
import type { Broker } from '../../broker/broker.js';
import { GatewayError } from '../../errors.js';
import type { Readiness } from '../../lifecycle/readiness.js';
import type { ReplicaStatsCollector } from '../../observability/replica-stats.js';
import type { ConnectionRegistry } from '../../stream/connection-registry.js';

export interface AdminRouteDeps {
  readonly readiness: Readiness;
  readonly broker: Broker;
  readonly stats: ReplicaStatsCollector;
  readonly metricsRegistry: Registry;
  readonly connections: ConnectionRegistry;
}

export function adminRouter(deps: AdminRouteDeps): Router {
  const router = new Router();

  // Process alive: answered as long as the event loop runs.
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  // Ready from the first broker contact until draining; a later broker outage does not fail it.
  router.get('/readyz', (ctx) => {
    const ready = deps.readiness.isReady;
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : deps.readiness.phase, brokerUp: deps.broker.isUp() };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metricsRegistry.contentType;
    ctx.body = await deps.metricsRegistry.metrics();
  });

  router.get('/admin/api/stats', async (ctx) => {
    const replica = deps.stats.snapshot();
    const others = await deps.broker.registry.replicas();
    const replicas = [replica, ...others.filter((r) => r.id !== replica.id)];
    ctx.body = { replica, replicas };
  });

  // Authenticated subjects whose subscriptions overlap the pattern, cluster-wide.
  router.get('/admin/api/presence', async (ctx) => {
    const raw = ctx.query['topic'];
    const text = typeof raw === 'string' && raw !== '' ? raw : '**';
    let pattern;
    try {
      pattern = parsePattern(text);
    } catch (err) {
      if (err instanceof ProtocolError) throw new GatewayError('INVALID_TOPIC', err.message, { cause: err });
      throw err;
    }
    // This replica's own entries live; the others' as they last reported them.
    const own = { replica: deps.stats.replicaId, entries: deps.connections.presence() };
    const others = (await deps.broker.registry.presence()).filter((r) => r.replica !== own.replica);
    const bySubject = new Map<string, number>();
    for (const entry of [own, ...others].flatMap((r) => r.entries)) {
      if (!entry.patterns.some((p) => overlaps(parsePattern(p), pattern))) continue;
      bySubject.set(entry.sub, (bySubject.get(entry.sub) ?? 0) + entry.connections);
    }
    ctx.body = {
      topic: pattern.source,
      subjects: [...bySubject].map(([sub, connections]) => ({ sub, connections })),
    };
  });

  return router;
}
