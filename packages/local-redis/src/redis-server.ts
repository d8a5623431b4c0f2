/**
 * A real `redis-server` process on a loopback port, for machines without a container engine
 * (TOOLCHAIN.md): the tests' Redis, the fault tests that kill and restart it, and the no-Docker
 * local stack. Started with no persistence unless asked, so a restart loses the data (the
 * `history_lost` case).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

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
}

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

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The running process, while there is one. */
  get child(): ChildProcess | undefined {
    return this.#child;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const server = new RedisServer(options.port ?? (await freePort()), options);
    await server.#spawn();
    return server;
  }

  async #spawn(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.#dir];
    args.push('--save', '');
    args.push(
      ...(this.options.appendOnly === true
        ? ['--appendonly', 'yes', '--appendfsync', 'always']
        : ['--appendonly', 'no']),
    );
    args.push(...(this.options.args ?? []));
    const child = spawn('redis-server', args, {
      stdio: this.options.stdio ?? 'ignore',
      detached: this.options.detached ?? false,
    });
    this.#child = child;
    // A missing binary surfaces as an 'error' event; waitForPort then sees no exit code, so
    // turn it into a rejection here.
    const failed = new Promise<never>((_, reject) => {
      child.once('error', (err) => {
        reject(
          new Error(`could not start redis-server (apt-get install redis-server): ${err.message}`),
        );
      });
    });
    await Promise.race([waitForPort(this.port, child), failed]);
  }

  /** Kills the server at once (SIGKILL: no shutdown save). */
  async kill(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
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
