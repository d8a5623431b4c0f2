/**
 * One `redis-server` process of a chaos topology, with an append-only file fsynced on every
 * write (nothing acknowledged is lost by a restart), its data directory and log file in the run
 * directory, and the process-level faults: SIGKILL or a plain `SHUTDOWN`, then restart on the
 * same port and data; SIGSTOP / SIGCONT.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitForPort } from '@ssehub/local-redis';

const run = promisify(execFile);

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
  #child: ChildProcess | undefined;
  #paused = false;
  readonly dir: string;

  private constructor(readonly options: RedisNodeOptions) {
    this.dir = join(options.runDir, options.name);
    mkdirSync(this.dir, { recursive: true });
  }

  /** Starts the server and waits until it listens. */
  static async start(options: RedisNodeOptions): Promise<RedisNode> {
    const node = new RedisNode(options);
    await node.#spawn();
    return node;
  }

  get name(): string {
    return this.options.name;
  }

  get port(): number {
    return this.options.port;
  }

  /** True while the process runs (paused or not). */
  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** True while SIGSTOPped. */
  get paused(): boolean {
    return this.#paused;
  }

  async #spawn(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--logfile',
      join(this.dir, 'redis.log'),
      '--enable-debug-command',
      'yes',
      ...(this.options.args ?? []),
    ];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.#child = child;
    this.#paused = false;
    await waitForPort(this.port, child, 20_000);
    // Loading the append-only file: wait until commands are served.
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const out = await this.cli(['PING']);
        if (out.trim() === 'PONG') return;
      } catch {
        // Still loading.
      }
      if (Date.now() > deadline) throw new Error(`${this.name} did not answer PING`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL (no shutdown save); resolves once it exited. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (this.#paused) child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
    this.#paused = false;
  }

  /**
   * A plain `SHUTDOWN` (Redis closes its clients and fsyncs the append-only file, as an operator's
   * restart does); resolves once it exited, SIGKILLing it if it has not within `timeoutMs`.
   */
  async shutdown(timeoutMs = 10_000): Promise<void> {
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
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
    await this.#spawn();
  }

  /** SIGSTOP: the process stops answering; sockets stay open. */
  pause(): void {
    if (!this.running || this.#paused) return;
    this.#child?.kill('SIGSTOP');
    this.#paused = true;
  }

  /** SIGCONT after {@link RedisNode.pause}. */
  resume(): void {
    if (!this.#paused) return;
    this.#child?.kill('SIGCONT');
    this.#paused = false;
  }

  /**
   * Runs `redis-cli` against this node's real port (not through a proxy), `-c` so it follows
   * Cluster redirects.
   * @returns Its standard output.
   */
  async cli(args: readonly string[], timeoutMs = 5000): Promise<string> {
    const { stdout } = await run(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(this.port), ...args],
      { timeout: timeoutMs },
    );
    return stdout;
  }

  /** Kills it for good. */
  async stop(): Promise<void> {
    await this.kill();
  }
}

/** The `field:value` lines of an `INFO` answer as a map. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}
