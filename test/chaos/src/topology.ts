/**
 * The Redis side of a chaos run, in one of three shapes, with a {@link TcpProxy} in front of every
 * data node so the nemesis can break the network:
 *
 * - `standalone`: one `redis-server` (AOF, fsync always); every gateway and the SDK publishers get
 *   a proxy of their own, so one replica can be partitioned while the others stay up.
 * - `sentinel`: a master, one replica and one `redis-sentinel`. Each data node announces its
 *   proxy's port (`replica-announce-port`), the sentinel monitors the master through its proxy and
 *   the replica replicates through it, so clients, replication and the sentinel all cross the
 *   proxies (one per node, shared).
 * - `cluster`: three masters (each optionally with a replica) announcing their proxies' ports
 *   (`cluster-announce-port`), so redirects lead clients through the proxies; the cluster bus
 *   is direct.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import {
  freeClusterPorts,
  freePort,
  parseInfo,
  redisCliText,
  spawnListening,
} from '@ssehub/local-redis';
import { TcpProxy } from './proxy.js';
import { RedisNode } from './redis-node.js';

/** The three deployment shapes. */
export type TopologyKind = 'standalone' | 'sentinel' | 'cluster';

/** What the nemesis and the workload need from a topology. */
export interface Topology {
  readonly kind: TopologyKind;
  /** `REDIS_SHARDS`. */
  readonly shards: number;
  /** Every data node. */
  readonly nodes: readonly RedisNode[];
  /** Every proxy, by name (`gw0`, `sdk`, `redis1`, …). */
  readonly proxies: readonly TcpProxy[];
  /** The broker settings of gateway `index` (through the proxies). */
  gatewayEnv(index: number): Record<string, string>;
  /** What the SDK publishers get as `redis` (through the proxies); a fresh object per call. */
  sdkRedis(): string | Redis | Cluster;
  /** A client straight to the data nodes (no proxy), for heads, history and junk messages. */
  directClient(): Redis | Cluster;
  /** The data nodes that are masters now. */
  masters(): Promise<RedisNode[]>;
  /** The data nodes that are replicas now. */
  replicas(): Promise<RedisNode[]>;
  /** The sentinels' ports (sentinel topology only). */
  readonly sentinelPorts: readonly number[];
  /** The monitored master's name (sentinel topology only). */
  readonly sentinelName: string;
  /** Restarts dead nodes, resumes paused ones, heals every proxy, waits until healthy. */
  heal(): Promise<void>;
  /** Kills everything. */
  stop(): Promise<void>;
}

/** Options of {@link startTopology}. */
export interface TopologyOptions {
  readonly kind: TopologyKind;
  readonly runDir: string;
  /** How many gateways will connect (standalone gives each its own proxy). */
  readonly gateways: number;
  /** `REDIS_SHARDS`; default 1, and 3 for a cluster. */
  readonly shards?: number;
  /** Cluster only: a replica per master. @defaultValue true */
  readonly clusterReplicas?: boolean;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function until(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // Not yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** `redis-cli` on a loopback port (5 s timeout), for the sentinel, which is not a RedisNode. */
function cli(port: number, args: readonly string[]): Promise<string> {
  return redisCliText(port, args);
}

async function healNodes(nodes: readonly RedisNode[]): Promise<void> {
  for (const node of nodes) {
    node.resume();
    if (!node.running) await node.restart();
  }
}

/** Starts the topology `options.kind`. */
export async function startTopology(options: TopologyOptions): Promise<Topology> {
  switch (options.kind) {
    case 'standalone':
      return startStandalone(options);
    case 'sentinel':
      return startSentinel(options);
    case 'cluster':
      return startCluster(options);
  }
}

async function startStandalone(options: TopologyOptions): Promise<Topology> {
  const node = await RedisNode.start({
    name: 'redis0',
    port: await freePort(),
    runDir: options.runDir,
  });
  const proxies: TcpProxy[] = [];
  for (let i = 0; i < options.gateways; i++) {
    proxies.push(await TcpProxy.start(`gw${i}`, 0, node.port));
  }
  const sdk = await TcpProxy.start('sdk', 0, node.port);
  proxies.push(sdk);
  const shards = options.shards ?? 1;
  return {
    kind: 'standalone',
    shards,
    nodes: [node],
    proxies,
    sentinelPorts: [],
    sentinelName: '',
    gatewayEnv(index) {
      const proxy = proxies[index];
      if (proxy === undefined) throw new Error(`no proxy for gateway ${index}`);
      return { REDIS_URL: `redis://127.0.0.1:${proxy.listenPort}`, REDIS_SHARDS: String(shards) };
    },
    sdkRedis: () => `redis://127.0.0.1:${sdk.listenPort}`,
    directClient: () => new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 1 }),
    masters: () => Promise.resolve([node]),
    replicas: () => Promise.resolve([]),
    async heal() {
      await healNodes([node]);
      for (const p of proxies) p.heal();
    },
    async stop() {
      for (const p of proxies) await p.stop();
      await node.stop();
    },
  };
}

/** A process that is not a data node (the sentinel). */
async function spawnSentinel(runDir: string, port: number, config: string): Promise<ChildProcess> {
  writeFileSync(join(runDir, `sentinel-${port}.conf`), config);
  const { child, listening } = spawnListening(
    'redis-sentinel',
    [join(runDir, `sentinel-${port}.conf`)],
    { port, installHint: 'apt-get install redis-sentinel' },
  );
  await listening;
  return child;
}

async function startSentinel(options: TopologyOptions): Promise<Topology> {
  const name = 'chaosmaster';
  const ports = [await freePort(), await freePort()];
  const proxyPorts = [await freePort(), await freePort()];
  const [p0 = 0, p1 = 0] = ports;
  const [q0 = 0, q1 = 0] = proxyPorts;
  const proxies = [await TcpProxy.start('redis0', q0, p0), await TcpProxy.start('redis1', q1, p1)];
  const common = (q: number): string[] => [
    '--replica-announce-ip',
    '127.0.0.1',
    '--replica-announce-port',
    String(q),
    '--repl-diskless-sync',
    'yes',
    '--repl-diskless-sync-delay',
    '0',
  ];
  const n0 = await RedisNode.start({
    name: 'redis0',
    port: p0,
    runDir: options.runDir,
    args: common(q0),
  });
  const n1 = await RedisNode.start({
    name: 'redis1',
    port: p1,
    runDir: options.runDir,
    args: [...common(q1), '--replicaof', '127.0.0.1', String(q0)],
  });
  const nodes = [n0, n1];
  const byProxyPort = new Map([
    [q0, n0],
    [q1, n1],
  ]);
  const sentinelPort = await freePort();
  const config = [
    `port ${sentinelPort}`,
    'bind 127.0.0.1',
    `dir ${options.runDir}`,
    `logfile ${join(options.runDir, 'sentinel.log')}`,
    `sentinel monitor ${name} 127.0.0.1 ${q0} 1`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 4000`,
    '',
  ].join('\n');
  const sentinel = await spawnSentinel(options.runDir, sentinelPort, config);
  const shards = options.shards ?? 1;
  const masterNode = async (): Promise<RedisNode> => {
    const out = (await cli(sentinelPort, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]))
      .split('\n')
      .filter((l) => l !== '');
    const node = byProxyPort.get(Number(out[1]));
    if (node === undefined) throw new Error(`sentinel names an unknown master ${out.join(' ')}`);
    return node;
  };
  const healthy = async (): Promise<boolean> => {
    const master = await masterNode();
    const role = parseInfo(await master.cli(['INFO', 'replication']));
    if (role.get('role') !== 'master') return false;
    for (const n of nodes) {
      if (n === master) continue;
      const info = parseInfo(await n.cli(['INFO', 'replication']));
      if (info.get('role') !== 'slave' || info.get('master_link_status') !== 'up') return false;
      if (info.get('master_port') !== String(proxyPorts[nodes.indexOf(master)])) return false;
    }
    const replicas = await cli(sentinelPort, ['SENTINEL', 'REPLICAS', name]);
    return !replicas.includes('s_down') && !replicas.includes('disconnected');
  };
  await until('the sentinel deployment to be healthy', 30_000, healthy);
  const natMap = {
    [`127.0.0.1:${q0}`]: { host: '127.0.0.1', port: p0 },
    [`127.0.0.1:${q1}`]: { host: '127.0.0.1', port: p1 },
  };
  return {
    kind: 'sentinel',
    shards,
    nodes,
    proxies,
    sentinelPorts: [sentinelPort],
    sentinelName: name,
    gatewayEnv: () => ({
      REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`,
      REDIS_SENTINEL_NAME: name,
      REDIS_SHARDS: String(shards),
    }),
    sdkRedis: () =>
      new Redis({
        sentinels: [{ host: '127.0.0.1', port: sentinelPort }],
        name,
        lazyConnect: true,
      }),
    directClient: () =>
      new Redis({
        sentinels: [{ host: '127.0.0.1', port: sentinelPort }],
        name,
        natMap,
        maxRetriesPerRequest: 1,
      }),
    masters: async () => [await masterNode()],
    replicas: async () => {
      const master = await masterNode();
      return nodes.filter((n) => n !== master);
    },
    async heal() {
      await healNodes(nodes);
      for (const p of proxies) p.heal();
      await until('the sentinel deployment to heal', 60_000, healthy);
    },
    async stop() {
      sentinel.kill('SIGKILL');
      for (const p of proxies) await p.stop();
      for (const n of nodes) await n.stop();
    },
  };
}

async function startCluster(options: TopologyOptions): Promise<Topology> {
  const masterCount = 3;
  const withReplicas = options.clusterReplicas ?? true;
  const count = withReplicas ? masterCount * 2 : masterCount;
  // Six nodes with replicas: more draws than the kit's default 1000, as before.
  const ports = await freeClusterPorts(count, 2000);
  const nodes: RedisNode[] = [];
  const proxies: TcpProxy[] = [];
  const natMap: Record<string, { host: string; port: number }> = {};
  for (let i = 0; i < count; i++) {
    const port = ports[i] ?? 0;
    const proxy = await TcpProxy.start(`redis${i}`, 0, port);
    proxies.push(proxy);
    natMap[`127.0.0.1:${proxy.listenPort}`] = { host: '127.0.0.1', port };
    nodes.push(
      await RedisNode.start({
        name: `redis${i}`,
        port,
        runDir: options.runDir,
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(options.runDir, `redis${i}`, 'nodes.conf'),
          '--cluster-node-timeout',
          '2000',
          '--cluster-announce-ip',
          '127.0.0.1',
          '--cluster-announce-port',
          String(proxy.listenPort),
          '--cluster-announce-bus-port',
          String(port + 10_000),
          '--cluster-replica-validity-factor',
          '0',
        ],
      }),
    );
  }
  // Slots in three ranges, then MEET, then the replicas.
  const per = Math.ceil(16384 / masterCount);
  for (let i = 0; i < masterCount; i++) {
    const node = nodes[i];
    if (node === undefined) continue;
    const lo = i * per;
    const hi = Math.min(16383, lo + per - 1);
    await node.cli(['CLUSTER', 'ADDSLOTSRANGE', String(lo), String(hi)]);
    await node.cli(['CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)]);
  }
  const first = nodes[0];
  if (first === undefined) throw new Error('no cluster nodes');
  for (const node of nodes.slice(1)) {
    await first.cli([
      'CLUSTER',
      'MEET',
      '127.0.0.1',
      String(node.port),
      String(node.port + 10_000),
    ]);
  }
  const ids = await Promise.all(nodes.map(async (n) => (await n.cli(['CLUSTER', 'MYID'])).trim()));
  await until('every node to know every other', 30_000, async () => {
    for (const n of nodes) {
      const known = (await n.cli(['CLUSTER', 'NODES'])).split('\n').filter((l) => l !== '');
      if (known.length < count) return false;
    }
    return true;
  });
  if (withReplicas) {
    for (let i = 0; i < masterCount; i++) {
      const replica = nodes[masterCount + i];
      const masterId = ids[i];
      if (replica === undefined || masterId === undefined) continue;
      await until(`redis${masterCount + i} to replicate`, 30_000, async () => {
        const out = await replica.cli(['CLUSTER', 'REPLICATE', masterId]);
        return out.trim() === 'OK';
      });
    }
  }
  const shards = options.shards ?? 3;
  const roles = async (): Promise<Map<RedisNode, Map<string, string>>> => {
    const out = new Map<RedisNode, Map<string, string>>();
    for (const n of nodes) out.set(n, parseInfo(await n.cli(['INFO', 'replication'])));
    return out;
  };
  const healthy = async (): Promise<boolean> => {
    for (const n of nodes) {
      const info = parseInfo(await n.cli(['CLUSTER', 'INFO']));
      if (info.get('cluster_state') !== 'ok') return false;
    }
    const r = await roles();
    const masters = [...r.values()].filter((i) => i.get('role') === 'master');
    if (masters.length !== masterCount) return false;
    for (const info of r.values()) {
      if (info.get('role') === 'slave' && info.get('master_link_status') !== 'up') return false;
    }
    // Every slot is announced through a proxy.
    const slots = await first.cli(['CLUSTER', 'SLOTS']);
    return proxies.some((p) => slots.includes(String(p.listenPort)));
  };
  await until('cluster_state:ok on every node', 40_000, healthy);
  const proxyNodes = (): { host: string; port: number }[] =>
    proxies.slice(0, masterCount).map((p) => ({ host: '127.0.0.1', port: p.listenPort }));
  return {
    kind: 'cluster',
    shards,
    nodes,
    proxies,
    sentinelPorts: [],
    sentinelName: '',
    gatewayEnv: () => ({
      REDIS_CLUSTER_NODES: proxyNodes()
        .map((n) => `${n.host}:${n.port}`)
        .join(','),
      REDIS_SHARDS: String(shards),
    }),
    sdkRedis: () => new Cluster(proxyNodes(), { lazyConnect: true }),
    directClient: () =>
      new Cluster(
        nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
        { natMap, redisOptions: { maxRetriesPerRequest: 1 } },
      ),
    masters: async () =>
      [...(await roles()).entries()].filter(([, i]) => i.get('role') === 'master').map(([n]) => n),
    replicas: async () =>
      [...(await roles()).entries()].filter(([, i]) => i.get('role') === 'slave').map(([n]) => n),
    async heal() {
      await healNodes(nodes);
      for (const p of proxies) p.heal();
      await until('the cluster to heal', 60_000, healthy);
    },
    async stop() {
      for (const p of proxies) await p.stop();
      for (const n of nodes) await n.stop();
    },
  };
}
