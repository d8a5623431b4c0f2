/**
 * Runs the standalone service (`node dist/main.js`) as a child process on free ports, for the
 * tests of what only the process does: settings from the environment and flags, log lines,
 * signals and exit codes. Build first (`npx tsc -p tsconfig.build.json`). Each spawn costs about
 * half a second, so suites keep them few.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { collectOutput, freePort, spawnNode, type ProcessResult } from '@ssehub/local-redis';
import { sleep } from './timing.js';

/** The built entry point. */
export const MAIN_JS = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** A port nobody listens on right now (from @ssehub/local-redis). */
export { freePort } from '@ssehub/local-redis';

export interface RunOptions {
  /** Environment variables besides PATH (nothing else of the test runner's environment is passed). */
  readonly env?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
}

function spawnMain({ env = {}, args = [] }: RunOptions): ChildProcess {
  if (!existsSync(MAIN_JS)) {
    throw new Error(
      `${MAIN_JS} is missing: run \`npx tsc -p tsconfig.build.json\` in services/gateway first`,
    );
  }
  return spawnNode([MAIN_JS, ...args], { env });
}

/** Runs the service to its exit (for `--help` and bad settings); kills it after `timeoutMs`. */
export async function runGateway(
  options: RunOptions = {},
  timeoutMs = 10_000,
): Promise<ProcessResult> {
  const child = spawnMain(options);
  const { exited } = collectOutput(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

export interface StartProcessOptions extends RunOptions {
  /**
   * Port the public listener ends up on; by default a free one, passed as PORT. `publicUrl` is
   * https when `env` has TLS_CERT (the public port then speaks HTTPS, SPEC 3).
   */
  readonly publicPort?: number;
  /** Port of the admin listener; by default a free one, passed as ADMIN_PORT. */
  readonly adminPort?: number;
}

/** A running service. Disposable: `await using proc = await startGatewayProcess()`. */
export class GatewayProcess {
  readonly exited: Promise<ProcessResult>;
  readonly #output: { stdout: string; stderr: string };

  private constructor(
    readonly child: ChildProcess,
    readonly publicUrl: string,
    readonly adminUrl: string,
  ) {
    const { output, exited } = collectOutput(child);
    this.#output = output;
    this.exited = exited;
  }

  static async start(options: StartProcessOptions = {}): Promise<GatewayProcess> {
    const publicPort = options.publicPort ?? (await freePort());
    const adminPort = options.adminPort ?? (await freePort());
    const env = { PORT: String(publicPort), ADMIN_PORT: String(adminPort), ...options.env };
    const child = spawnMain({ env, args: options.args });
    const scheme = options.env?.['TLS_CERT'] === undefined ? 'http' : 'https';
    const proc = new GatewayProcess(
      child,
      `${scheme}://127.0.0.1:${publicPort}`,
      `http://127.0.0.1:${adminPort}`,
    );
    try {
      await proc.#waitReady();
    } catch (err) {
      await proc[Symbol.asyncDispose]();
      throw err;
    }
    return proc;
  }

  get stdout(): string {
    return this.#output.stdout;
  }

  get stderr(): string {
    return this.#output.stderr;
  }

  /** Every complete stdout line parsed as JSON (throws on a line that is not: logs are JSON lines off a TTY). */
  logLines(): Record<string, unknown>[] {
    const lines = this.stdout.split('\n');
    lines.pop(); // the unfinished last line, or '' after the final newline
    return lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`);
      }
    });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Polls /readyz until 200; rejects if the process exits first or after 15 s. */
  async #waitReady(): Promise<void> {
    let exited: ProcessResult | undefined;
    void this.exited.then((r) => {
      exited = r;
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (exited !== undefined) {
        throw new Error(
          `the gateway exited (code ${exited.code}) before it was ready:\n${exited.stderr}${exited.stdout}`,
        );
      }
      try {
        const res = await fetch(`${this.adminUrl}/readyz`);
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline)
        throw new Error(`the gateway was not ready after 15 s:\n${this.stderr}${this.stdout}`);
      await sleep(25);
    }
  }
}
