/**
 * Processes for the multi-process benches: a throwaway `redis-server` and gateway replicas
 * (`node dist/main.js`) on free loopback ports. Benches may not import the test helpers, so this
 * is the small subset they need. Build the gateway first (`npx tsc -p tsconfig.build.json`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The built entry point, seen from bench-dist/bench/. */
export const MAIN_JS = join(import.meta.dirname, '..', '..', 'dist', 'main.js');

/** A port nobody listens on right now: listen on port 0, read the number, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

function exitedEarly(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Sends `signal`, then SIGKILL if the process is still there after `graceMs`. */
export async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 3000,
): Promise<void> {
  if (exitedEarly(child)) return;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface Redis {
  readonly url: string;
  readonly child: ChildProcess;
  readonly stop: () => Promise<void>;
}

/** `redis-server` on a free loopback port with no persistence (no RDB snapshots, no AOF). */
export async function startRedis(): Promise<Redis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ssehub-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir];
  const child = spawn('redis-server', [...args, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const stop = async (): Promise<void> => {
    await stopProcess(child, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exitedEarly(child)) {
      await stop();
      throw new Error(`redis-server exited with ${String(child.exitCode)}: is it installed?`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => {
        resolve(false);
      });
    });
    if (open) return { url: `redis://127.0.0.1:${port}`, child, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not listen on ${port} within 10 s`);
    }
    await sleep(50);
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

/**
 * Starts `node dist/main.js` on free loopback ports with `env` (plus PATH) and waits until its
 * /readyz answers 200. Log lines are echoed to stderr prefixed with `name`.
 */
export async function startGateway(
  name: string,
  env: Readonly<Record<string, string>>,
): Promise<Replica> {
  if (!existsSync(MAIN_JS)) {
    throw new Error(`${MAIN_JS} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
  }
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawn(process.execPath, [MAIN_JS], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const echo = (chunk: string): void => {
    output += chunk;
    for (const line of chunk.split('\n'))
      if (line !== '') process.stderr.write(`[${name}] ${line}\n`);
  };
  child.stdout.setEncoding('utf8').on('data', echo);
  child.stderr.setEncoding('utf8').on('data', echo);
  const replica: Replica = {
    name,
    publicUrl: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    child,
    output: () => output,
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
      throw new Error(`${name} was not ready after 15 s:\n${output}`);
    }
    await sleep(25);
  }
}
