/**
 * Child processes of the test kit: start a server and wait until it listens, collect a process's
 * output until it exits, and stop one (a signal, then SIGKILL if it lingers). The Redis launchers,
 * the gateway's process tests and the chaos harness start and stop their processes through these,
 * so a missing binary or a lingering process is handled in one place.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { waitForPort } from './ports.js';

/** True while `child` has neither exited nor been killed by a signal (paused counts as running). */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Sends `signal` and resolves once the process exited; when `signal` is not SIGKILL and the
 * process is still there after `graceMs` (milliseconds, default 3000), SIGKILLs it. Resolves at
 * once if it has already exited.
 */
export async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGKILL',
  graceMs = 3000,
): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  child.kill(signal);
  const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Options of {@link spawnListening}. */
export interface SpawnListeningOptions {
  /** The loopback port the process opens once it serves. */
  readonly port: number;
  /** Where its own output goes. @defaultValue 'ignore' */
  readonly stdio?: 'ignore' | 'inherit';
  /** Run it in its own process group (a Ctrl-C in the terminal does not reach it). @defaultValue false */
  readonly detached?: boolean;
  /** How long it may take to listen, in milliseconds. @defaultValue 10000 */
  readonly timeoutMs?: number;
  /** Appended to the error when the binary cannot be started, e.g. `'apt-get install redis-server'`. */
  readonly installHint?: string;
}

/** What {@link spawnListening} returns. */
export interface ListeningProcess {
  /** The process, from the moment it is spawned (so its owner can kill it while it starts). */
  readonly child: ChildProcess;
  /**
   * Resolves once it listens on the port; rejects if it exits first, cannot be started (a
   * missing binary), or does not listen within the timeout. The process is left as it is.
   */
  readonly listening: Promise<void>;
}

/** Spawns `command args` and watches for it to listen on `options.port`. */
export function spawnListening(
  command: string,
  args: readonly string[],
  options: SpawnListeningOptions,
): ListeningProcess {
  const child = spawn(command, args, {
    stdio: options.stdio ?? 'ignore',
    detached: options.detached ?? false,
  });
  // A missing binary surfaces as an 'error' event, not an exit code, so waitForPort would poll
  // until its timeout: turn it into a rejection here.
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => {
      const hint = options.installHint === undefined ? '' : ` (${options.installHint})`;
      reject(new Error(`could not start ${command}${hint}: ${err.message}`));
    });
  });
  const listening = Promise.race([waitForPort(options.port, child, options.timeoutMs), failed]);
  return { child, listening };
}

/** How a process ended, with everything it wrote. */
export interface ProcessResult {
  /** The exit code, or `null` when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it, or `null` when it exited by itself. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What {@link collectOutput} returns. */
export interface CollectedOutput {
  /** Stdout and stderr so far (UTF-8), growing as the process writes. */
  readonly output: { stdout: string; stderr: string };
  /** Resolves once the process exited and its pipes closed; rejects on a spawn error. */
  readonly exited: Promise<ProcessResult>;
}

/**
 * Collects the output of a child spawned with piped stdout and stderr. `exited` waits for
 * 'close', not 'exit', since the last output may arrive after the exit.
 */
export function collectOutput(child: ChildProcess): CollectedOutput {
  const output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
  });
  const exited = new Promise<ProcessResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, signal, stdout: output.stdout, stderr: output.stderr });
    });
  });
  return { output, exited };
}

/** Options of {@link spawnNode}. */
export interface SpawnNodeOptions {
  /** Environment variables besides PATH (nothing else of this process's environment is passed). */
  readonly env?: Readonly<Record<string, string>>;
  /** @defaultValue ['ignore', 'pipe', 'pipe'] */
  readonly stdio?: StdioOptions;
}

/**
 * Spawns `node ...args` (this Node binary) with only PATH and `options.env` in its environment,
 * so a test says every setting the process sees.
 */
export function spawnNode(args: readonly string[], options: SpawnNodeOptions = {}): ChildProcess {
  return spawn(process.execPath, args, {
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
}
