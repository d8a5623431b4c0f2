/**
 * A Redis Sentinel deployment of real processes on free loopback ports, for the Sentinel tests
 * (SPEC 9): a master `redis-server`, one replica (`--replicaof`), and one or three
 * `redis-sentinel`s, each with its own writable config file in a temporary directory (Sentinel
 * rewrites it) and absolute paths for `dir` and `logfile` (TOOLCHAIN.md). `start` returns once
 * every sentinel reports the master and knows the replica, and the replica is in sync; `failover`
 * and `killMaster` return once the sentinels name the new master. Disposable
 * (`await using group = await RedisSentinelGroup.start()`).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnListening, stopProcess } from './child-process.js';
import { eventually } from './eventually.js';
import { freePort, type HostPort } from './ports.js';
import { redisCli, redisInfo as info } from './redis-cli.js';
import { redisServerArgs } from './redis-server.js';

export interface RedisSentinelOptions {
  /** How many `redis-sentinel` processes watch the master. @defaultValue 1 */
  readonly sentinels?: 1 | 3;
  /** Name of the monitored master. @defaultValue 'mymaster' */
  readonly name?: string;
  /** Sentinels that must agree the master is down (quorum). @defaultValue a majority (1 of 1, 2 of 3) */
  readonly quorum?: number;
  /** How long each wait (startup, failover) may take before it fails, in ms. @defaultValue 20000 */
  readonly timeoutMs?: number;
}

/** One Sentinel node, the shape of the gateway's `redisSentinels` setting. */
export type SentinelNode = HostPort;

/** A master, a replica and one or three sentinels watching them. */
export class RedisSentinelGroup {
  /** Every process by port: the two data servers and the sentinels. */
  readonly #children = new Map<number, ChildProcess>();
  readonly #dir = mkdtempSync(join(tmpdir(), 'ssehub-sentinel-'));
  readonly #timeoutMs: number;
  /** Ports of the two data servers (master first at start; roles swap on failover). */
  readonly #serverPorts: number[] = [];
  readonly #sentinelPorts: number[] = [];

  private constructor(
    readonly name: string,
    options: RedisSentinelOptions,
  ) {
    this.#timeoutMs = options.timeoutMs ?? 20_000;
  }

  /** Starts master, replica and sentinels, and waits until the deployment is healthy. */
  static async start(options: RedisSentinelOptions = {}): Promise<RedisSentinelGroup> {
    const group = new RedisSentinelGroup(options.name ?? 'mymaster', options);
    try {
      await group.#start(options);
    } catch (err) {
      await group.stop();
      throw err;
    }
    return group;
  }

  /** The sentinels, for `redisSentinels` / `REDIS_SENTINELS`. */
  get sentinels(): SentinelNode[] {
    return this.#sentinelPorts.map((port) => ({ host: '127.0.0.1', port }));
  }

  /** `REDIS_SENTINELS` as text (`127.0.0.1:p1,127.0.0.1:p2`). */
  get sentinelsSetting(): string {
    return this.#sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',');
  }

  /** The master's port as the first sentinel reports it now. */
  async masterPort(): Promise<number> {
    return this.#reportedMaster(this.#sentinelPorts[0] ?? 0);
  }

  /** The data server that is not the master (by the sentinels' account). */
  async replicaPort(): Promise<number> {
    const master = await this.masterPort();
    const replica = this.#serverPorts.find((port) => port !== master);
    if (replica === undefined) throw new Error('no replica');
    return replica;
  }

  /**
   * Waits until the replica has everything the master holds now (its replication offset reached
   * the master's), so a failover loses no event written before this call.
   */
  async waitForReplicaSync(): Promise<void> {
    const master = await this.masterPort();
    const replica = await this.replicaPort();
    const target = Number((await info(master, 'replication')).get('master_repl_offset'));
    await eventually(
      () => info(replica, 'replication'),
      (fields) =>
        fields.get('master_link_status') === 'up' &&
        Number(fields.get('slave_repl_offset')) >= target,
      { timeoutMs: this.#timeoutMs, intervalMs: 50, what: `replica ${replica} in sync` },
    );
  }

  /**
   * `SENTINEL FAILOVER` on the first sentinel (the old master stays up; Sentinel turns it into
   * a replica some seconds later); resolves to the new master's port once every sentinel names it
   * and it answers as a master.
   */
  async failover(): Promise<number> {
    const from = await this.masterPort();
    const reply = await redisCli(this.#sentinelPorts[0] ?? 0, 'SENTINEL', 'FAILOVER', this.name);
    if (reply[0] !== 'OK') throw new Error(`SENTINEL FAILOVER answered ${reply.join(' ')}`);
    return this.#waitForNewMaster(from);
  }

  /** Kills the master (SIGKILL); resolves to the new master's port once the sentinels failed over. */
  async killMaster(): Promise<number> {
    const from = await this.masterPort();
    await this.#kill(from);
    return this.#waitForNewMaster(from);
  }

  /** Kills every process and removes the temporary directory. */
  async stop(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((port) => this.#kill(port)));
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** {@link RedisSentinelGroup.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  async #start(options: RedisSentinelOptions): Promise<void> {
    const count = options.sentinels ?? 1;
    const quorum = options.quorum ?? Math.floor(count / 2) + 1;
    const masterPort = await freePort();
    const replicaPort = await freePort();
    this.#serverPorts.push(masterPort, replicaPort);
    await this.#spawnServer(masterPort, []);
    await this.#spawnServer(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]);
    for (let i = 0; i < count; i++) this.#sentinelPorts.push(await freePort());
    await Promise.all(
      this.#sentinelPorts.map((port) => this.#spawnSentinel(port, masterPort, quorum)),
    );
    await this.waitForReplicaSync();
    // Every sentinel names the master, sees the replica as healthy (else SENTINEL FAILOVER says
    // NOGOODSLAVE), and has found the other sentinels (for a quorum when the master dies).
    await Promise.all(
      this.#sentinelPorts.map(async (port) => {
        await eventually(
          async () => ({
            master: await this.#reportedMaster(port),
            replicas: await redisCli(port, 'SENTINEL', 'REPLICAS', this.name),
            others: await redisCli(port, 'SENTINEL', 'SENTINELS', this.name),
          }),
          ({ master, replicas, others }) =>
            master === masterPort &&
            replicas.includes(String(replicaPort)) &&
            replicas.includes('slave') &&
            others.filter((line) => line === 'name').length === count - 1,
          { timeoutMs: this.#timeoutMs, intervalMs: 100, what: `sentinel ${port} ready` },
        );
      }),
    );
  }

  async #spawnServer(port: number, extra: readonly string[]): Promise<void> {
    const args = [
      ...redisServerArgs(port, this.#dir, false),
      '--dbfilename',
      `dump-${port}.rdb`,
      '--logfile',
      join(this.#dir, `redis-${port}.log`),
      // A replica's full sync starts at once (by default the master waits 5 s for more replicas).
      '--repl-diskless-sync-delay',
      '0',
      ...extra,
    ];
    const { child, listening } = spawnListening('redis-server', args, {
      port,
      installHint: 'apt-get install redis-server',
    });
    this.#children.set(port, child);
    await listening;
  }

  async #spawnSentinel(port: number, masterPort: number, quorum: number): Promise<void> {
    const config = join(this.#dir, `sentinel-${port}.conf`);
    writeFileSync(
      config,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${this.#dir}`,
        `logfile ${join(this.#dir, `sentinel-${port}.log`)}`,
        `sentinel monitor ${this.name} 127.0.0.1 ${masterPort} ${quorum}`,
        `sentinel down-after-milliseconds ${this.name} 1000`,
        `sentinel failover-timeout ${this.name} 5000`,
        '',
      ].join('\n'),
    );
    const { child, listening } = spawnListening('redis-sentinel', [config], {
      port,
      installHint: 'apt-get install redis-sentinel',
    });
    this.#children.set(port, child);
    await listening;
  }

  async #reportedMaster(sentinelPort: number): Promise<number> {
    const [, port] = await redisCli(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name);
    return Number(port);
  }

  async #waitForNewMaster(from: number): Promise<number> {
    const ports = await Promise.all(
      this.#sentinelPorts.map((sentinel) =>
        eventually(
          () => this.#reportedMaster(sentinel),
          (port) => port !== from && this.#serverPorts.includes(port),
          { timeoutMs: this.#timeoutMs, intervalMs: 50, what: `sentinel ${sentinel} to switch` },
        ),
      ),
    );
    const to = ports[0] ?? 0;
    await eventually(
      () => info(to, 'replication'),
      (fields) => fields.get('role') === 'master',
      { timeoutMs: this.#timeoutMs, intervalMs: 50, what: `${to} to be master` },
    );
    return to;
  }

  async #kill(port: number): Promise<void> {
    const child = this.#children.get(port);
    this.#children.delete(port);
    if (child !== undefined) await stopProcess(child, 'SIGKILL');
  }
}
