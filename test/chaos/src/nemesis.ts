/**
 * The nemesis: carries out a {@link PlannedFault} plan against a running topology and its
 * gateways, logs every fault with its start and heal times, and at the end heals everything
 * (resumes paused nodes, restarts dead ones, heals the proxies, restarts the gateways).
 */
import { parseInfo } from '@ssehub/local-redis';
import { streamKey } from '@ssehub/protocol';
import type { FaultRecord } from './history.js';
import type { GatewayNode } from './gateway.js';
import type { RedisNode } from './redis-node.js';
import type { PlannedFault } from './schedule.js';
import type { Topology } from './topology.js';

/** Options of {@link Nemesis}. */
export interface NemesisOptions {
  readonly topology: Topology;
  readonly gateways: readonly GatewayNode[];
  readonly plan: readonly PlannedFault[];
  /** Milliseconds since the run started. */
  readonly now: () => number;
  /** When the plan's time 0 is, on the `now()` clock. */
  readonly planStart: number;
  /** Called with each fault as it starts (for `--verbose`). */
  readonly onFault?: (fault: FaultRecord) => void;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

function pickOf<T>(items: readonly T[], draw: number): T | undefined {
  return items.length === 0 ? undefined : items[draw % items.length];
}

/** Runs the plan in its lanes until {@link Nemesis.stop}. */
export class Nemesis {
  readonly faults: FaultRecord[] = [];
  #stopping = false;
  readonly #lanes: Promise<void>[] = [];
  readonly #wakers = new Set<() => void>();

  constructor(private readonly options: NemesisOptions) {}

  /** Starts both lanes. */
  start(): void {
    for (const lane of [0, 1] as const) {
      const faults = this.options.plan.filter((f) => f.lane === lane);
      this.#lanes.push(this.#runLane(faults));
    }
  }

  /** Lets the faults in progress finish (each heals itself), starts no new one. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const wake of this.#wakers) wake();
    await Promise.all(this.#lanes);
  }

  /**
   * Heals everything the faults may have left behind and waits for the gateways. A gateway that
   * is not ready 20 s after Redis healed is stuck (SPEC.md section 9: it becomes ready the first
   * time it reaches Redis): it is killed and started again, and named in the result.
   *
   * @returns The gateways that were stuck.
   */
  async healAll(): Promise<string[]> {
    await this.options.topology.heal();
    for (const g of this.options.gateways) g.spawn();
    const stuck: string[] = [];
    await Promise.all(
      this.options.gateways.map(async (g) => {
        try {
          await g.waitReady(20_000);
        } catch {
          stuck.push(g.name);
          await g.stop('SIGKILL');
          g.spawn();
          await g.waitReady(30_000).catch(() => undefined);
        }
      }),
    );
    return stuck;
  }

  async #wait(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopping) return;
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  async #runLane(faults: readonly PlannedFault[]): Promise<void> {
    for (const fault of faults) {
      await this.#wait(this.options.planStart + fault.at - this.options.now());
      if (this.#stopping) return;
      const record: FaultRecord = {
        kind: fault.kind,
        target: '?',
        at: this.options.now(),
        detail: '',
      };
      this.faults.push(record);
      try {
        await this.#inject(fault, record);
      } catch (err) {
        record.error = err instanceof Error ? err.message : String(err);
      }
      record.healedAt = this.options.now();
    }
  }

  /** Sets the record's target and detail, then runs the fault's whole life. */
  async #inject(f: PlannedFault, record: FaultRecord): Promise<void> {
    const { topology, gateways, onFault } = this.options;
    const describe = (target: string, detail: string): void => {
      Object.assign(record, { target, detail });
      onFault?.(record);
    };
    const nodeTarget = async (): Promise<RedisNode> => {
      const masters = await topology.masters();
      const replicas = await topology.replicas();
      // Masters are hit three times as often as replicas: they carry the traffic.
      const node = pickOf([...masters, ...masters, ...masters, ...replicas], f.target);
      if (node === undefined) throw new Error('no Redis node');
      return node;
    };
    switch (f.kind) {
      case 'redis-kill': {
        const node = await nodeTarget();
        describe(node.name, `SIGKILL, restart after ${f.holdMs} ms`);
        await node.kill();
        await sleep(f.holdMs);
        await node.restart();
        return;
      }
      case 'redis-restart': {
        const node = await nodeTarget();
        describe(node.name, `SHUTDOWN, start again after ${f.holdMs} ms`);
        await node.shutdown();
        await sleep(f.holdMs);
        await node.restart();
        return;
      }
      case 'redis-pause': {
        const node = await nodeTarget();
        describe(node.name, `SIGSTOP for ${f.holdMs} ms`);
        node.pause();
        await sleep(f.holdMs);
        node.resume();
        return;
      }
      case 'debug-sleep': {
        const node = await nodeTarget();
        const seconds = (f.holdMs / 1000).toFixed(2);
        describe(node.name, `DEBUG SLEEP ${seconds}`);
        await node.cli(['DEBUG', 'SLEEP', seconds], f.holdMs + 10_000);
        return;
      }
      case 'client-kill-pubsub':
      case 'client-kill-normal': {
        const node = await nodeTarget();
        const type = f.kind === 'client-kill-pubsub' ? 'pubsub' : 'normal';
        const out = await node.cli(['CLIENT', 'KILL', 'TYPE', type]);
        describe(node.name, `CLIENT KILL TYPE ${type}: ${out.trim()} killed`);
        return;
      }
      case 'proxy-cut': {
        const proxy = pickOf(topology.proxies, f.target);
        if (proxy === undefined) throw new Error('no proxy');
        describe(proxy.name, `cut ${proxy.cut()} connections`);
        return;
      }
      case 'proxy-blackhole': {
        const proxy = pickOf(topology.proxies, f.target);
        if (proxy === undefined) throw new Error('no proxy');
        const end = f.variant === 0 ? 'resume' : 'cut';
        describe(proxy.name, `black hole for ${f.holdMs} ms, then ${end}`);
        proxy.blackhole('all');
        await sleep(f.holdMs);
        if (end === 'cut') proxy.cut();
        proxy.resume();
        return;
      }
      case 'proxy-stall-then-cut': {
        const proxy = pickOf(topology.proxies, f.target);
        if (proxy === undefined) throw new Error('no proxy');
        const scope = f.variant === 1 ? 'gateway-subscriber' : 'all';
        describe(proxy.name, `stall ${scope} for ${f.holdMs} ms, then cut`);
        proxy.blackhole(scope);
        await sleep(f.holdMs);
        const n = proxy.cut(scope);
        proxy.resume();
        Object.assign(record, { detail: `${record.detail} ${n} connections` });
        return;
      }
      case 'proxy-delay': {
        const proxy = pickOf(topology.proxies, f.target);
        if (proxy === undefined) throw new Error('no proxy');
        describe(proxy.name, `+${f.variant} ms latency for ${f.holdMs} ms`);
        proxy.delayMs = f.variant;
        await sleep(f.holdMs);
        proxy.delayMs = 0;
        return;
      }
      case 'proxy-throttle': {
        const proxy = pickOf(topology.proxies, f.target);
        if (proxy === undefined) throw new Error('no proxy');
        describe(proxy.name, `${f.variant} bytes/s for ${f.holdMs} ms`);
        proxy.bytesPerSecond = f.variant;
        await sleep(f.holdMs);
        proxy.bytesPerSecond = 0;
        return;
      }
      case 'gateway-kill':
      case 'gateway-term': {
        const gateway = pickOf(gateways, f.target);
        if (gateway === undefined) throw new Error('no gateway');
        const signal = f.kind === 'gateway-kill' ? 'SIGKILL' : 'SIGTERM';
        describe(gateway.name, `${signal}, restart ${f.holdMs} ms after the exit`);
        await gateway.stop(signal);
        await sleep(f.holdMs);
        gateway.spawn();
        await gateway.waitReady(30_000);
        return;
      }
      case 'malformed': {
        const [master] = await topology.masters();
        if (master === undefined) throw new Error('no master');
        const { channel, message } = await malformedMessage(
          master,
          f.variant,
          topology.kind === 'cluster',
        );
        const command = topology.kind === 'cluster' ? 'SPUBLISH' : 'PUBLISH';
        const out = await master.cli(['-c', command, channel, message]);
        describe(
          master.name,
          `${command} ${channel} ${JSON.stringify(message)} (${out.trim()} receivers)`,
        );
        return;
      }
      case 'sentinel-failover': {
        const [sentinel] = topology.sentinelPorts;
        const [before] = await topology.masters();
        if (sentinel === undefined || before === undefined) throw new Error('no sentinel');
        const out = await before.cli([
          '-p',
          String(sentinel),
          'SENTINEL',
          'FAILOVER',
          topology.sentinelName,
        ]);
        describe(before.name, `SENTINEL FAILOVER: ${out.trim()}`);
        await waitForNewMaster(topology, before, 20_000);
        return;
      }
      case 'failover-behind': {
        const [master] = await topology.masters();
        if (master === undefined) throw new Error('no master');
        const proxy = topology.proxies[topology.nodes.indexOf(master)];
        if (proxy === undefined) throw new Error('no proxy for the master');
        const publishFirst = f.variant === 1;
        describe(
          master.name,
          `replication held for ${f.holdMs} ms while publishes go on, then SIGKILL the master` +
            (publishFirst ? '; the gateways reach the new master after it accepted a publish' : ''),
        );
        proxy.blackhole('replication');
        await sleep(f.holdMs);
        // The gateways' connections to every other node wait (held by the proxies) until the
        // new master has stored an event: their first look at its history then finds it has
        // moved on, with ids above the positions they last saw.
        const others = topology.proxies.filter((p) => p !== proxy);
        if (publishFirst) for (const p of others) p.blackhole('gateway');
        await master.kill();
        try {
          const promoted = await waitForNewMaster(topology, master, 25_000);
          if (publishFirst) await waitForPublish(promoted, topology.shards, 10_000);
        } finally {
          if (publishFirst) for (const p of others) p.resume();
          proxy.cut('replication');
          proxy.resume();
          await master.restart();
        }
        return;
      }
      case 'cluster-failover': {
        const replica = pickOf(await topology.replicas(), f.target);
        if (replica === undefined) throw new Error('no replica to promote');
        const out = await replica.cli(['CLUSTER', 'FAILOVER']);
        describe(replica.name, `CLUSTER FAILOVER: ${out.trim()}`);
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
          const info = parseInfo(await replica.cli(['INFO', 'replication']));
          if (info.get('role') === 'master') return;
          await sleep(100);
        }
        throw new Error(`${replica.name} did not become master`);
      }
    }
  }
}

/** Waits until a node other than `before` is the master; returns it. */
async function waitForNewMaster(
  topology: Topology,
  before: RedisNode,
  timeoutMs: number,
): Promise<RedisNode> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const [now] = await topology.masters();
      if (now !== undefined && now !== before) {
        const info = parseInfo(await now.cli(['INFO', 'replication']));
        if (info.get('role') === 'master') return now;
      }
    } catch {
      // The sentinel is busy.
    }
    await sleep(100);
  }
  throw new Error(`no new master within ${timeoutMs} ms`);
}

/** A shard's stream head on `node` (`last-generated-id`), or '' without a stream. */
async function streamHead(node: RedisNode, shards: number, shard: number): Promise<string> {
  const key = streamKey({ prefix: 'ssehub', shardCount: shards }, shard);
  const out = await node.cli(['XINFO', 'STREAM', key]);
  const lines = out.split('\n');
  const at = lines.indexOf('last-generated-id');
  return at >= 0 ? (lines[at + 1] ?? '').trim() : '';
}

/** Waits until every shard's stream on `node` has moved on (a publish was stored there). */
async function waitForPublish(node: RedisNode, shards: number, timeoutMs: number): Promise<void> {
  const before: string[] = [];
  for (let shard = 0; shard < shards; shard++) before.push(await streamHead(node, shards, shard));
  const deadline = Date.now() + timeoutMs;
  for (let shard = 0; shard < shards; shard++) {
    while ((await streamHead(node, shards, shard)) === before[shard]) {
      if (Date.now() > deadline)
        throw new Error(`no publish on ${node.name} within ${timeoutMs} ms`);
      await sleep(50);
    }
  }
}

/** One of the junk messages on an ssehub channel of shard 0 (`parseRelayedMessage`'s format). */
async function malformedMessage(
  master: RedisNode,
  variant: number,
  sharded: boolean,
): Promise<{ channel: string; message: string }> {
  const base = 'ssehub:{ssehub:s0}:';
  let epoch = 'XXXX';
  try {
    const out = (await master.cli(['-c', 'HGET', `${base}meta`, 'epoch'])).trim();
    if (out !== '') epoch = out;
  } catch {
    // Keep the placeholder.
  }
  const now = Date.now();
  const channels = [`${base}sub:t`, `${base}all`, `${base}t:t/a`];
  // A message nobody receives tests nothing: prefer the candidate with the most subscribers
  // (the gateways' channel covers change as subscribers move), the variant's pick on a tie.
  let channel = channels[Math.floor(variant / 8) % channels.length] ?? `${base}all`;
  try {
    const counts = (
      await master.cli(['-c', 'PUBSUB', sharded ? 'SHARDNUMSUB' : 'NUMSUB', ...channels])
    )
      .trim()
      .split('\n');
    let best = 0;
    for (let i = 0; i + 1 < counts.length; i += 2) {
      const n = Number(counts[i + 1]);
      const name = counts[i];
      if (name !== undefined && n > best) {
        best = n;
        channel = name;
      }
    }
  } catch {
    // Keep the variant's pick.
  }
  const messages = [
    `1\nXX\n1-1\nt/a\n\nphantom-bad-epoch`,
    `1\n${epoch}\n99999999999999999999-1\nt/a\n\nphantom-20-digits`,
    `1\n${epoch}\n${now + 3_600_000}-0\nt/a\nx\rinjected\nphantom-cr-in-name`,
    `2\n${epoch}\n${now}-0\nt/a\n\nphantom-version-2`,
    'garbage',
    `1\n${epoch}\n${now}-0\n\n\nphantom-no-topic`,
    `1\n${epoch}\n${now}-7\nt//a\n\nphantom-bad-topic`,
    `1\n${epoch}\n${now}-9\nt/a\nssehub.bogus\nphantom-reserved-name`,
  ];
  return { channel, message: messages[variant % messages.length] ?? 'garbage' };
}
