/**
 * Processes for the multi-process benches: gateway replicas (`node dist/main.js`) on free
 * loopback ports. Benches may not import the test helpers, so this is the small subset they need;
 * `redis-server` and free ports come from `@ssehub/local-redis`. Build the gateway first
 * (`npx tsc -p tsconfig.build.json`).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  isRunning,
  spawnNode as spawnKitNode,
  stopProcess as stopKitProcess,
} from '@ssehub/local-redis';

/** The built entry point, seen from bench-dist/bench/. */
export const MAIN_JS = join(import.meta.dirname, '..', '..', 'dist', 'main.js');

/** True once the process has exited or been killed. */
export function exitedEarly(child: ChildProcess): boolean {
  return !isRunning(child);
}

/**
 * Sends `signal`, then SIGKILL if the process is still there after `graceMs` (the kit's
 * stopProcess, with the benches' gentler default of SIGTERM).
 */
export function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 3000,
): Promise<void> {
  return stopKitProcess(child, signal, graceMs);
}

/** The inspector's own lines on stderr (`--inspect`), not worth echoing. */
const INSPECTOR_NOISE =
  /^(Debugger (listening|ending) on |For help, see: https:\/\/nodejs\.org|Debugger attached\.|Waiting for the debugger to disconnect)/;

export interface NodeProcess {
  readonly child: ChildProcess;
  /** Stdout and stderr so far. */
  readonly output: () => string;
}

/**
 * Spawns `node ...args` with `env` (plus PATH) and echoes its output lines to stderr prefixed
 * with `name` (the inspector's banner lines excepted).
 */
export function spawnNode(
  name: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): NodeProcess {
  const child = spawnKitNode(args, { env });
  let output = '';
  const echo = (chunk: string): void => {
    output += chunk;
    for (const line of chunk.split('\n'))
      if (line !== '' && !INSPECTOR_NOISE.test(line)) process.stderr.write(`[${name}] ${line}\n`);
  };
  // Piped by spawnNode's default stdio, so both are there.
  child.stdout?.setEncoding('utf8').on('data', echo);
  child.stderr?.setEncoding('utf8').on('data', echo);
  return { child, output: () => output };
}

/**
 * The inspector's WebSocket URL of a process started with `--inspect=127.0.0.1:0`, read from the
 * banner it prints on stderr; waits up to `timeoutMs` for it.
 */
export async function inspectorUrl(node: NodeProcess, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = /Debugger listening on (ws:\/\/\S+)/.exec(node.output());
    if (match?.[1] !== undefined) return match[1];
    if (exitedEarly(node.child))
      throw new Error('the process exited before its inspector listened');
    if (Date.now() > deadline) throw new Error(`no inspector banner after ${timeoutMs} ms`);
    await sleep(25);
  }
}

export interface Replica {
  readonly name: string;
  readonly publicUrl: string;
  readonly adminUrl: string;
  readonly child: ChildProcess;
  /** Stdout and stderr so far (the gateway logs JSON lines at LOG_LEVEL). */
  output(): string;
  readonly stop: () => Promise<void>;
}

export interface GatewayOptions {
  /** Node options before the entry point, e.g. `['--inspect=127.0.0.1:0']`. */
  readonly nodeArgs?: readonly string[];
}

/**
 * Starts `node dist/main.js` on free loopback ports with `env` (plus PATH) and waits until its
 * /readyz answers 200. Log lines are echoed to stderr prefixed with `name`.
 */
export async function startGateway(
  name: string,
  env: Readonly<Record<string, string>>,
  options: GatewayOptions = {},
): Promise<Replica> {
  if (!existsSync(MAIN_JS)) {
    throw new Error(`${MAIN_JS} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
  }
  const port = await freePort();
  const adminPort = await freePort();
  const { child, output } = spawnNode(name, [...(options.nodeArgs ?? []), MAIN_JS], {
    HOST: '127.0.0.1',
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    ...env,
  });
  const replica: Replica = {
    name,
    publicUrl: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    child,
    output,
    stop: () => stopProcess(child),
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exitedEarly(child)) {
      throw new Error(`${name} exited (code ${String(child.exitCode)}) before it was ready`);
    }
    try {
      const res = await fetch(`${replica.adminUrl}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) return replica;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await replica.stop();
      throw new Error(`${name} was not ready after 15 s:\n${output()}`);
    }
    await sleep(25);
  }
}

/**
 * Resolves with the next IPC message of `type` from a forked client process; rejects on its
 * `error` message, its exit, or after `timeoutMs` milliseconds.
 */
export function nextMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(new Error(`a client process sent no '${type}' within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (m: Record<string, unknown>): void => {
      if (m['type'] === 'error') {
        done();
        reject(new Error(`client process: ${String(m['message'])}`));
      } else if (m['type'] === type) {
        done();
        resolve(m as T);
      }
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`a client process exited (${String(code)}) before '${type}'`));
    };
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
