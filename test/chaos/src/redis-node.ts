/**
 * One `redis-server` process of a chaos topology, with an append-only file fsynced on every
 * write (nothing acknowledged is lost by a restart), its data directory and log file in the run
 * directory, and the process-level faults: SIGKILL or a plain `SHUTDOWN`, then restart on the
 * same port and data; SIGSTOP / SIGCONT. The process itself is the kit's RedisServer
 * (@ssehub/local-redis); this class adds the faults and the pause state.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RedisServer, isRunning, redisCliText } from '@ssehub/local-redis';

/** Options of {@link RedisNode.start}. */
export interface RedisNodeOptions {
  /** A short name for logs (`redis0`, `master`, …). */
  readonly name: string;
  /** The port the server listens on. */
  readonly port: number;
  /** The run directory; the node's data goes to `<runDir>/<name>/`. */
  readonly runDir: string;
  /** More `redis-server` arguments (replication, cluster, announce settings). */
  readonly args?: readonly string[];
}

/** A `redis-server` the nemesis may kill, restart and pause. */
export class RedisNode {
  #paused = false;
  readonly #server: RedisServer;

  private constructor(
    readonly options: RedisNodeOptions,
    readonly dir: string,
    server: RedisServer,
  ) {
    this.#server = server;
  }

  /** Starts the server and waits until it listens and answers PING (after loading its AOF). */
  static async start(options: RedisNodeOptions): Promise<RedisNode> {
    const dir = join(options.runDir, options.name);
    mkdirSync(dir, { recursive: true });
    const server = await RedisServer.start({
      port: options.port,
      // Kept on stop: the run directory is the run's record.
      dir,
      appendOnly: true,
      args: [
        '--logfile',
        join(dir, 'redis.log'),
        '--enable-debug-command',
        'yes',
        ...(options.args ?? []),
      ],
      // A restart replays the whole append-only file of a long run: more than the default 10 s.
      startTimeoutMs: 20_000,
      waitForPing: true,
    });
    return new RedisNode(options, dir, server);
  }

  get name(): string {
    return this.options.name;
  }

  get port(): number {
    return this.options.port;
  }

  /** True while the process runs (paused or not). */
  get running(): boolean {
    const c = this.#server.child;
    return c !== undefined && isRunning(c);
  }

  /** True while SIGSTOPped. */
  get paused(): boolean {
    return this.#paused;
  }

  /** SIGKILL (no shutdown save); resolves once it exited. */
  async kill(): Promise<void> {
    if (!this.running) return;
    if (this.#paused) this.#server.child?.kill('SIGCONT');
    await this.#server.kill();
    this.#paused = false;
  }

  /**
   * A plain `SHUTDOWN` (Redis closes its clients and fsyncs the append-only file, as an operator's
   * restart does); resolves once it exited, SIGKILLing it if it has not within `timeoutMs`.
   */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    const child = this.#server.child;
    if (child === undefined || !isRunning(child)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this.resume();
    // redis-cli reports the closed connection as an error; the exit is what counts.
    await this.cli(['SHUTDOWN'], timeoutMs).catch(() => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Starts it again on the same port with the same data directory (if it is not running). */
  async restart(): Promise<void> {
    if (this.running) return;
    this.#paused = false;
    // RedisServer.restart: the kill is a no-op on the dead process; same port, same directory.
    await this.#server.restart();
  }

  /** SIGSTOP: the process stops answering; sockets stay open. */
  pause(): void {
    if (!this.running || this.#paused) return;
    this.#server.child?.kill('SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT after {@link RedisNode.pause}. */
  resume(): void {
    if (!this.#paused) return;
    this.#server.child?.kill('SIGCONT');
    this.#paused = false;
  }

  /**
   * Runs `redis-cli` against this node's real port (not through a proxy), `-c` so it follows
   * Cluster redirects.
   * @returns Its standard output.
   */
  async cli(args: readonly string[], timeoutMs = 5000): Promise<string> {
    return redisCliText(this.port, args, timeoutMs);
  }

  /** Kills it for good. */
  async stop(): Promise<void> {
    await this.kill();
  }
}
