/**
 * Runs what an image would run, without a container engine: the Dockerfile's own `pnpm deploy`
 * into a temporary directory (the image's /app), then its ENTRYPOINT with its ENV, its
 * HEALTHCHECK command, and a SIGTERM as `docker stop` sends it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (the Dockerfile's build context). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * `pnpm --dir <repo> deploy <args> <outDir>`, the Dockerfile's command with another output
 * directory. It copies each package's `files` (dist/), so the workspace must be built: fail
 * with the command to run instead of deploying a package without its code.
 */
export function pnpmDeploy(args: readonly string[], outDir: string, builtEntry: string): void {
  if (!existsSync(join(REPO_ROOT, builtEntry))) {
    throw new Error(`${builtEntry} is missing: run \`pnpm build\` at the repository root first`);
  }
  const result = spawnSync('pnpm', ['--dir', REPO_ROOT, 'deploy', ...args, outDir], {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, CI: 'true' },
  });
  if (result.error !== undefined) {
    throw new Error(`could not run pnpm (npm i -g pnpm@10.34.9): ${result.error.message}`);
  }
  if (result.status !== 0) {
    throw new Error(
      `pnpm deploy ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/** `du -sk`: the disk space of a directory in KiB, as the image layer will roughly hold it. */
export function diskUsageKb(dir: string): number {
  const result = spawnSync('du', ['-sk', dir], { encoding: 'utf8' });
  const kb = Number(/^(\d+)/.exec(result.stdout)?.[1]);
  if (result.status !== 0 || !Number.isFinite(kb)) {
    throw new Error(`du -sk ${dir} failed: ${result.stderr}`);
  }
  return kb;
}

/** Every path under `dir` with its size and modification time (symlinks not followed). */
export function snapshotFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const stat = lstatSync(join(dir, path));
      files.set(path, `${stat.size}:${stat.mtimeMs}`);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk('');
  return files;
}

/** Paths added, removed or modified between two snapshots. */
export function changedFiles(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string[] {
  const changed = [...after].filter(([path, info]) => before.get(path) !== info).map(([p]) => p);
  const removed = [...before.keys()].filter((path) => !after.has(path));
  return [...changed, ...removed];
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A started child with its output collected. */
export interface Started {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  readonly exited: Promise<Exit>;
}

export interface StartOptions {
  readonly cwd?: string;
  /** The whole environment: nothing of the test runner's leaks in but what is passed here. */
  readonly env: Readonly<Record<string, string>>;
}

/** Starts argv[0] with argv[1…] (looked up in env.PATH, as Docker does for an exec form). */
export function start(argv: readonly string[], options: StartOptions): Started {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('empty command');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: string): void => {
    output += chunk;
  };
  child.stdout.setEncoding('utf8').on('data', append);
  child.stderr.setEncoding('utf8').on('data', append);
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, output: () => output, exited };
}

/** Resolves with the exit, or rejects after `timeoutMs` (killing the child). */
export async function exitWithin(started: Started, timeoutMs: number): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      started.child.kill('SIGKILL');
      reject(new Error(`no exit within ${timeoutMs} ms; output:\n${started.output()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([started.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command to its end (a HEALTHCHECK), with Docker's default 30 s as the bound. */
export async function run(argv: readonly string[], options: StartOptions): Promise<Exit> {
  return exitWithin(start(argv, options), 30_000);
}

function exitedEarly(started: Started): Error | undefined {
  const { exitCode, signalCode } = started.child;
  if (exitCode === null && signalCode === null) return undefined;
  return new Error(`exited (${exitCode ?? signalCode}) early; output:\n${started.output()}`);
}

/** Polls `url` until it answers 200; fails if the child exits first or after `timeoutMs`. */
export async function waitFor200(url: string, started: Started, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const early = exitedEarly(started);
    if (early !== undefined) throw early;
    const status = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) {
      throw new Error(`${url} not 200 (last ${status}) in ${timeoutMs} ms:\n${started.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the child's output matches `pattern`; fails if it exits first. */
export async function waitForOutput(
  started: Started,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(started.output());
    if (match !== null) return match[0];
    const early = exitedEarly(started);
    if (early !== undefined) throw early;
    if (Date.now() > deadline) {
      throw new Error(`no output matching ${pattern} in ${timeoutMs} ms:\n${started.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
