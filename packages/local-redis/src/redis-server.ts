/**
 * A real `redis-server` process on a loopback port, for machines without a container engine
 * (TOOLCHAIN.md): the tests' Redis, the fault tests that kill and restart it, and the no-Docker
 * local stack. Started with no persistence unless asked, so a restart loses the data (the
 * `history_lost` case).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnListening, stopProcess } from './child-process.js';
import { sleep } from './eventually.js';
import { freePort } from './ports.js';
import { redisCliText } from './redis-cli.js';

export interface RedisServerOptions {
  /**
   * Keep an append-only file fsynced on every write, so a restart keeps every accepted event.
   * @defaultValue false
   */
  readonly appendOnly?: boolean;
  /** Port to listen on; a free one when omitted. */
  readonly port?: number;
  /** Data directory (kept on `stop()`); a fresh temporary one, removed on `stop()`, when omitted. */
  readonly dir?: string;
  /** Further `redis-server` arguments, e.g. `['--client-output-buffer-limit', 'pubsub 64mb 16mb 60']`. */
  readonly args?: readonly string[];
  /** Where the server's own output goes. @defaultValue 'ignore' */
  readonly stdio?: 'ignore' | 'inherit';
  /**
   * Run it in its own process group, so a Ctrl-C in the terminal does not reach it and its
   * owner decides when it stops (the local stack stops it last). @defaultValue false
   */
  readonly detached?: boolean;
  /** How long a start may take to listen (and to answer PING), in milliseconds. @defaultValue 10000 */
  readonly startTimeoutMs?: number;
  /**
   * After it listens, wait until it answers PING too: a server loading a large append-only file
   * listens but refuses commands with LOADING until it is done (the chaos harness's restarts).
   * @defaultValue false
   */
  readonly waitForPing?: boolean;
}

/**
 * The arguments every `redis-server` of the kit starts with: loopback only, data in `dir`, no RDB
 * snapshots, and an append-only file fsynced on every write when `appendOnly` (else none).
 */
export function redisServerArgs(port: number, dir: string, appendOnly: boolean): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    ...(appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  ];
}

/** One `redis-server` process, restartable on its port. */
export class RedisServer {
  #child: ChildProcess | undefined;
  readonly #dir: string;
  readonly #ownsDir: boolean;

  private constructor(
    readonly port: number,
    private readonly options: RedisServerOptions,
  ) {
    this.#ownsDir = options.dir === undefined;
    this.#dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ssehub-redis-'));
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running process, while there is one. */
  get child(): ChildProcess | undefined {
    return this.#child;
  }

  /** Starts a server and resolves once it listens (and answers PING, with `waitForPing`). */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(options.port ?? (await freePort()), options);
    await server.#spawn();
    return server;
  }

  async #spawn(): Promise<void> {
    const args = [
      ...redisServerArgs(this.port, this.#dir, this.options.appendOnly ?? false),
      ...(this.options.args ?? []),
    ];
    const timeoutMs = this.options.startTimeoutMs ?? 10_000;
    const { child, listening } = spawnListening('redis-server', args, {
      port: this.port,
      stdio: this.options.stdio ?? 'ignore',
      detached: this.options.detached ?? false,
      timeoutMs,
      installHint: 'apt-get install redis-server',
    });
    // Set before the wait, so a kill() or stop() during a slow start reaches this process.
    this.#child = child;
    await listening;
    if (this.options.waitForPing === true) await this.#waitForPong(timeoutMs);
  }

  async #waitForPong(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if ((await redisCliText(this.port, ['PING'])).trim() === 'PONG') return;
      } catch {
        // Still loading.
      }
      if (Date.now() > deadline)
        throw new Error(`redis-server on ${this.port} did not answer PING`);
      await sleep(50);
    }
  }

  /** Kills the server at once (SIGKILL: no shutdown save). */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child !== undefined) await stopProcess(child, 'SIGKILL');
  }

  /** Starts it again on the same port (and the same data directory, for append-only runs). */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  /** Kills it and removes the temporary data directory it made. */
  async stop(): Promise<void> {
    await this.kill();
    if (this.#ownsDir) rmSync(this.#dir, { recursive: true, force: true });
  }
}
