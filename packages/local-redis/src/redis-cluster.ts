/**
 * A Redis Cluster of real processes on free loopback ports, for the Cluster tests (SPEC 9): three
 * masters, no replicas, each `redis-server` with `cluster-enabled`, its cluster config file in a
 * temporary directory and a 2 s node timeout, joined with `redis-cli --cluster create`
 * (TOOLCHAIN.md). The cluster bus listens on port + 10000, so ports are picked in a low range
 * where both the port and its bus port are free. `start` returns once every node reports
 * `cluster_state:ok`. Disposable (`await using cluster = await RedisCluster.start()`).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spawnListening, stopProcess } from './child-process.js';
import { eventually } from './eventually.js';
import { freeClusterPorts, type HostPort } from './ports.js';
import { redisCli } from './redis-cli.js';
import { redisServerArgs } from './redis-server.js';

const run = promisify(execFile);

/** One node, the shape of the gateway's `redisClusterNodes` setting. */
export type ClusterNode = HostPort;

/** Three (or `masters`) Cluster masters without replicas, every slot assigned. */
export class RedisCluster {
  readonly #children = new Map<number, ChildProcess>();
  readonly #dir = mkdtempSync(join(tmpdir(), 'ssehub-cluster-'));

  private constructor(readonly ports: readonly number[]) {}

  /** The seed nodes (every master). */
  get nodes(): ClusterNode[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

  /** Starts the nodes, creates the cluster and waits for `cluster_state:ok` (default 3 masters). */
  static async start(masters = 3): Promise<RedisCluster> {
    const cluster = new RedisCluster(await freeClusterPorts(masters));
    try {
      await cluster.#start();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  async #start(): Promise<void> {
    for (const port of this.ports) await this.#spawn(port);
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...this.ports.map((port) => `127.0.0.1:${String(port)}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    const states = async (): Promise<boolean[]> =>
      Promise.all(
        this.ports.map(async (port) =>
          (await redisCli(port, 'CLUSTER', 'INFO')).some(
            (line) => line.trim() === 'cluster_state:ok',
          ),
        ),
      );
    await eventually(states, (ok) => ok.every(Boolean), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'cluster_state:ok on every node',
    });
  }

  async #spawn(port: number): Promise<void> {
    const { child, listening } = spawnListening(
      'redis-server',
      [
        ...redisServerArgs(port, this.#dir, false),
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(this.#dir, `nodes-${String(port)}.conf`),
        '--cluster-node-timeout',
        '2000',
      ],
      { port, installHint: 'apt-get install redis-server' },
    );
    this.#children.set(port, child);
    await listening;
  }

  /** Kills one node at once (SIGKILL); without persistence, a restart comes back empty. */
  async kill(port: number): Promise<void> {
    const child = this.#children.get(port);
    this.#children.delete(port);
    if (child !== undefined) await stopProcess(child, 'SIGKILL');
  }

  /** Starts a killed node again on its port, with its cluster config file (same id and slots). */
  async restart(port: number): Promise<void> {
    await this.kill(port);
    await this.#spawn(port);
  }

  /** The port of the master that owns `key`'s slot (asks the cluster: `CLUSTER KEYSLOT`, `CLUSTER SLOTS`). */
  async ownerOf(key: string): Promise<number> {
    const [first] = this.ports;
    if (first === undefined) throw new Error('no nodes');
    const slot = Number((await redisCli(first, 'CLUSTER', 'KEYSLOT', key))[0]);
    for (const port of this.ports) {
      const lines = await redisCli(port, 'CLUSTER', 'MYID');
      const id = lines[0];
      const nodes = await redisCli(port, 'CLUSTER', 'NODES');
      const mine = nodes.find((line) => line.startsWith(`${id ?? '?'} `));
      const ranges = mine?.split(' ').slice(8) ?? [];
      for (const range of ranges) {
        const [low = '', high = low] = range.split('-');
        if (slot >= Number(low) && slot <= Number(high)) return port;
      }
    }
    throw new Error(`no master owns slot ${String(slot)}`);
  }

  /** Kills every node and removes the temporary directory. */
  async stop(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((port) => this.kill(port)));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** {@link RedisCluster.stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
