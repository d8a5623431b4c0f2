/**
 * A child process of the stack: spawned with its output either collected (tests) or written to
 * this process's stdout line by line with a name in front (`pnpm stack`), and stopped with a
 * signal, then SIGKILL if it has not exited in time.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** Children still running, killed if this process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Kills `child` if this process exits while it still runs (for children spawned elsewhere, such
 * as the stack's redis-server), so an early exit leaves no orphan behind.
 */
export function killOnExit(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
}

/** Where a child's stdout and stderr go. */
export type OutputMode = 'collect' | 'prefix' | 'ignore';

export interface SpawnOptions {
  /** Short name shown in front of its output lines and in errors, e.g. `gateway-2`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** The whole environment of the child (nothing is inherited unless passed). */
  readonly env: Readonly<Record<string, string>>;
  /** @defaultValue 'collect' */
  readonly output?: OutputMode;
  readonly cwd?: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Writes complete lines of a stream with `[name] ` in front. */
function prefixLines(stream: NodeJS.ReadableStream, name: string): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) process.stdout.write(`[${name}] ${line}\n`);
  });
  stream.on('end', () => {
    if (pending !== '') process.stdout.write(`[${name}] ${pending}\n`);
  });
}

export class ManagedProcess {
  /** Resolves when the child has exited and its pipes are closed. */
  readonly exited: Promise<Exit>;
  #output = '';

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        resolve({ code, signal });
      });
      // A command that cannot start (not installed) emits 'error' and then 'close'.
      child.once('error', (err) => {
        this.#output += `\n${name}: ${err.message}\n`;
      });
    });
  }

  static spawn(options: SpawnOptions): ManagedProcess {
    const output = options.output ?? 'collect';
    const child = spawn(options.command, options.args, {
      env: options.env,
      cwd: options.cwd,
      stdio: [
        'ignore',
        output === 'ignore' ? 'ignore' : 'pipe',
        output === 'ignore' ? 'ignore' : 'pipe',
      ],
      // Its own process group: a Ctrl-C in the terminal reaches only the stack, which then stops
      // the children in order (publisher, gateways, balancer, Redis) instead of all at once.
      detached: true,
    });
    killOnExit(child);
    const proc = new ManagedProcess(options.name, child);
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      if (output === 'prefix') {
        prefixLines(stream, options.name);
      } else {
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          proc.#output += chunk;
        });
      }
    }
    return proc;
  }

  /** What the child printed so far (stdout and stderr interleaved), in `collect` mode. */
  get output(): string {
    return this.#output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Sends `signal` and waits for the exit; sends SIGKILL after `graceMs` (milliseconds,
   * default 10000) if the child is still running.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<Exit> {
    if (!this.running) return this.exited;
    this.child.kill(signal);
    return this.waitForExit(graceMs);
  }

  /**
   * Waits for the child to exit by itself; sends SIGKILL after `timeoutMs` (milliseconds), so
   * the exit then reports `signal: 'SIGKILL'`.
   */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Polls `url` every 50 ms until it answers 200; rejects if the child exits first, or after
   * `timeoutMs` (milliseconds).
   */
  async waitForHttp200(url: string, timeoutMs: number): Promise<void> {
    await this.#poll(`${url} to answer 200`, timeoutMs, async () => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        return res.status === 200 ? true : undefined;
      } catch {
        return undefined; // Not listening yet.
      }
    });
  }

  /**
   * Waits until the output (`collect` mode) matches `pattern` and returns the match; rejects if
   * the child exits first, or after `timeoutMs` (milliseconds).
   */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<string> {
    return this.#poll(`output matching ${String(pattern)}`, timeoutMs, () => {
      return pattern.exec(this.#output)?.[0];
    });
  }

  /** Calls `check` every 50 ms until it returns a value; fails on the child's exit or the timeout. */
  async #poll<T>(
    what: string,
    timeoutMs: number,
    check: () => T | undefined | Promise<T | undefined>,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (!this.running) {
        const exit = await this.exited;
        throw new Error(
          `${this.name} exited (${exit.code ?? exit.signal}) before ${what}:\n${this.#output}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: no ${what} in ${timeoutMs} ms:\n${this.#output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
