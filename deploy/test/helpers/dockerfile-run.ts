/**
 * Runs what an image would run, without a container engine: the Dockerfile's own `pnpm deploy`
 * into a temporary directory (the image's /app), then its ENTRYPOINT with its ENV, its
 * HEALTHCHECK command, and a SIGTERM as `docker stop` sends it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess, type Exit } from '../../src/stack/managed-process.js';

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

export interface StartOptions {
  readonly cwd?: string;
  /** The whole environment: nothing of the test runner's leaks in but what is passed here. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Starts argv[0] with argv[1…] (looked up in env.PATH, as Docker does for an exec form), with
 * its output collected: the stack's own process runner.
 */
export function start(argv: readonly string[], options: StartOptions): ManagedProcess {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('empty command');
  return ManagedProcess.spawn({ name: command, command, args, ...options });
}

/** Runs a command to its end (a HEALTHCHECK), with Docker's default 30 s as the bound. */
export function run(argv: readonly string[], options: StartOptions): Promise<Exit> {
  return start(argv, options).waitForExit(30_000);
}
