/**
 * services/gateway/Dockerfile and .dockerignore, checked without a container engine: the
 * syntax tree against the image rules (pinned bases, non-root, exec form, health check, COPYs
 * that the build context can satisfy), then what each image runs, started from the
 * Dockerfile's own `pnpm deploy` output with the Dockerfile's ENTRYPOINT, ENV and HEALTHCHECK.
 *
 * Needs the workspace built (`pnpm build`, as CI does before the tests) and, for the demo
 * publisher, `redis-server`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, RedisServer } from '@ssehub/local-redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  baseImageProblems,
  buildClosure,
  buildInputProblems,
  copyFromProblems,
  copySourceProblems,
  deployCommands,
  deployCopyProblems,
  entrypointCommand,
  findStage,
  healthcheckCommand,
  parseDockerfile,
  pnpmVersionProblems,
  readWorkspace,
  runtimeStageProblems,
  stageEnv,
  targetProblems,
  workspaceCopyProblems,
  type DockerStage,
  type ParsedDockerfile,
} from './helpers/dockerfile-checks.js';
import {
  changedFiles,
  diskUsageKb,
  pnpmDeploy,
  REPO_ROOT,
  run,
  snapshotFiles,
  start,
} from './helpers/dockerfile-run.js';
import { isExcluded, parseDockerignore } from './helpers/dockerignore.js';

const DOCKERFILE_TEXT = readFileSync(join(REPO_ROOT, 'services/gateway/Dockerfile'), 'utf8');
const DOCKERIGNORE = parseDockerignore(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
const df = parseDockerfile(DOCKERFILE_TEXT);
const workspace = readWorkspace(REPO_ROOT);

/** The two images of the one Dockerfile. */
const IMAGES = [
  { target: 'gateway', pkg: '@ssehub/gateway', entry: 'services/gateway/dist/main.js' },
  {
    target: 'demo-publisher',
    pkg: '@ssehub/demo-publisher',
    entry: 'examples/demo-publisher/dist/main.js',
  },
] as const;
const BUILD_ROOTS = IMAGES.map((i) => i.pkg);

/**
 * Ceilings for the deploy output (dist/ plus production node_modules; about 24 MB and 3.5 MB
 * today, see the Dockerfile's header). TypeScript alone is 23 MB, so a dev dependency that
 * leaks into the production install, or a second copy of a package, shows at once.
 */
const MAX_DEPLOY_KB = { gateway: 50 * 1024, 'demo-publisher': 20 * 1024 } as const;

/** SHUTDOWN_GRACE_MS for the run: short, so the drain is seen to finish. */
const GRACE_MS = 500;
/** Slack on top of the grace period for process exit on a busy 2-core CI machine. */
const EXIT_SLACK_MS = 3000;

function stage(parsed: ParsedDockerfile, name: string): DockerStage {
  const found = findStage(parsed, name);
  if (found === undefined) throw new Error(`the Dockerfile has no stage ${name}`);
  return found;
}

function rootPackageManager(): string {
  const manifest: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
  const field =
    typeof manifest === 'object' && manifest !== null && 'packageManager' in manifest
      ? manifest.packageManager
      : undefined;
  if (typeof field !== 'string') throw new Error('the root package.json has no packageManager');
  return field;
}

/** PATH only from the runner: the image's environment is its ENV plus what the test sets. */
function imageEnv(target: DockerStage, extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', ...stageEnv(target), ...extra };
}

/** Runs the image stage's pnpm deploy (from its COPY --from stage) into `outRoot/<target>`. */
function deployImage(image: (typeof IMAGES)[number], outRoot: string): string {
  const command = deployCommands(stage(df, 'build')).find((d) => d.filter === image.pkg);
  if (command === undefined) throw new Error(`no pnpm deploy of ${image.pkg} in the Dockerfile`);
  const out = join(outRoot, image.target);
  pnpmDeploy(command.args, out, image.entry);
  return out;
}

describe('Dockerfile: structure', () => {
  it('pins every base image to a full version, the same in every stage', () => {
    expect(baseImageProblems(df)).toEqual([]);
  });

  it('ends with the gateway stage (the default target) and has the demo-publisher target', () => {
    expect(targetProblems(df, 'gateway', ['gateway', 'demo-publisher'])).toEqual([]);
  });

  it.each(IMAGES)(
    'image $target: non-root USER, NODE_ENV=production, exec-form ENTRYPOINT',
    ({ target }) => {
      expect(
        runtimeStageProblems(stage(df, target), { healthcheck: target === 'gateway' }),
      ).toEqual([]);
      expect(entrypointCommand(stage(df, target))).toEqual(['node', 'dist/main.js']);
    },
  );

  it.each(IMAGES)('image $target: copies the pnpm deploy --prod output of $pkg', (image) => {
    expect(deployCopyProblems(df, image.target, image.pkg)).toEqual([]);
  });

  it('COPY --from names earlier stages only', () => {
    expect(copyFromProblems(df)).toEqual([]);
  });

  it('every COPY source exists and is kept in the build context by .dockerignore', () => {
    expect(copySourceProblems(df, REPO_ROOT, DOCKERIGNORE)).toEqual([]);
  });

  it('copies the manifest and the sources of every package turbo builds, in that order', () => {
    expect(workspace.map((p) => p.name)).toEqual(expect.arrayContaining([...BUILD_ROOTS]));
    expect(workspaceCopyProblems(stage(df, 'build'), workspace, BUILD_ROOTS)).toEqual([]);
    const closure = buildClosure(workspace, BUILD_ROOTS);
    expect(buildInputProblems(REPO_ROOT, closure, DOCKERIGNORE)).toEqual([]);
  });

  it("installs the root package.json's pnpm version", () => {
    expect(pnpmVersionProblems(df, rootPackageManager())).toEqual([]);
  });

  it('.dockerignore leaves out installed and generated files', () => {
    for (const path of [
      'node_modules/.modules.yaml',
      'services/gateway/node_modules/koa/package.json',
      'services/gateway/dist/main.js',
      'packages/protocol/.turbo/turbo-build.log',
      'services/gateway/reports/vitest.json',
      '.git/HEAD',
      'deploy/src/stack/stack.ts',
    ]) {
      expect(isExcluded(path, DOCKERIGNORE), path).toBe(true);
    }
  });
});

describe('.dockerignore matching (moby/patternmatcher rules)', () => {
  const patterns = parseDockerignore(
    ['# comment', '**/node_modules', 'docs', '/k8s/', 'deploy/*', '!deploy/package.json'].join(
      '\n',
    ),
  );

  it.each([
    ['node_modules/x', true],
    ['a/b/node_modules/c/d.js', true],
    ['docs/a.md', true],
    ['packages/p/docs/a.md', false],
    ['k8s/base/kustomization.yaml', true],
    ['deploy/src/x.ts', true],
    ['deploy/package.json', false],
    ['services/gateway/src/main.ts', false],
  ] as const)('%s excluded: %s', (path, excluded) => {
    expect(isExcluded(path, patterns)).toBe(excluded);
  });

  it("keeps what the build reads in this repository's .dockerignore", () => {
    for (const path of [
      'pnpm-lock.yaml',
      '.npmrc',
      'services/gateway/src/main.ts',
      'packages/protocol/tsconfig.build.json',
    ]) {
      expect(isExcluded(path, DOCKERIGNORE), path).toBe(false);
    }
  });
});

describe('Dockerfile: the checks catch broken files', () => {
  const broken = (text: string): ParsedDockerfile => parseDockerfile(text);

  it('a COPY of a missing path, or of a path .dockerignore excludes', () => {
    const parsed = broken(
      [
        'FROM node:24.11.1-bookworm-slim AS build',
        'COPY packages/protocol/package.json packages/no-such-package/ ./',
        'COPY services/gateway/dist/ ./dist/',
        'COPY deploy/src/ ./deploy-src/',
      ].join('\n'),
    );
    expect(copySourceProblems(parsed, REPO_ROOT, DOCKERIGNORE)).toEqual([
      'stage build: COPY packages/no-such-package/: no such file in the repository',
      'stage build: COPY services/gateway/dist/: excluded by .dockerignore',
      'stage build: COPY deploy/src/: excluded by .dockerignore',
    ]);
  });

  it('unpinned or differing base images', () => {
    const parsed = broken(
      [
        'FROM node:24-slim AS build',
        'FROM node:latest AS a',
        'FROM node AS b',
        'FROM node:24.11.1-bookworm-slim AS c',
        'FROM node:24.10.0-bookworm-slim AS d',
        'FROM c AS e',
      ].join('\n'),
    );
    expect(baseImageProblems(parsed)).toEqual([
      'stage build: base image "node:24-slim" is not pinned to a full version tag (x.y.z)',
      'stage a: base image "node:latest" is not pinned to a full version tag (x.y.z)',
      'stage b: base image "node" is not pinned to a full version tag (x.y.z)',
      'stage d: node:24.10.0-bookworm-slim differs from node:24.11.1-bookworm-slim',
    ]);
  });

  it('a wrong last stage, a root user, a shell-form entry point, no health check', () => {
    const parsed = broken(
      [
        'FROM node:24.11.1-bookworm-slim AS gateway',
        'USER root',
        'ENTRYPOINT node dist/main.js',
        'FROM node:24.11.1-bookworm-slim AS demo-publisher',
        'COPY --from=later /out /app',
        'FROM node:24.11.1-bookworm-slim AS later',
      ].join('\n'),
    );
    expect(targetProblems(parsed, 'gateway', ['gateway', 'demo-publisher'])).toEqual([
      'the last stage is later, not gateway',
    ]);
    expect(runtimeStageProblems(stage(parsed, 'gateway'), { healthcheck: true })).toEqual([
      'stage gateway: USER root is root',
      'stage gateway: ENV NODE_ENV is not production',
      'stage gateway: no WORKDIR',
      'stage gateway: ENTRYPOINT is not in exec form (JSON array)',
      'stage gateway: no HEALTHCHECK CMD',
    ]);
    expect(copyFromProblems(parsed)).toEqual([
      'stage demo-publisher: COPY --from=later names no earlier stage',
    ]);
  });

  it('a package the build needs but does not copy, or copies after the install', () => {
    const parsed = broken(
      [
        'FROM node:24.11.1-bookworm-slim AS build',
        'RUN npm install --global pnpm@10.0.0',
        'COPY packages/publisher/package.json packages/publisher/',
        'COPY packages/redis-client/package.json packages/redis-client/',
        'COPY packages/local-redis/package.json packages/local-redis/',
        'RUN pnpm install --frozen-lockfile --offline',
        'COPY services/gateway/package.json services/gateway/',
        'COPY packages/publisher/ packages/publisher/',
        'COPY packages/redis-client/ packages/redis-client/',
        'COPY packages/local-redis/ packages/local-redis/',
        'COPY services/gateway/ services/gateway/',
        'RUN pnpm exec turbo run build --filter=@ssehub/gateway...',
      ].join('\n'),
    );
    expect(workspaceCopyProblems(stage(parsed, 'build'), workspace, ['@ssehub/gateway'])).toEqual([
      '@ssehub/protocol: packages/protocol/package.json is not copied before pnpm install',
      '@ssehub/protocol is built but packages/protocol/ is not copied before turbo run build',
      '@ssehub/gateway: services/gateway/package.json is not copied before pnpm install',
    ]);
    expect(pnpmVersionProblems(parsed, 'pnpm@10.34.9+sha512.abc')).toEqual([
      'pnpm@10.0.0 is installed, but packageManager pins 10.34.9',
    ]);
  });
});

describe('image gateway: the ENTRYPOINT on the pnpm deploy output', () => {
  const gateway = stage(df, 'gateway');
  let outRoot = '';
  let appDir = '';
  let scratch = '';

  beforeAll(() => {
    outRoot = mkdtempSync(join(tmpdir(), 'ssehub-image-gateway-'));
    appDir = deployImage(IMAGES[0], outRoot);
    // HOME and TMPDIR: a read-only root filesystem has neither writable; nothing may land there.
    scratch = mkdtempSync(join(tmpdir(), 'ssehub-image-home-'));
  }, 180_000);

  afterAll(() => {
    for (const dir of [outRoot, scratch]) {
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`stays under ${MAX_DEPLOY_KB.gateway / 1024} MB`, () => {
    const kb = diskUsageKb(appDir);
    console.log(`gateway image layer (pnpm deploy output, du -sk): ${(kb / 1024).toFixed(1)} MB`);
    expect(kb).toBeGreaterThan(1024);
    expect(kb).toBeLessThan(MAX_DEPLOY_KB.gateway);
  });

  it('gets ready, passes its HEALTHCHECK, drains on SIGTERM and exits 0, writing no file', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const env = imageEnv(gateway, {
      HOME: scratch,
      TMPDIR: scratch,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    const healthcheck = healthcheckCommand(gateway);
    expect(healthcheck?.[0]).toBe('node');
    const before = snapshotFiles(appDir);
    const started = start(entrypointCommand(gateway), { cwd: appDir, env });
    let stream: Response | undefined;
    try {
      await started.waitForHttp200(`http://127.0.0.1:${adminPort}/readyz`, 20_000);
      expect(await run(healthcheck ?? [], { cwd: appDir, env })).toEqual({
        code: 0,
        signal: null,
      });
      // One open stream, so the drain has something to close.
      stream = await fetch(`http://127.0.0.1:${port}/subscribe/time`, {
        headers: { accept: 'text/event-stream' },
      });
      expect(stream.status).toBe(200);
      const body = stream.body;
      if (body === null) throw new Error('no body');
      const reader = body.getReader();
      const first: unknown = (await reader.read()).value;
      expect(first instanceof Uint8Array ? new TextDecoder().decode(first) : first).toContain(
        ': ok',
      );
      started.child.kill('SIGTERM');
      const stoppedAt = Date.now();
      const exit = await started.waitForExit(GRACE_MS + EXIT_SLACK_MS);
      expect(exit, started.output).toEqual({ code: 0, signal: null });
      console.log(`gateway exited ${Date.now() - stoppedAt} ms after SIGTERM`);
      // The drain ended the stream (the response ends; the socket is not just cut).
      let done = false;
      while (!done) done = (await reader.read()).done;
    } finally {
      if (started.child.exitCode === null) started.child.kill('SIGKILL');
    }
    expect(changedFiles(before, snapshotFiles(appDir))).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
  }, 60_000);

  it('its HEALTHCHECK fails when nothing answers on ADMIN_PORT', async () => {
    const env = imageEnv(gateway, { HOME: scratch, ADMIN_PORT: String(await freePort()) });
    const exit = await run(healthcheckCommand(gateway) ?? [], { cwd: appDir, env });
    expect(exit).toEqual({ code: 1, signal: null });
  }, 60_000);
});

describe('image demo-publisher: the ENTRYPOINT on the pnpm deploy output', () => {
  const publisher = stage(df, 'demo-publisher');
  let outRoot = '';
  let appDir = '';
  let scratch = '';
  let redis: RedisServer | undefined;

  beforeAll(async () => {
    outRoot = mkdtempSync(join(tmpdir(), 'ssehub-image-demo-'));
    appDir = deployImage(IMAGES[1], outRoot);
    scratch = mkdtempSync(join(tmpdir(), 'ssehub-image-home-'));
    redis = await RedisServer.start();
  }, 180_000);

  afterAll(async () => {
    await redis?.stop();
    for (const dir of [outRoot, scratch]) {
      if (dir !== '') rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`stays under ${MAX_DEPLOY_KB['demo-publisher'] / 1024} MB`, () => {
    const kb = diskUsageKb(appDir);
    console.log(`demo-publisher image layer (du -sk): ${(kb / 1024).toFixed(1)} MB`);
    expect(kb).toBeGreaterThan(100);
    expect(kb).toBeLessThan(MAX_DEPLOY_KB['demo-publisher']);
  });

  it('publishes to Redis, stops on SIGTERM with exit 0, writing no file', async () => {
    if (redis === undefined) throw new Error('no Redis');
    const env = imageEnv(publisher, { HOME: scratch, TMPDIR: scratch, REDIS_URL: redis.url });
    const before = snapshotFiles(appDir);
    const started = start(entrypointCommand(publisher), { cwd: appDir, env });
    try {
      // `<ISO time> time tick <event id>`: a publish Redis accepted.
      const line = await started.waitForOutput(/^\S+ time tick \S+$/m, 20_000);
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT/);
      started.child.kill('SIGTERM');
      expect(await started.waitForExit(10_000), started.output).toEqual({
        code: 0,
        signal: null,
      });
    } finally {
      if (started.child.exitCode === null) started.child.kill('SIGKILL');
    }
    expect(changedFiles(before, snapshotFiles(appDir))).toEqual([]);
    expect(readdirSync(scratch)).toEqual([]);
  }, 60_000);
});
