/**
 * Relay-lag bench: how long an event takes from a publish call to every subscriber, across
 * gateway replicas relaying through one Redis, at a steady publish rate.
 *
 * Run (from services/gateway, gateway built first):
 *
 *   npx tsc -p tsconfig.build.json
 *   npx tsc -p tsconfig.bench.json && node bench-dist/bench/relay-lag.js
 *
 * It starts one `redis-server` (free loopback port, no persistence), BENCH_REPLICAS gateway
 * processes (`node dist/main.js`, REDIS_URL, a unique REDIS_PREFIX, LOG_LEVEL=warn) and a client
 * process (relay-lag-clients.ts) holding BENCH_CLIENTS SSE streams per replica on
 * `/subscribe/bench` (pattern `bench/**`). This process publishes BENCH_RATE events/s for
 * BENCH_SECONDS with `POST /publish/bench/x` on the replicas' admin ports, round-robin over one
 * keep-alive agent, paced by the wall clock (every 10 ms tick sends the events then due). Each
 * event's data is `<sentAt>:<seq>`, `sentAt` taken just before the request; a warm-up of
 * BENCH_WARMUP_SECONDS at the same rate comes first and is not counted (measuring starts once
 * every subscriber has every warm-up event).
 *
 * Printed: the rate achieved, events received against expected (every subscriber must get every
 * accepted event), and two lags:
 * - end to end: publish call to receipt by the client process, p50/p90/p99/max over every
 *   delivery (includes the publish HTTP request, Redis, the relay, fan-out and the client's
 *   own event loop);
 * - relay: the replicas' `ssehub_relay_lag_seconds` histogram (Redis acceptance to receipt by
 *   the replica), scraped from every /metrics before and after the measured phase, summed, with
 *   p50/p99 interpolated linearly inside the bucket. It is computed from millisecond clocks (the
 *   Redis stream id against Date.now()), so it moves in steps of 1 ms.
 * Then, to say where lag comes from: end-to-end p50/p99 per second of the run, the publish
 * acknowledgement time, the replicas' event-loop delay (their /metrics) and the client process's
 * (it must keep up with every delivery, so its utilization is shown), CPU per process and how
 * busy the whole machine was (other work on it included). The last line is one JSON object. Every process started is stopped at the end, on error and
 * on Ctrl-C. Everything shares this machine's cores: the figures are indicative.
 *
 * Settings (environment): BENCH_RATE (default 1000), BENCH_SECONDS (10), BENCH_REPLICAS (3),
 * BENCH_CLIENTS per replica (100), BENCH_WARMUP_SECONDS (2), BENCH_DRAIN_MS (5000).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisServer } from '@ssehub/local-redis';
import { cleanup, track } from './cleanup.js';
import { nextMessage, startGateway, stopProcess, type Replica } from './processes.js';
import type {
  ClientsFinish,
  ClientsResult,
  ClientsStart,
  LagSummary,
} from './relay-lag-clients.js';

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number >= 0`);
  return value;
}

const RATE = setting('BENCH_RATE', 1000);
const SECONDS = setting('BENCH_SECONDS', 10);
const REPLICAS = Math.max(1, Math.floor(setting('BENCH_REPLICAS', 3)));
const CLIENTS = Math.max(1, Math.floor(setting('BENCH_CLIENTS', 100)));
const WARMUP_SECONDS = setting('BENCH_WARMUP_SECONDS', 2);
const DRAIN_MS = setting('BENCH_DRAIN_MS', 5000);
const TICK_MS = 10;
const TOPIC = 'bench/x';
const RELAY_METRIC = 'ssehub_relay_lag_seconds';
/** prom-client's default event-loop sampling interval, the same in the client process. */
const EVENT_LOOP_SAMPLING_MS = 10;

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

async function startReplicas(redis: RedisServer): Promise<Replica[]> {
  const prefix = `bench${randomUUID().replaceAll('-', '')}`;
  const settled = await Promise.allSettled(
    Array.from({ length: REPLICAS }, (_, i) =>
      startGateway(`replica-${i}`, {
        REDIS_URL: redis.url,
        REDIS_PREFIX: prefix,
        LOG_LEVEL: 'warn',
        MAX_CONNECTIONS_PER_IP: String(Math.max(1000, CLIENTS * 2)),
      }),
    ),
  );
  const replicas: Replica[] = [];
  for (const s of settled) {
    if (s.status === 'fulfilled') {
      replicas.push(s.value);
      track(s.value.child, s.value.stop);
    }
  }
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return replicas;
}

async function startClients(
  replicas: readonly Replica[],
  expectedEvents: number,
): Promise<ChildProcess> {
  const child = fork(join(import.meta.dirname, 'relay-lag-clients.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  track(child, () => stopProcess(child, 'SIGKILL'));
  const opened = nextMessage(child, 'open', 30_000);
  const start: ClientsStart = {
    type: 'start',
    urls: replicas.map((r) => `${r.publicUrl}/subscribe/bench`),
    perUrl: CLIENTS,
    expectedEvents,
    rate: Math.max(1, RATE),
  };
  child.send(start);
  await opened;
  return child;
}

// ---------------------------------------------------------------------------------------------
// CPU of each process (Linux /proc; absent elsewhere)
// ---------------------------------------------------------------------------------------------

/** User + system CPU seconds of a process, or NaN when /proc cannot say. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

/** Busy and total CPU seconds of the whole machine, summed over cores (/proc/stat), or NaN. */
function machineCpu(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
    return { busy: (total - idle) / 100, total: total / 100 };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

// ---------------------------------------------------------------------------------------------
// Publisher
// ---------------------------------------------------------------------------------------------

const publishAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One raw publish; resolves true on 200. */
function publishOne(adminUrl: string, data: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request(
      `${adminUrl}/publish/${TOPIC}`,
      {
        method: 'POST',
        agent: publishAgent,
        headers: { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        res.resume();
        res.once('end', () => {
          resolve(res.statusCode === 200);
        });
        res.once('error', () => {
          resolve(false);
        });
      },
    );
    req.once('error', () => {
      resolve(false);
    });
    req.end(data);
  });
}

interface PublishRun {
  readonly sent: number;
  readonly failed: number[];
  /** From the first send to the last due tick, in s. */
  readonly seconds: number;
  /** Publish call to its 200, in ms. */
  readonly ackMs: LagSummary;
}

/**
 * Publishes `rate` events/s for `seconds`, paced by the wall clock: every tick sends the events
 * due since the start. `measured` events carry their seq; warm-up events carry `w`.
 */
async function publishFor(
  replicas: readonly Replica[],
  options: { rate: number; seconds: number; measured: boolean },
): Promise<PublishRun> {
  const total = Math.round(options.rate * options.seconds);
  const failed: number[] = [];
  const acks: number[] = [];
  const pending: Promise<void>[] = [];
  let sent = 0;
  const started = performance.now();
  while (sent < total) {
    const due = Math.min(
      total,
      Math.floor(((performance.now() - started) / 1000) * options.rate) + 1,
    );
    for (; sent < due; sent++) {
      const seq = sent;
      const replica = replicas[seq % replicas.length];
      if (replica === undefined) throw new Error('no replicas');
      const sentAt = nowMs();
      const data = `${sentAt.toFixed(3)}:${options.measured ? String(seq) : 'w'}`;
      pending.push(
        publishOne(replica.adminUrl, data).then((ok) => {
          if (ok) acks.push(nowMs() - sentAt);
          else failed.push(seq);
        }),
      );
    }
    if (sent < total) await sleep(TICK_MS);
  }
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(pending);
  const sorted = acks.sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.ceil(q * sorted.length) - 1] ?? NaN;
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    sent,
    failed,
    seconds,
    ackMs: {
      count: sorted.length,
      mean: round(sorted.reduce((s, v) => s + v, 0) / sorted.length),
      p50: round(at(0.5)),
      p90: round(at(0.9)),
      p99: round(at(0.99)),
      p999: round(at(0.999)),
      max: round(sorted[sorted.length - 1] ?? NaN),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The relay-lag histogram
// ---------------------------------------------------------------------------------------------

/** Cumulative bucket counts by upper bound (seconds; Infinity for +Inf), summed over replicas. */
type Histogram = Map<number, number>;

interface Scrape {
  /** The relay-lag histogram summed over replicas. */
  readonly relay: Histogram;
  /**
   * Per replica, its event-loop delay p99 and max in ms beyond the sampling interval, since the
   * previous scrape (prom-client's default metrics reset their delay histogram on every scrape).
   */
  readonly eventLoop: readonly { readonly p99: number; readonly max: number }[];
}

function gauge(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

async function scrape(replicas: readonly Replica[]): Promise<Scrape> {
  const sum: Histogram = new Map();
  const eventLoop: { p99: number; max: number }[] = [];
  for (const replica of replicas) {
    const res = await fetch(`${replica.adminUrl}/metrics`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${replica.name} /metrics answered ${res.status}`);
    // Node's delay histogram holds whole sampling intervals (10 ms here): subtract the interval.
    const ms = (name: string): number => {
      const seconds = gauge(text, `ssehub_process_nodejs_eventloop_lag_${name}_seconds`);
      return Math.round(Math.max(0, seconds * 1000 - EVENT_LOOP_SAMPLING_MS) * 100) / 100;
    };
    eventLoop.push({ p99: ms('p99'), max: ms('max') });
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${RELAY_METRIC}_bucket{`)) continue;
      const le = /le="([^"]+)"/.exec(line)?.[1];
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (le === undefined || !Number.isFinite(value)) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      sum.set(bound, (sum.get(bound) ?? 0) + value);
    }
  }
  if (sum.size === 0) throw new Error(`no ${RELAY_METRIC} buckets on /metrics`);
  return { relay: sum, eventLoop };
}

interface RelayLag {
  /** Observations between the two scrapes (each replica observes each event once). */
  readonly count: number;
  /** In ms; a quantile in the +Inf bucket reads as the last finite bound. */
  readonly p50: number;
  readonly p99: number;
  /** Observations per bucket (not cumulative): upper bound (`0.5ms`, …, `+Inf`) → count. */
  readonly buckets: Record<string, number>;
}

/** Prometheus `histogram_quantile`: linear interpolation inside the bucket holding rank q·n. */
function quantile(bounds: readonly number[], cumulative: readonly number[], q: number): number {
  const total = cumulative[cumulative.length - 1] ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    const upper = bounds[i] ?? Infinity;
    const count = cumulative[i] ?? 0;
    if (count < rank) continue;
    const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
    if (upper === Infinity) return lower;
    const below = i === 0 ? 0 : (cumulative[i - 1] ?? 0);
    return lower + ((upper - lower) * (rank - below)) / (count - below);
  }
  return NaN;
}

function relayLag(before: Histogram, after: Histogram): RelayLag {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const cumulative = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const buckets: Record<string, number> = {};
  bounds.forEach((b, i) => {
    const inBucket = (cumulative[i] ?? 0) - (i === 0 ? 0 : (cumulative[i - 1] ?? 0));
    buckets[b === Infinity ? '+Inf' : `${b * 1000}ms`] = inBucket;
  });
  const ms = (s: number): number => Math.round(s * 1e6) / 1000;
  return {
    count: cumulative[cumulative.length - 1] ?? 0,
    p50: ms(quantile(bounds, cumulative, 0.5)),
    p99: ms(quantile(bounds, cumulative, 0.99)),
    buckets,
  };
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const redis = await RedisServer.start();
  track(redis.child, () => redis.stop());
  const replicas = await startReplicas(redis);
  const expectedEvents = Math.round(RATE * SECONDS);
  const clients = await startClients(replicas, expectedEvents);
  console.error(
    `relay-lag: ${REPLICAS} replicas on redis ${redis.url}, ${CLIENTS * REPLICAS} subscribers open; ` +
      `warm-up ${WARMUP_SECONDS} s, then ${RATE} events/s for ${SECONDS} s`,
  );

  if (WARMUP_SECONDS > 0) {
    const warmUp = await publishFor(replicas, {
      rate: RATE,
      seconds: WARMUP_SECONDS,
      measured: false,
    });
    // Start measuring only once the warm-up has reached every subscriber (no backlog carried in).
    const target = (warmUp.sent - warmUp.failed.length) * CLIENTS * REPLICAS;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const counted = nextMessage<{ warmUpDeliveries: number }>(clients, 'count', 10_000);
      clients.send({ type: 'count' });
      const { warmUpDeliveries } = await counted;
      if (warmUpDeliveries >= target) break;
      if (Date.now() > deadline) {
        throw new Error(`warm-up: ${warmUpDeliveries} of ${target} deliveries after 60 s`);
      }
      await sleep(50);
    }
    await sleep(200);
  }

  const pids = [
    ...replicas.map((r) => ({ name: r.name, pid: r.child.pid })),
    { name: 'redis', pid: redis.child?.pid },
    { name: 'clients', pid: clients.pid },
    { name: 'publisher', pid: process.pid },
  ];
  const cpuBefore = pids.map((p) => cpuSeconds(p.pid));
  const machineBefore = machineCpu();
  const before = await scrape(replicas);
  clients.send({ type: 'mark' });
  const wallStart = performance.now();
  const run = await publishFor(replicas, { rate: RATE, seconds: SECONDS, measured: true });

  const result = nextMessage<ClientsResult>(clients, 'result', DRAIN_MS + 60_000);
  const finish: ClientsFinish = {
    type: 'finish',
    published: run.sent,
    failed: run.failed,
    drainMs: DRAIN_MS,
  };
  clients.send(finish);
  const received = await result;
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpu = pids.map((p, i) => ({
    name: p.name,
    cores: Math.round(((cpuSeconds(p.pid) - (cpuBefore[i] ?? NaN)) / wallSeconds) * 100) / 100,
  }));
  const machineAfter = machineCpu();
  const machine = {
    cores: availableParallelism(),
    busyCores: Math.round(((machineAfter.busy - machineBefore.busy) / wallSeconds) * 100) / 100,
    loadAverage1m: Math.round((loadavg()[0] ?? NaN) * 100) / 100,
  };
  const after = await scrape(replicas);
  const relay = relayLag(before.relay, after.relay);

  const accepted = run.sent - run.failed.length;
  const rate = accepted / run.seconds;
  const f = (v: number): string => v.toFixed(2);
  console.log(
    `relay lag: ${REPLICAS} replicas × ${CLIENTS} subscribers on bench/**, ` +
      `target ${RATE} events/s for ${SECONDS} s (redis-server ${redis.url})`,
  );
  console.log(
    `  publish rate achieved   ${rate.toFixed(1)} events/s (${accepted} accepted of ${run.sent} ` +
      `in ${run.seconds.toFixed(2)} s, ${run.failed.length} failed); ` +
      `publish ack p50 ${f(run.ackMs.p50)} ms, p99 ${f(run.ackMs.p99)} ms`,
  );
  console.log(
    `  deliveries              ${received.received} of ${received.expected} expected: ` +
      `${received.missed} missed (${received.subscribersMissing} subscribers short), ` +
      `${received.duplicates} duplicates, ${received.streamsClosed} streams closed, ` +
      `drained in ${received.drainMs} ms`,
  );
  const lag = received.lag;
  console.log(
    `  end-to-end lag (ms)     p50 ${f(lag.p50)}  p90 ${f(lag.p90)}  p99 ${f(lag.p99)}  ` +
      `p99.9 ${f(lag.p999)}  max ${f(lag.max)}  mean ${f(lag.mean)}  (${lag.count} deliveries)`,
  );
  received.lagByReplica.forEach((l, i) => {
    console.log(
      `    via replica-${i}         p50 ${f(l.p50)}  p90 ${f(l.p90)}  p99 ${f(l.p99)}  max ${f(l.max)}`,
    );
  });
  const perSecond = (pick: (l: LagSummary) => number): string =>
    received.lagBySecond.map((l) => pick(l).toFixed(0)).join(' ');
  console.log(`    p50 by second          ${perSecond((l) => l.p50)}`);
  console.log(`    p99 by second          ${perSecond((l) => l.p99)}`);
  console.log(
    `  relay lag (ms, histogram) p50 ${f(relay.p50)}  p99 ${f(relay.p99)}  ` +
      `(${relay.count} observations, ${REPLICAS * accepted} expected; 1 ms clock steps)`,
  );
  console.log(
    `  event-loop delay (ms)   ${after.eventLoop
      .map((l, i) => `replica-${i} p99 ${f(l.p99)} max ${f(l.max)}`)
      .join(', ')}; clients p99 ${f(received.eventLoop.delayP99Ms)}, ` +
      `utilization ${f(received.eventLoop.utilization)}`,
  );
  console.log(`  CPU (cores busy)        ${cpu.map((c) => `${c.name} ${f(c.cores)}`).join(', ')}`);
  console.log(
    `  machine                 ${machine.cores} cores, ${f(machine.busyCores)} busy during the run ` +
      `(every process, the bench's and others'), load average ${f(machine.loadAverage1m)}`,
  );
  console.log(
    JSON.stringify({
      bench: 'relay-lag',
      replicas: REPLICAS,
      subscribersPerReplica: CLIENTS,
      targetRate: RATE,
      seconds: SECONDS,
      achievedRate: Math.round(rate * 10) / 10,
      published: run.sent,
      publishFailed: run.failed.length,
      publishAckMs: run.ackMs,
      expectedDeliveries: received.expected,
      receivedDeliveries: received.received,
      missed: received.missed,
      duplicates: received.duplicates,
      streamsClosed: received.streamsClosed,
      endToEndLagMs: lag,
      endToEndLagMsByReplica: received.lagByReplica,
      endToEndLagMsBySecond: received.lagBySecond.map((l) => ({
        p50: l.p50,
        p99: l.p99,
        max: l.max,
      })),
      relayLagMs: relay,
      replicaEventLoopDelayMs: after.eventLoop,
      clientEventLoop: received.eventLoop,
      cpuCores: Object.fromEntries(cpu.map((c) => [c.name, c.cores])),
      machine,
    }),
  );
  if (received.missed > 0 || run.failed.length > 0) process.exitCode = 1;
}

try {
  await main();
} catch (err) {
  console.error('relay-lag bench failed:', err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
