/**
 * A Redis Cluster of real processes on free loopback ports, for the Cluster tests (SPEC 9): three
 * masters, no replicas, each `redis-server` with `cluster-enabled`, its cluster config file in a
 * temporary directory and a 2 s node timeout, joined with `redis-cli --cluster create`
 * (TOOLCHAIN.md). The cluster bus listens on port + 10000, so ports are picked in a low range
 * where both the port and its bus port are free. `start` returns once every node reports
 * `cluster_state:ok`. Disposable (`await using cluster = await RedisCluster.start()`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { redisCli } from './redis-sentinel.js';
import { eventually } from './timing.js';
import { waitForPort } from '@ssehub/local-redis';

const run = promisify(execFile);

/** One node, the shape of the gateway's `redisClusterNodes` setting. */
export interface ClusterNode {
  readonly host: string;
  readonly port: number;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** `count` ports in 20000–29999 whose bus ports (+10000) are free too, all distinct. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 1000; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (ports.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) ports.push(port);
  }
  if (ports.length < count) throw new Error('no free ports for a Redis Cluster');
  return ports;
}

export class RedisCluster {
  readonly #children = new Map<number, ChildProcess>();
  readonly #dir = mkdtempSync(join(tmpdir(), 'ssehub-cluster-'));

  private constructor(readonly ports: readonly number[]) {}

  /** The seed nodes (every master). */
  get nodes(): ClusterNode[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

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
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.#dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(this.#dir, `nodes-${String(port)}.conf`),
        '--cluster-node-timeout',
        '2000',
      ],
      { stdio: 'ignore' },
    );
    this.#children.set(port, child);
    await waitForPort(port, child);
  }

  /** Kills one node at once (SIGKILL); without persistence, a restart comes back empty. */
  async kill(port: number): Promise<void> {
    const child = this.#children.get(port);
    this.#children.delete(port);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
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

  async stop(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((port) => this.kill(port)));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
