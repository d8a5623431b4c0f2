/**
 * One gateway replica as a child process (`node services/gateway/dist/main.js`) on fixed
 * loopback ports, its output appended to a log file in the run directory, so the nemesis can
 * SIGKILL or SIGTERM it and start it again on the same ports (as an orchestrator restarts a pod).
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRunning, spawnNode } from '@ssehub/local-redis';

/** The built gateway entry point. */
export const GATEWAY_MAIN = fileURLToPath(
  new URL('../../../services/gateway/dist/main.js', import.meta.url),
);

/** Options of {@link GatewayNode}. */
export interface GatewayNodeOptions {
  readonly index: number;
  readonly publicPort: number;
  readonly adminPort: number;
  /** Broker settings (REDIS_URL, or REDIS_SENTINELS…, or REDIS_CLUSTER_NODES) and the rest. */
  readonly env: Readonly<Record<string, string>>;
  readonly runDir: string;
  /** The entry point to run. @defaultValue {@link GATEWAY_MAIN} */
  readonly main?: string;
  /**
   * Called when the process exits without {@link GatewayNode.stop} asking it to (a crash), with
   * the exit code or signal and the end of its stderr.
   */
  readonly onCrash?: (gateway: GatewayNode, how: string, stderrTail: string) => void;
}

/** A gateway process the nemesis can kill and restart. */
export class GatewayNode {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  readonly #log: WriteStream;
  #stopping = false;
  #stderrTail = '';
  /** How many times it was started. */
  starts = 0;

  constructor(readonly options: GatewayNodeOptions) {
    this.#log = createWriteStream(join(options.runDir, `gateway${options.index}.log`), {
      flags: 'a',
    });
  }

  get index(): number {
    return this.options.index;
  }

  get name(): string {
    return `gateway${this.options.index}`;
  }

  /** The public (subscribe) URL. */
  get publicUrl(): string {
    return `http://127.0.0.1:${this.options.publicPort}`;
  }

  /** The admin (publish) URL. */
  get adminUrl(): string {
    return `http://127.0.0.1:${this.options.adminPort}`;
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && isRunning(c);
  }

  /** Spawns the process (if not running); does not wait for readiness. */
  spawn(): void {
    if (this.running) return;
    const main = this.options.main ?? GATEWAY_MAIN;
    if (!existsSync(main)) {
      throw new Error(`${main} is missing: run \`pnpm run build\` at the repository root`);
    }
    this.starts += 1;
    this.#log.write(`--- ${new Date().toISOString()} start #${this.starts}\n`);
    // Only PATH and these reach the process (the kit's spawnNode), with stdout and stderr piped.
    const child = spawnNode([main], {
      env: {
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        ADMIN_HOST: '127.0.0.1',
        PORT: String(this.options.publicPort),
        ADMIN_PORT: String(this.options.adminPort),
        ...this.options.env,
      },
    });
    child.stdout?.pipe(this.#log, { end: false });
    child.stderr?.pipe(this.#log, { end: false });
    this.#stderrTail = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-4000);
    });
    this.#child = child;
    this.#stopping = false;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#log.write(
          `--- ${new Date().toISOString()} exit code ${String(code)} signal ${String(signal)}\n`,
        );
        if (!this.#stopping) {
          // Let the stderr pipe drain before reporting.
          setTimeout(() => {
            this.options.onCrash?.(
              this,
              `exit code ${String(code)} signal ${String(signal)}`,
              this.#stderrTail,
            );
          }, 50);
        }
        resolve();
      });
    });
  }

  /** Spawns it and waits until `/readyz` answers 200 (or `timeoutMs` passes). */
  async start(timeoutMs = 30_000): Promise<void> {
    this.spawn();
    await this.waitReady(timeoutMs);
  }

  /** Polls `/readyz` until 200. */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited before it was ready`);
      try {
        const res = await fetch(`${this.adminUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs` if it is still up). */
  async stop(signal: NodeJS.Signals = 'SIGKILL', graceMs = 15_000): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    this.#stopping = true;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Stops the process and closes the log. */
  async close(): Promise<void> {
    await this.stop('SIGKILL');
    await new Promise<void>((resolve) => {
      this.#log.end(() => {
        resolve();
      });
    });
  }
}
