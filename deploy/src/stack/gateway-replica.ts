/**
 * One gateway replica of the local stack: `node <@ssehub/gateway>/dist/main.js` on its own
 * public and admin ports, which it keeps across a kill and restart so the load balancer's
 * upstream list stays right.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ManagedProcess, type Exit, type OutputMode } from './managed-process.js';

/** The gateway's built entry point, found through the workspace dependency. */
export function gatewayMainPath(): string {
  // The package exports only its library entry (dist/index.js); main.js sits beside it.
  return join(dirname(createRequire(import.meta.url).resolve('@ssehub/gateway')), 'main.js');
}

export interface GatewayReplicaOptions {
  /** `gateway-1`, `gateway-2`, … */
  readonly name: string;
  readonly publicPort: number;
  readonly adminPort: number;
  /** Environment of the gateway besides PATH, PORT, ADMIN_PORT and HOST. */
  readonly env: Readonly<Record<string, string>>;
  readonly output: OutputMode;
  /** How long to wait for `/readyz` to answer 200, in milliseconds. @defaultValue 20000 */
  readonly readyTimeoutMs?: number;
}

export class GatewayReplica {
  #process: ManagedProcess | undefined;

  constructor(readonly options: GatewayReplicaOptions) {}

  get name(): string {
    return this.options.name;
  }

  /** `http://127.0.0.1:<public port>`: the SSE side, behind the load balancer. */
  get publicUrl(): string {
    return `http://127.0.0.1:${this.options.publicPort}`;
  }

  /** `http://127.0.0.1:<admin port>`: publish, health, metrics and the admin page. */
  get adminUrl(): string {
    return `http://127.0.0.1:${this.options.adminPort}`;
  }

  get running(): boolean {
    return this.#process?.running ?? false;
  }

  /** What the current (or last) process printed, in `collect` mode. */
  get output(): string {
    return this.#process?.output ?? '';
  }

  /** Starts the process and waits until its `/readyz` answers 200. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const proc = ManagedProcess.spawn({
      name: this.name,
      command: process.execPath,
      args: [gatewayMainPath()],
      env: {
        PATH: process.env['PATH'] ?? '',
        ...this.options.env,
        HOST: '127.0.0.1',
        PORT: String(this.options.publicPort),
        ADMIN_PORT: String(this.options.adminPort),
      },
      output: this.options.output,
    });
    this.#process = proc;
    try {
      await proc.waitForHttp200(`${this.adminUrl}/readyz`, this.options.readyTimeoutMs ?? 20_000);
    } catch (err) {
      await proc.stop('SIGKILL');
      throw err;
    }
  }

  /**
   * Stops the process: SIGTERM drains it (streams closed over SHUTDOWN_GRACE_MS, then exit 0),
   * SIGKILL kills it at once, as a crash would.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit | undefined> {
    return this.#process?.stop(signal, 60_000);
  }
}
