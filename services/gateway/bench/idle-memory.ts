/**
 * `pnpm bench:memory`: memory one open, idle SSE connection costs a gateway process, for the
 * deployment capacity model, against a baseline measured in the same run: a bare Node HTTP server
 * (bare-sse-server.ts) that answers every GET with the SSE head and `: ok` and keeps the response
 * open. The ratio says how much the gateway adds to what Node itself needs per open response.
 *
 * Run (from services/gateway): `pnpm bench:memory` (builds the gateway and the benches first).
 *
 * One target after the other (never both at once):
 * - the baseline: `node --inspect=127.0.0.1:0 bench-dist/bench/bare-sse-server.js`;
 * - the gateway: `node --inspect=127.0.0.1:0 dist/main.js` with REDIS_URL on a throwaway
 *   `redis-server` (no persistence), LOG_LEVEL=warn, MAX_CONNECTIONS_PER_IP above the client count
 *   (every client is 127.0.0.1), every other setting at its default (HEARTBEAT_MS 15 s);
 * the bench opens BENCH_IDLE_WARMUP streams from client processes (idle-clients.ts) and closes
 * them (warm-up: code paths compiled, pools grown), waits until the server counts 0 streams, lets
 * it settle, and takes the "before" reading; then opens BENCH_IDLE_CLIENTS streams (stream i on
 * `/subscribe/bench/<i % BENCH_IDLE_TOPICS>`), waits until each has read `: ok` and the server
 * counts them all, lets it settle, and takes the "after" reading. Per connection is
 * (after - before) / N.
 *
 * A reading, all from outside the server process, starts with a full garbage collection forced
 * through the inspector (`HeapProfiler.collectGarbage`, inspector.ts; the servers' code is
 * unchanged, they are only started with `--inspect`), so "before" and "after" start alike
 * whatever the GC did earlier (without it, the young generation's garbage moves heap used by
 * megabytes, and a collection between the two readings can make the difference negative):
 * - RSS: VmRSS from /proc/<pid>/status; V8 heap used: the gateway's `/metrics`
 *   (`ssehub_process_nodejs_heap_size_used_bytes`, prom-client's default metric), the baseline's
 *   `GET /mem` (`process.memoryUsage().heapUsed`). Read right after the GC (the live heap), then
 *   BENCH_IDLE_SAMPLES samples 1 s apart, whose medians are the idle process as it runs
 *   (heartbeats, scrapes, garbage not yet collected included).
 * - Kernel side, hints: /proc/net/sockstat `TCP: inuse … mem <pages>` (socket buffer pages; an
 *   idle socket whose data was read holds about none), and from /proc/slabinfo (root only) the
 *   slab objects every socket brings (TCP, sock_inode_cache, filp, dentry, eventpoll_epi), active
 *   objects × object size. Neither is in RSS, but a cgroup v2 memory limit counts kernel memory.
 *   Both count the whole machine: both ends of each loopback connection (the server's end is about
 *   half), TIME_WAIT sockets of the warm-up, and anything else running.
 *
 * Printed: a table, a one-line summary, and one JSON line. Every process started is stopped at the
 * end, on error and on Ctrl-C. Figures depend on this machine (Node, kernel, allocator): use the
 * ratios and re-measure on the deployment's hardware for exact capacity.
 *
 * Settings (environment): BENCH_IDLE_CLIENTS (default 5000, at most 19000: one server process
 * holds them all and has 20000 file descriptors), BENCH_IDLE_TOPICS (100), BENCH_IDLE_WARMUP
 * (200), BENCH_IDLE_SETTLE_MS (5000), BENCH_IDLE_SAMPLES (5).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisServer, freePort, waitForPort } from '@ssehub/local-redis';
import type { IdleClientsOpen, IdleClientsStatus } from './idle-clients.js';
import { cleanup, track } from './cleanup.js';
import { Inspector } from './inspector.js';
import { inspectorUrl, nextMessage, spawnNode, startGateway, stopProcess } from './processes.js';

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be an integer >= 0`);
  return value;
}

const CLIENTS = setting('BENCH_IDLE_CLIENTS', 5000);
const TOPICS = Math.max(1, setting('BENCH_IDLE_TOPICS', 100));
const WARMUP = setting('BENCH_IDLE_WARMUP', 200);
const SETTLE_MS = setting('BENCH_IDLE_SETTLE_MS', 5000);
const SAMPLES = Math.max(1, setting('BENCH_IDLE_SAMPLES', 5));
/** Streams per client process: 20000 descriptors per process, with room to spare. */
const PER_CLIENT_PROCESS = 8000;
/** Streams connecting at once per client process (the listen backlog is 511). */
const CONCURRENCY = 200;
const INSPECT = '--inspect=127.0.0.1:0';
const HEAP_METRIC = /^(\w*nodejs_heap_size_used_bytes) (\S+)$/m;
const CONNECTIONS_METRIC = /^ssehub_connections (\S+)$/m;

// ---------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------

interface ServerReading {
  /** Open SSE streams as the server counts them. */
  readonly connections: number;
  /** V8 heap used, bytes. */
  readonly heapUsed: number;
}

interface Target {
  readonly name: string;
  /** Base URL of the public (subscribe) port. */
  readonly url: string;
  readonly pid: number;
  readonly inspector: Inspector;
  read(): Promise<ServerReading>;
  /** Stops the server (and its Redis). */
  stop(): Promise<void>;
}

async function connectInspector(
  node: Parameters<typeof inspectorUrl>[0],
  stop: () => Promise<void>,
): Promise<Inspector> {
  try {
    return await Inspector.connect(await inspectorUrl(node));
  } catch (err) {
    await stop();
    throw err;
  }
}

function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error(`${child.spawnfile} did not start`);
  return child.pid;
}

async function baselineTarget(): Promise<Target> {
  const port = await freePort();
  const node = spawnNode('baseline', [INSPECT, join(import.meta.dirname, 'bare-sse-server.js')], {
    PORT: String(port),
  });
  const stopServer = track(node.child, () => stopProcess(node.child));
  await waitForPort(port, node.child);
  const inspector = await connectInspector(node, stopServer);
  const url = `http://127.0.0.1:${port}`;
  return {
    name: 'bare node baseline',
    url,
    pid: pidOf(node.child),
    inspector,
    read: async () => {
      const res = await fetch(`${url}/mem`);
      const mem = (await res.json()) as { open: number; heapUsed: number };
      return { connections: mem.open, heapUsed: mem.heapUsed };
    },
    stop: async () => {
      inspector.close();
      await stopServer();
    },
  };
}

async function gatewayTarget(): Promise<Target> {
  const redis = await RedisServer.start();
  const stopRedis = track(redis.child, () => redis.stop());
  const replica = await startGateway(
    'gateway',
    {
      REDIS_URL: redis.url,
      REDIS_PREFIX: `bench${randomUUID().replaceAll('-', '')}`,
      LOG_LEVEL: 'warn',
      MAX_CONNECTIONS: String(Math.max(50_000, CLIENTS + WARMUP)),
      MAX_CONNECTIONS_PER_IP: String(CLIENTS + WARMUP + 100),
      // Every stream is gone by the time it is stopped; no need to wait 25 s for them.
      SHUTDOWN_GRACE_MS: '1000',
    },
    { nodeArgs: [INSPECT] },
  );
  const stopGateway = track(replica.child, replica.stop);
  const inspector = await connectInspector(replica, stopGateway);
  const read = async (): Promise<ServerReading> => {
    const res = await fetch(`${replica.adminUrl}/metrics`);
    const text = await res.text();
    const heap = HEAP_METRIC.exec(text)?.[2];
    const connections = CONNECTIONS_METRIC.exec(text)?.[1];
    if (heap === undefined || connections === undefined) {
      throw new Error(
        'gateway /metrics has no nodejs_heap_size_used_bytes or ssehub_connections ' +
          `(status ${res.status})`,
      );
    }
    return { connections: Number(connections), heapUsed: Number(heap) };
  };
  const metric = HEAP_METRIC.exec(await (await fetch(`${replica.adminUrl}/metrics`)).text())?.[1];
  console.error(`gateway: heap from /metrics ${metric ?? '(missing)'}, redis ${redis.url}`);
  return {
    name: 'ssehub gateway',
    url: replica.publicUrl,
    pid: pidOf(replica.child),
    inspector,
    read,
    stop: async () => {
      inspector.close();
      await stopGateway();
      await stopRedis();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------------

interface Clients {
  /** Streams open and closed (since they opened), summed over the client processes. */
  status(): Promise<{ open: number; closed: number }>;
  /** Kills the client processes: the kernel closes every stream. */
  stop(): Promise<void>;
}

/** Opens `count` idle streams on `url` from as many client processes as the fd limit needs. */
async function openClients(url: string, count: number): Promise<Clients> {
  const processes = Math.max(1, Math.ceil(count / PER_CLIENT_PROCESS));
  const forked: ChildProcess[] = [];
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(stops.map((s) => s()));
  };
  try {
    const opened: Promise<unknown>[] = [];
    for (let p = 0; p < processes; p++) {
      const first = Math.floor((count * p) / processes);
      const share = Math.floor((count * (p + 1)) / processes) - first;
      const child = fork(join(import.meta.dirname, 'idle-clients.js'), [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      forked.push(child);
      stops.push(track(child, () => stopProcess(child, 'SIGKILL')));
      opened.push(nextMessage(child, 'open', 120_000));
      const start: IdleClientsOpen = {
        type: 'open',
        url,
        count: share,
        first,
        topics: TOPICS,
        concurrency: CONCURRENCY,
      };
      child.send(start);
    }
    await Promise.all(opened);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    status: async () => {
      const replies = await Promise.all(
        forked.map((child) => {
          const reply = nextMessage<IdleClientsStatus>(child, 'status', 10_000);
          child.send({ type: 'status' });
          return reply;
        }),
      );
      return {
        open: replies.reduce((n, r) => n + r.open, 0),
        closed: replies.reduce((n, r) => n + r.closed, 0),
      };
    },
    stop,
  };
}

async function waitForConnections(
  target: Target,
  count: number,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { connections } = await target.read();
    if (connections === count) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${target.name} counts ${connections} streams after ${timeoutMs} ms, not ${count}`,
      );
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Readings
// ---------------------------------------------------------------------------------------------

/** VmRSS of a process, bytes. */
function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

interface Sockstat {
  /** TCP sockets in use on the machine. */
  readonly inuse: number;
  /** Pages of TCP socket buffers on the machine. */
  readonly memPages: number;
}

function sockstat(): Sockstat {
  const text = readFileSync('/proc/net/sockstat', 'utf8');
  const match = /^TCP: inuse (\d+) .*\bmem (\d+)$/m.exec(text);
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new Error(`no TCP line in /proc/net/sockstat:\n${text}`);
  }
  return { inuse: Number(match[1]), memPages: Number(match[2]) };
}

/** Slab caches holding what one TCP socket of a Node process needs in the kernel. */
const SOCKET_SLABS = new Set(['TCP', 'sock_inode_cache', 'filp', 'dentry', 'eventpoll_epi']);

/** Bytes in SOCKET_SLABS (active objects × object size) by cache, or undefined without access. */
function socketSlabs(): Record<string, number> | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/slabinfo', 'utf8');
  } catch {
    return undefined;
  }
  const bytes: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [name, active, , size] = line.split(/\s+/);
    if (name !== undefined && SOCKET_SLABS.has(name)) bytes[name] = Number(active) * Number(size);
  }
  return bytes;
}

function slabTotal(slabs: Record<string, number> | undefined): number {
  return slabs === undefined ? NaN : Object.values(slabs).reduce((a, b) => a + b, 0);
}

function pageSize(): number {
  try {
    return Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;
  } catch {
    return 4096;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

interface Reading {
  readonly connections: number;
  /** Medians of the samples, bytes. */
  readonly rss: number;
  readonly heapUsed: number;
  /** Spread (max - min) of the heap samples, bytes. */
  readonly heapSpread: number;
  /** After a forced full GC, bytes. */
  readonly rssAfterGc: number;
  readonly heapUsedAfterGc: number;
  readonly sockstat: Sockstat;
  /** Socket slab bytes by cache (undefined when /proc/slabinfo is not readable). */
  readonly slabs: Record<string, number> | undefined;
}

/**
 * A full GC (through the inspector) and a reading right after it, then SAMPLES samples 1 s apart
 * (the idle process allocating only what it allocates when idle: heartbeats, scrapes), medians.
 * Every reading starts from a full GC, so before and after are alike whatever the GC did earlier.
 */
async function reading(target: Target): Promise<Reading> {
  await target.inspector.call('HeapProfiler.collectGarbage');
  const afterGc = await target.read();
  const rssAfterGc = rssBytes(target.pid);
  const kernel = sockstat();
  const slabs = socketSlabs();
  const rss: number[] = [];
  const heap: number[] = [];
  let connections = afterGc.connections;
  for (let i = 0; i < SAMPLES; i++) {
    await sleep(1000);
    const r = await target.read();
    rss.push(rssBytes(target.pid));
    heap.push(r.heapUsed);
    connections = r.connections;
  }
  return {
    connections,
    rss: median(rss),
    heapUsed: median(heap),
    heapSpread: Math.max(...heap) - Math.min(...heap),
    rssAfterGc,
    heapUsedAfterGc: afterGc.heapUsed,
    sockstat: kernel,
    slabs,
  };
}

interface Result {
  readonly name: string;
  readonly before: Reading;
  readonly after: Reading;
  /** Streams the clients saw close while open (must be 0). */
  readonly closed: number;
}

async function measure(makeTarget: () => Promise<Target>): Promise<Result> {
  const target = await makeTarget();
  const step = (what: string): void => {
    console.error(`${new Date().toISOString()} ${target.name}: ${what}`);
  };
  try {
    if (WARMUP > 0) {
      step(`warm-up: opening and closing ${WARMUP} streams`);
      const warm = await openClients(target.url, WARMUP);
      await warm.stop();
      await waitForConnections(target, 0);
    }
    await sleep(SETTLE_MS);
    step('reading at 0 streams');
    const before = await reading(target);
    step(`opening ${CLIENTS} streams`);
    const clients = await openClients(target.url, CLIENTS);
    await waitForConnections(target, CLIENTS);
    await sleep(SETTLE_MS);
    step(`reading at ${CLIENTS} streams`);
    const after = await reading(target);
    const { closed } = await clients.status();
    step('closing the streams, stopping the server');
    await clients.stop();
    return { name: target.name, before, after, closed };
  } finally {
    await target.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

interface PerConnection {
  /** Bytes per connection. */
  readonly rss: number;
  readonly heap: number;
  readonly rssAfterGc: number;
  readonly heapAfterGc: number;
  /** Kernel TCP buffer bytes and sockets per connection (machine-wide, both loopback ends). */
  readonly kernelBytes: number;
  readonly kernelSockets: number;
  /** Socket slab bytes (machine-wide, both loopback ends); NaN without /proc/slabinfo. */
  readonly kernelSlab: number;
}

function perConnection(r: Result, page: number): PerConnection {
  const per = (pick: (x: Reading) => number): number => (pick(r.after) - pick(r.before)) / CLIENTS;
  return {
    rss: per((x) => x.rss),
    heap: per((x) => x.heapUsed),
    rssAfterGc: per((x) => x.rssAfterGc),
    heapAfterGc: per((x) => x.heapUsedAfterGc),
    kernelBytes: per((x) => x.sockstat.memPages * page),
    kernelSockets: per((x) => x.sockstat.inuse),
    kernelSlab: per((x) => slabTotal(x.slabs)),
  };
}

function report(baseline: Result, gateway: Result): void {
  const page = pageSize();
  const b = perConnection(baseline, page);
  const g = perConnection(gateway, page);
  const mib = (v: number): string => (v / 2 ** 20).toFixed(1);
  const kib = (v: number): string => (v / 1024).toFixed(2);
  const ratio = (x: number, y: number): string => (y > 0 ? (x / y).toFixed(2) : 'n/a');
  const row = (label: string, cells: readonly string[]): string =>
    `  ${label.padEnd(44)}${cells.map((c, i) => (i === 2 ? c.padStart(10) : c.padStart(22))).join('')}`;
  const span = (pick: (x: Reading) => number) => (r: Result) =>
    `${mib(pick(r.before))} → ${mib(pick(r.after))}`;
  const both = (f: (r: Result) => string): [string, string] => [f(baseline), f(gateway)];

  console.log(
    `idle memory per SSE connection: ${CLIENTS} idle streams (${Math.ceil(CLIENTS / PER_CLIENT_PROCESS)} ` +
      `client process(es)), ${TOPICS} topics, warm-up ${WARMUP}, settle ${SETTLE_MS / 1000} s, ` +
      `median of ${SAMPLES} samples 1 s apart; ${process.version}`,
  );
  console.log(row('', ['bare node baseline', 'ssehub gateway', 'gw/base']));
  console.log(
    row('streams counted by the server', [
      ...both((r) => `${r.before.connections} → ${r.after.connections}`),
      '',
    ]),
  );
  const perRow = (x: number, y: number): string =>
    row('  per connection (KiB)', [kib(x), kib(y), ratio(y, x)]);
  console.log(row('RSS right after a full GC (MiB)', [...both(span((x) => x.rssAfterGc)), '']));
  console.log(perRow(b.rssAfterGc, g.rssAfterGc));
  console.log(row('RSS, median of the samples (MiB)', [...both(span((x) => x.rss)), '']));
  console.log(perRow(b.rss, g.rss));
  console.log(
    row('V8 heap used right after a full GC (MiB)', [...both(span((x) => x.heapUsedAfterGc)), '']),
  );
  console.log(perRow(b.heapAfterGc, g.heapAfterGc));
  console.log(
    row('V8 heap used, median of the samples (MiB)', [...both(span((x) => x.heapUsed)), '']),
  );
  console.log(
    row('  sample spread before / after (MiB)', [
      ...both((r) => `${mib(r.before.heapSpread)} / ${mib(r.after.heapSpread)}`),
      '',
    ]),
  );
  console.log(perRow(b.heap, g.heap));
  console.log(
    row('kernel TCP sockets in use (machine)', [
      ...both((r) => `${r.before.sockstat.inuse} → ${r.after.sockstat.inuse}`),
      '',
    ]),
  );
  console.log(
    row('kernel TCP buffer pages (machine)', [
      ...both((r) => `${r.before.sockstat.memPages} → ${r.after.sockstat.memPages}`),
      '',
    ]),
  );
  console.log(
    row('  bytes per connection (both ends)', [
      b.kernelBytes.toFixed(0),
      g.kernelBytes.toFixed(0),
      '',
    ]),
  );
  const slab = (v: number): string => (Number.isNaN(v) ? 'n/a' : mib(v));
  console.log(
    row('kernel socket slab objects (machine, MiB)', [
      ...both((r) => `${slab(slabTotal(r.before.slabs))} → ${slab(slabTotal(r.after.slabs))}`),
      '',
    ]),
  );
  const bytes = (v: number): string => (Number.isNaN(v) ? 'n/a' : v.toFixed(0));
  console.log(
    row('  bytes per connection (both ends)', [bytes(b.kernelSlab), bytes(g.kernelSlab), '']),
  );
  console.log(
    row('streams closed during the run', [String(baseline.closed), String(gateway.closed), '']),
  );
  console.log(
    `summary: one idle SSE connection costs the gateway ${kib(g.rss)} KiB RSS ` +
      `(bare Node ${kib(b.rss)} KiB, ×${ratio(g.rss, b.rss)}) and ${kib(g.heapAfterGc)} KiB live ` +
      `V8 heap (bare Node ${kib(b.heapAfterGc)} KiB, ×${ratio(g.heapAfterGc, b.heapAfterGc)}); ` +
      `outside RSS the kernel adds ${bytes(g.kernelSlab)} bytes of socket slab objects ` +
      `and ${bytes(g.kernelBytes)} bytes of TCP buffers per loopback connection (both ends)`,
  );
  const round = (v: number): number => Math.round(v);
  const json = (r: Result, p: PerConnection): Record<string, unknown> => ({
    before: r.before,
    after: r.after,
    closed: r.closed,
    perConnectionBytes: {
      rss: round(p.rss),
      heapUsed: round(p.heap),
      rssAfterGc: round(p.rssAfterGc),
      heapUsedAfterGc: round(p.heapAfterGc),
      kernelTcpBuffers: round(p.kernelBytes),
      kernelSocketSlab: Number.isNaN(p.kernelSlab) ? null : round(p.kernelSlab),
    },
  });
  console.log(
    JSON.stringify({
      bench: 'idle-memory',
      clients: CLIENTS,
      topics: TOPICS,
      warmup: WARMUP,
      settleMs: SETTLE_MS,
      samples: SAMPLES,
      node: process.version,
      pageSize: page,
      baseline: json(baseline, b),
      gateway: json(gateway, g),
      ratios: {
        rss: Number(ratio(g.rss, b.rss)),
        heapUsed: Number(ratio(g.heap, b.heap)),
        heapUsedAfterGc: Number(ratio(g.heapAfterGc, b.heapAfterGc)),
      },
    }),
  );
}

async function main(): Promise<void> {
  if (CLIENTS < 1 || CLIENTS > 19_000) {
    throw new Error('BENCH_IDLE_CLIENTS must be 1 to 19000 (one server process holds them all)');
  }
  const baseline = await measure(baselineTarget);
  const gateway = await measure(gatewayTarget);
  report(baseline, gateway);
  if (baseline.closed > 0 || gateway.closed > 0) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  console.error('idle-memory bench failed:', err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
