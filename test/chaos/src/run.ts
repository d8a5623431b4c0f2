/**
 * One chaos run from start to verdict: start the topology and the gateways, open the
 * subscribers, publish while the nemesis injects faults, then quiesce (heal everything, stop
 * publishing, wait until every subscriber reached every shard's head), read what Redis still
 * holds, stop everything, check the history and write it to the run directory.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';
import { decodeEventId, metaKey, streamKey } from '@ssehub/protocol';
import { freePort } from '@ssehub/local-redis';
import { check } from './checker.js';
import type { Verdict } from './verdict.js';
import { GATEWAY_MAIN, GatewayNode } from './gateway.js';
import type { FaultRecord, History, HeldEntry, ShardState } from './history.js';
import { Nemesis } from './nemesis.js';
import { Rng } from './prng.js';
import {
  faultsFor,
  planFaults,
  supportedFaults,
  type FaultKind,
  type PlannedFault,
} from './schedule.js';
import { SUBSCRIPTIONS, Subscriber, type SubscriptionSpec } from './subscriber.js';
import { startTopology, type Topology, type TopologyKind } from './topology.js';
import { Workload } from './workload.js';

/** What the hooks of a run ({@link ChaosOptions.during}, {@link ChaosOptions.afterHeal}) get. */
export interface RunContext {
  readonly topology: Topology;
  readonly gateways: readonly GatewayNode[];
  readonly subscribers: readonly Subscriber[];
  /** The nemesis's log so far: a fault appears when it starts and gets `healedAt` when healed. */
  readonly faults: readonly FaultRecord[];
  /** Milliseconds since the run started (the clock of every recorded time). */
  readonly now: () => number;
}

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  readonly seed: number;
  /** Length of the faulty phase, in seconds. */
  readonly durationSeconds: number;
  readonly topology: TopologyKind;
  /**
   * Only these fault kinds (default: the kinds a seeded plan draws on the topology,
   * `faultsFor`); the opt-in kinds are drawn only when named here.
   */
  readonly faults?: readonly FaultKind[];
  /**
   * This plan instead of one drawn from the seed (`at` is ms after the workload started; faults
   * of a lane run one after the other). `faults` is then ignored.
   */
  readonly plan?: readonly PlannedFault[];
  /** @defaultValue 3 */
  readonly gateways?: number;
  /**
   * More gateway environment (e.g. `HEARTBEAT_MS`, `MAX_CONNECTIONS_PER_IP`), over the run's
   * own settings.
   */
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  /** The subscription shapes. @defaultValue {@link SUBSCRIPTIONS} */
  readonly subscriptions?: readonly SubscriptionSpec[];
  /** Subscribers per subscription shape. @defaultValue 2 */
  readonly subscribersPerShape?: number;
  /** Topics the publishers pick from. @defaultValue the workload's `TOPICS` */
  readonly topics?: readonly string[];
  /** Total publish rate, events/s. @defaultValue 150 */
  readonly ratePerSecond?: number;
  /** Publishers straight to Redis through the SDK. @defaultValue 2 */
  readonly sdkPublishers?: number;
  /** Publishers on the gateways' admin ports. @defaultValue 2 */
  readonly httpPublishers?: number;
  /**
   * Runs alongside the nemesis from the start of the faulty phase (probes of the gateways, for
   * example); the run waits for it before it quiesces. A rejection fails the run.
   */
  readonly during?: (context: RunContext) => Promise<void>;
  /**
   * Runs once everything healed and every subscriber caught up (or the wait timed out), before
   * the subscribers close. A rejection fails the run.
   */
  readonly afterHeal?: (context: RunContext) => Promise<void>;
  /** `REDIS_SHARDS`; default 1 (3 on a cluster). */
  readonly shards?: number;
  /** Where the run's files go; default `test/chaos/runs/<time>-<topology>-<seed>`. */
  readonly runDir?: string;
  /**
   * The gateway entry point to test.
   * @defaultValue `$SSEHUB_CHAOS_GATEWAY`, else services/gateway/dist/main.js
   */
  readonly gatewayMain?: string;
  /** Gateway `LOG_LEVEL`. @defaultValue 'warn' */
  readonly logLevel?: string;
  /** Progress lines go here. */
  readonly log?: (line: string) => void;
  /** Print each fault as it starts. */
  readonly verbose?: boolean;
}

/** What a run returns. */
export interface ChaosResult {
  readonly history: History;
  readonly verdict: Verdict;
  readonly runDir: string;
  /** Whether every subscriber caught up before the quiescence timeout. */
  readonly caughtUp: boolean;
}

/** The default run directory for a seed. */
export function defaultRunDir(topology: string, seed: number): string {
  const root = fileURLToPath(new URL('../runs/', import.meta.url));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join(root, `${stamp}-${topology}-seed${seed}`);
}

interface Head {
  readonly epoch: string;
  readonly ms: number;
  readonly seq: number;
}

async function readHeads(client: Redis | Cluster, shards: number): Promise<Map<number, Head>> {
  const heads = new Map<number, Head>();
  for (let shard = 0; shard < shards; shard++) {
    const k = { prefix: 'ssehub', shardCount: shards };
    const epoch = await client.hget(metaKey(k, shard), 'epoch');
    if (epoch === null) continue;
    let last = '0-0';
    if ((await client.exists(streamKey(k, shard))) === 1) {
      const info = (await client.call('XINFO', 'STREAM', streamKey(k, shard))) as unknown[];
      for (let i = 0; i < info.length; i += 2) {
        if (info[i] === 'last-generated-id') last = String(info[i + 1]);
      }
    }
    const [ms = '0', seq = '0'] = last.split('-');
    heads.set(shard, { epoch, ms: Number(ms), seq: Number(seq) });
  }
  return heads;
}

async function readHeld(client: Redis | Cluster, shards: number): Promise<ShardState[]> {
  const out: ShardState[] = [];
  const k = { prefix: 'ssehub', shardCount: shards };
  for (let shard = 0; shard < shards; shard++) {
    const epoch = (await client.hget(metaKey(k, shard), 'epoch')) ?? '';
    const past = (await client.hget(metaKey(k, shard), 'pastEpochs')) ?? '';
    const heads = await readHeads(client, shards);
    const head = heads.get(shard);
    const entries: HeldEntry[] = [];
    let from = '-';
    for (;;) {
      const page = await client.xrange(streamKey(k, shard), from, '+', 'COUNT', 5000);
      for (const [id, fields] of page) {
        const at = fields.indexOf('d');
        entries.push({ streamId: id, data: at >= 0 ? (fields[at + 1] ?? '') : '' });
      }
      const last = page[page.length - 1];
      if (page.length < 5000 || last === undefined) break;
      from = `(${last[0]}`;
    }
    out.push({
      shard,
      epoch,
      pastEpochs: past === '' ? [] : past.split(','),
      lastGeneratedId: head === undefined ? '0-0' : `${head.ms}-${head.seq}`,
      entries,
    });
  }
  return out;
}

function caughtUp(sub: Subscriber, heads: ReadonlyMap<number, Head>): boolean {
  if (sub.failed) return true;
  if (!sub.live) return false;
  let cursors;
  try {
    cursors = decodeEventId(sub.lastEventId);
  } catch {
    return false;
  }
  for (const c of cursors) {
    const head = heads.get(c.shard);
    if (head === undefined) continue;
    if (c.epoch !== head.epoch) return false;
    const { ms, seq } = c.position;
    if (ms < head.ms || (ms === head.ms && seq < head.seq)) return false;
  }
  return true;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Runs one chaos test; never throws for a violation (see the verdict). */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((): void => undefined);
  const runDir = options.runDir ?? defaultRunDir(options.topology, options.seed);
  mkdirSync(runDir, { recursive: true });
  const startedAt = Date.now();
  const now = (): number => Date.now() - startedAt;
  const rng = new Rng(options.seed);
  const planRng = rng.fork();
  const workloadRng = rng.fork();
  const subscriberRng = rng.fork();
  const gatewayCount = options.gateways ?? 3;

  log(`run dir ${runDir}`);
  const topology: Topology = await startTopology({
    kind: options.topology,
    runDir,
    gateways: gatewayCount,
    ...(options.shards === undefined ? {} : { shards: options.shards }),
  });
  const gateways: GatewayNode[] = [];
  const crashes: FaultRecord[] = [];
  let ending = false;
  // A supervisor, as an orchestrator is: a gateway that exits on its own is recorded and
  // started again a second later.
  const onCrash = (g: GatewayNode, how: string, stderrTail: string): void => {
    const cause = stderrTail
      .split('\n')
      .filter((l) => /Error|error|at /.test(l))
      .slice(0, 3)
      .map((l) => l.trim())
      .join(' | ');
    const record: FaultRecord = {
      kind: 'gateway-crash',
      target: g.name,
      at: now(),
      detail: `${how}: ${cause.slice(0, 400)}`,
    };
    crashes.push(record);
    log(`  ${(record.at / 1000).toFixed(1)}s CRASH ${g.name} ${record.detail}`);
    setTimeout(() => {
      if (!ending && !g.running) g.spawn();
      record.healedAt = now();
    }, 1000);
  };
  const subscribers: Subscriber[] = [];
  let workload: Workload | undefined;
  let nemesis: Nemesis | undefined;
  try {
    for (let i = 0; i < gatewayCount; i++) {
      gateways.push(
        new GatewayNode({
          index: i,
          publicPort: await freePort(),
          adminPort: await freePort(),
          runDir,
          main: options.gatewayMain ?? process.env['SSEHUB_CHAOS_GATEWAY'] ?? GATEWAY_MAIN,
          onCrash,
          env: {
            ...topology.gatewayEnv(i),
            HEARTBEAT_MS: '500',
            LOG_LEVEL: options.logLevel ?? 'warn',
            HISTORY_SIZE: '1000000',
            SHUTDOWN_GRACE_MS: '2000',
            ...options.gatewayEnv,
          },
        }),
      );
    }
    // One at a time: the first creates the meta hashes.
    for (const g of gateways) await g.start(60_000);
    log(`${options.topology}: ${topology.nodes.length} Redis node(s), ${gatewayCount} gateways up`);

    const perShape = options.subscribersPerShape ?? 2;
    let n = 0;
    for (const spec of options.subscriptions ?? SUBSCRIPTIONS) {
      for (let i = 0; i < perShape; i++) {
        subscribers.push(
          new Subscriber({
            name: `${spec.name}${i}`,
            spec,
            gateways,
            firstGateway: n % gatewayCount,
            rng: subscriberRng.fork(),
            now,
          }),
        );
        n += 1;
      }
    }
    const liveBy = Date.now() + 20_000;
    while (!subscribers.every((s) => s.live) && Date.now() < liveBy) await sleep(50);
    log(`${subscribers.length} subscribers live`);

    const supported = supportedFaults(options.topology);
    const kinds = (options.faults ?? faultsFor(options.topology)).filter((k) =>
      supported.includes(k),
    );
    const durationMs = options.durationSeconds * 1000;
    const plan = options.plan ?? planFaults(planRng, { kinds, durationMs });
    const unsupported = plan.filter((f) => !supported.includes(f.kind)).map((f) => f.kind);
    if (unsupported.length > 0) {
      throw new Error(
        `${options.topology} does not support ${[...new Set(unsupported)].join(', ')}`,
      );
    }
    writeFileSync(join(runDir, 'plan.json'), `${JSON.stringify(plan, null, 1)}\n`);
    workload = new Workload({
      rng: workloadRng,
      topology,
      gateways,
      now,
      ratePerSecond: options.ratePerSecond ?? 150,
      ...(options.topics === undefined ? {} : { topics: options.topics }),
      ...(options.sdkPublishers === undefined ? {} : { sdkPublishers: options.sdkPublishers }),
      ...(options.httpPublishers === undefined ? {} : { httpPublishers: options.httpPublishers }),
    });
    workload.start();
    const planStart = now();
    nemesis = new Nemesis({
      topology,
      gateways,
      plan,
      now,
      planStart,
      ...(options.verbose === true
        ? {
            onFault: (f): void => {
              log(`  ${(f.at / 1000).toFixed(1)}s ${f.kind} ${f.target}: ${f.detail}`);
            },
          }
        : {}),
    });
    nemesis.start();
    const context: RunContext = { topology, gateways, subscribers, faults: nemesis.faults, now };
    log(
      `workload and nemesis running for ${options.durationSeconds} s (${plan.length} faults planned)`,
    );
    let duringFailed: { readonly error: unknown } | undefined;
    const during = options.during?.(context).catch((error: unknown) => {
      duringFailed = { error };
    });
    await sleep(durationMs);
    await during;
    if (duringFailed !== undefined) throw duringFailed.error;

    // Quiesce.
    log('quiescing: healing every fault');
    await nemesis.stop();
    const healStarted = now();
    for (const name of await nemesis.healAll()) {
      crashes.push({
        kind: 'gateway-stuck',
        target: name,
        at: healStarted,
        healedAt: now(),
        detail: '/readyz not 200 within 20 s of Redis healing; killed and started again',
      });
      log(`  ${name} was stuck not ready after the heal; restarted it`);
    }
    log('healed; stopping the workload');
    await workload.stop(20_000);
    const client = topology.directClient();
    let allCaughtUp = false;
    try {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const heads = await readHeads(client, topology.shards).catch(() => undefined);
        if (heads !== undefined && subscribers.every((s) => caughtUp(s, heads))) {
          allCaughtUp = true;
          break;
        }
        await sleep(250);
      }
      // A little longer, so late duplicates would show.
      await sleep(1500);
      log(allCaughtUp ? 'every subscriber caught up' : 'quiescence timed out (30 s)');
      await options.afterHeal?.(context);
      const held = await readHeld(client, topology.shards);
      for (const s of subscribers) s.close();
      const history: History = {
        seed: options.seed,
        topology: options.topology,
        shards: topology.shards,
        startedAt,
        publishes: workload.records,
        subscribers: subscribers.map((s) => s.record),
        faults: nemesis.faults,
        crashes,
        held,
      };
      const verdict = check(history);
      writeHistory(runDir, history);
      return { history, verdict, runDir, caughtUp: allCaughtUp };
    } finally {
      client.disconnect();
    }
  } finally {
    ending = true;
    for (const s of subscribers) s.close();
    await workload?.stop(0).catch(() => undefined);
    for (const g of gateways) await g.close();
    await topology.stop();
  }
}

/** Writes the history as JSON lines (one publish, frame or fault per line) to the run dir. */
function writeHistory(runDir: string, history: History): void {
  const lines: string[] = [];
  lines.push(
    JSON.stringify({
      type: 'run',
      seed: history.seed,
      topology: history.topology,
      shards: history.shards,
      startedAt: history.startedAt,
    }),
  );
  for (const f of history.faults) lines.push(JSON.stringify({ type: 'fault', ...f }));
  for (const f of history.crashes) lines.push(JSON.stringify({ type: 'crash', ...f }));
  for (const p of history.publishes) lines.push(JSON.stringify({ type: 'publish', ...p }));
  for (const s of history.subscribers) {
    lines.push(JSON.stringify({ type: 'subscriber', name: s.name, patterns: s.patterns }));
    for (const f of s.frames) lines.push(JSON.stringify({ type: 'frame', sub: s.name, ...f }));
  }
  for (const h of history.held) {
    lines.push(
      JSON.stringify({
        type: 'held',
        shard: h.shard,
        epoch: h.epoch,
        pastEpochs: h.pastEpochs,
        lastGeneratedId: h.lastGeneratedId,
        entries: h.entries.length,
      }),
    );
  }
  writeFileSync(join(runDir, 'history.jsonl'), `${lines.join('\n')}\n`);
  writeFileSync(join(runDir, 'history.json'), JSON.stringify(history));
}
