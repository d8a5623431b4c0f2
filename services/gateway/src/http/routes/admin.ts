/**
 * Operations routes of the admin port (SPEC 10): health, readiness, Prometheus metrics, and the
 * JSON stats and presence views.
 */
import Router from '@koa/router';
import { overlaps, parsePattern } from '@ssehub/protocol';
import type { Registry } from 'prom-client';
import type { Broker, ReplicaStats } from '../../broker/broker.js';
import { GatewayError, parseClientInput } from '../../errors.js';
import type { Readiness } from '../../lifecycle/readiness.js';
import type { ReplicaStatsCollector } from '../../observability/replica-stats.js';
import type { ConnectionRegistry } from '../../fanout/connection-registry.js';

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

  const statsView = async (): Promise<{ replica: ReplicaStats; replicas: ReplicaStats[] }> => {
    const replica = deps.stats.snapshot();
    const others = await deps.broker.registry.replicas();
    return { replica, replicas: [replica, ...others.filter((r) => r.id !== replica.id)] };
  };

  router.get('/admin/api/stats', async (ctx) => {
    ctx.body = await statsView();
  });

  // The status page: the same figures for a person, refreshed every few seconds without script.
  router.get('/admin', async (ctx) => {
    const { replica, replicas } = await statsView();
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('cache-control', 'no-store');
    ctx.body = statusPage(replica, replicas, deps.readiness.phase, deps.broker.isUp());
  });

  // Authenticated subjects whose subscriptions overlap the pattern, cluster-wide.
  router.get('/admin/api/presence', async (ctx) => {
    const raw = ctx.query['topic'];
    if (Array.isArray(raw))
      throw new GatewayError('INVALID_TOPIC', 'Give one topic pattern: ?topic=<pattern>.');
    // No `topic` at all asks about everyone; an empty one is an invalid pattern like any other.
    const pattern = parseClientInput(() => parsePattern(raw ?? '**'));
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
      subjects: [...bySubject]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([sub, connections]) => ({ sub, connections })),
    };
  });

  return router;
}

/** Seconds between refreshes of the status page. */
const STATUS_REFRESH_S = 5;

const COLUMNS = [
  'id',
  'connections',
  'subscriptions',
  'topics',
  'eventsInPerSec',
  'eventsOutPerSec',
  'startedAt',
] as const;

function statusPage(
  replica: ReplicaStats,
  replicas: readonly ReplicaStats[],
  phase: string,
  brokerUp: boolean,
): string {
  const cell = (value: unknown): string =>
    `<td>${escapeHtml(typeof value === 'string' || typeof value === 'number' ? String(value) : '')}</td>`;
  const rows = replicas
    .map(
      (r) =>
        `<tr${r.id === replica.id ? ' class="self"' : ''}>${COLUMNS.map((c) => cell(r[c])).join('')}</tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${STATUS_REFRESH_S}">
<title>ssehub status</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}.self{font-weight:bold}</style>
</head>
<body>
<h1>ssehub</h1>
<p>This replica: <code>${escapeHtml(replica.id)}</code>, ${escapeHtml(phase)}, broker ${brokerUp ? 'up' : 'down'}.
JSON: <a href="/admin/api/stats">/admin/api/stats</a>, <a href="/admin/api/presence">/admin/api/presence</a>, <a href="/metrics">/metrics</a>.</p>
<table>
<thead><tr>${COLUMNS.map((c) => `<th>${c}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
