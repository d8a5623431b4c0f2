/**
 * Offline checks of services/gateway/Dockerfile, on the syntax tree from `dockerfile-ast`.
 * Each check is a small function returning the problems it found (empty when all is well), so
 * the tests run them on the real files and the negative tests on broken copies.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import {
  Copy,
  DockerfileParser,
  Env,
  From,
  Healthcheck,
  JSONInstruction,
  type Instruction,
} from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { contextFiles, isExcluded, type IgnorePattern } from './dockerignore.js';

/** One `FROM` and the instructions up to the next one. */
export interface DockerStage {
  readonly index: number;
  /** The `AS` name, lower-cased as Docker compares it; undefined for an unnamed stage. */
  readonly name: string | undefined;
  readonly from: From;
  readonly instructions: readonly Instruction[];
}

export interface ParsedDockerfile {
  readonly stages: readonly DockerStage[];
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const stages: { index: number; name: string | undefined; from: From; list: Instruction[] }[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction instanceof From) {
      const name = instruction.getBuildStage()?.toLowerCase();
      stages.push({ index: stages.length, name, from: instruction, list: [] });
    } else {
      stages.at(-1)?.list.push(instruction);
    }
  }
  return {
    stages: stages.map((s) => ({
      index: s.index,
      name: s.name,
      from: s.from,
      instructions: s.list,
    })),
  };
}

function stageLabel(stage: DockerStage): string {
  return stage.name ?? `#${stage.index}`;
}

function ofKeyword(stage: DockerStage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.getKeyword() === keyword);
}

/** The stage a target name selects. */
export function findStage(df: ParsedDockerfile, name: string): DockerStage | undefined {
  return df.stages.find((s) => s.name === name.toLowerCase());
}

/** A full version tag: 24.11.1, 24.11.1-bookworm-slim, 7.4.6-alpine. */
export const FULL_VERSION_TAG = /^\d+\.\d+\.\d+([-_.][\w.-]+)?$/;

/**
 * Every base image is pinned to a full version (a rebuild next month must give the same Node),
 * and images of the same name use the same tag in every stage (the build stage's Node compiles
 * and installs what the runtime stages run).
 */
export function baseImageProblems(df: ParsedDockerfile): string[] {
  const problems: string[] = [];
  const tags = new Map<string, string>();
  for (const stage of df.stages) {
    const image = stage.from.getImage() ?? '';
    const earlier = df.stages.slice(0, stage.index).some((s) => s.name === image.toLowerCase());
    if (earlier) continue;
    if (image.includes('$')) {
      problems.push(`stage ${stageLabel(stage)}: base image "${image}" uses a build argument`);
      continue;
    }
    const name = stage.from.getImageName() ?? image;
    const tag = stage.from.getImageTag();
    if (tag === null || tag === 'latest' || !FULL_VERSION_TAG.test(tag)) {
      problems.push(
        `stage ${stageLabel(stage)}: base image "${image}" is not pinned to a full version tag (x.y.z)`,
      );
      continue;
    }
    const seen = tags.get(name);
    if (seen !== undefined && seen !== tag) {
      problems.push(`stage ${stageLabel(stage)}: ${name}:${tag} differs from ${name}:${seen}`);
    }
    tags.set(name, tag);
  }
  return problems;
}

/** The last stage is `finalStage` (what a plain `docker build` gives), and every target exists. */
export function targetProblems(
  df: ParsedDockerfile,
  finalStage: string,
  targets: readonly string[],
): string[] {
  const problems: string[] = [];
  const last = df.stages.at(-1);
  if (last?.name !== finalStage) {
    problems.push(
      `the last stage is ${last === undefined ? 'missing' : stageLabel(last)}, not ${finalStage}`,
    );
  }
  for (const target of targets) {
    if (findStage(df, target) === undefined) problems.push(`no stage named ${target}`);
  }
  return problems;
}

/** The exec-form words of an ENTRYPOINT or CMD; undefined for the shell form. */
export function execForm(instruction: Instruction): string[] | undefined {
  if (!(instruction instanceof JSONInstruction) || instruction.getOpeningBracket() === null) {
    return undefined;
  }
  return instruction.getJSONStrings().map((s) => s.getJSONValue());
}

/** What the container runs: the last ENTRYPOINT's words, then the last CMD's. */
export function entrypointCommand(stage: DockerStage): string[] {
  const entrypoint = ofKeyword(stage, 'ENTRYPOINT').at(-1);
  const cmd = ofKeyword(stage, 'CMD').at(-1);
  return [
    ...(entrypoint === undefined ? [] : (execForm(entrypoint) ?? [])),
    ...(cmd === undefined ? [] : (execForm(cmd) ?? [])),
  ];
}

/** The stage's ENV variables, later ones winning. */
export function stageEnv(stage: DockerStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of stage.instructions) {
    if (!(instruction instanceof Env)) continue;
    for (const property of instruction.getProperties()) {
      env[property.getName()] = property.getValue() ?? '';
    }
  }
  return env;
}

/** The HEALTHCHECK's command as argv (the shell form runs under /bin/sh -c, as Docker does). */
export function healthcheckCommand(stage: DockerStage): string[] | undefined {
  const healthcheck = ofKeyword(stage, 'HEALTHCHECK').at(-1);
  if (!(healthcheck instanceof Healthcheck)) return undefined;
  if (healthcheck.getSubcommand()?.getValue().toUpperCase() !== 'CMD') return undefined;
  const match = /(?:^|\s)CMD\s+([\s\S]*)$/i.exec(healthcheck.getArgumentsContent() ?? '');
  const rest = match?.[1]?.trim() ?? '';
  if (!rest.startsWith('[')) return ['/bin/sh', '-c', rest];
  const words: unknown = JSON.parse(rest);
  if (!Array.isArray(words) || !words.every((w): w is string => typeof w === 'string')) {
    throw new Error(`HEALTHCHECK CMD is not a JSON array of strings: ${rest}`);
  }
  return words;
}

export interface RuntimeStageRules {
  /** The stage must have a HEALTHCHECK with interval, timeout and start period. */
  readonly healthcheck: boolean;
}

/**
 * A stage that becomes an image: runs as a non-root user, in production mode, with an
 * exec-form entry point (so the signals reach Node, not a shell), SIGTERM as stop signal, and
 * a health check where asked.
 */
export function runtimeStageProblems(stage: DockerStage, rules: RuntimeStageRules): string[] {
  const label = `stage ${stageLabel(stage)}`;
  const problems: string[] = [];
  const user = ofKeyword(stage, 'USER').at(-1)?.getArguments()[0]?.getValue();
  if (user === undefined) problems.push(`${label}: no USER (it would run as root)`);
  else if (['root', '0'].includes(user.split(':')[0] ?? '')) {
    problems.push(`${label}: USER ${user} is root`);
  }
  if (stageEnv(stage)['NODE_ENV'] !== 'production') {
    problems.push(`${label}: ENV NODE_ENV is not production`);
  }
  if (ofKeyword(stage, 'WORKDIR').length === 0) problems.push(`${label}: no WORKDIR`);
  const entrypoint = ofKeyword(stage, 'ENTRYPOINT').at(-1);
  if (entrypoint === undefined) problems.push(`${label}: no ENTRYPOINT`);
  for (const instruction of [entrypoint, ofKeyword(stage, 'CMD').at(-1)]) {
    if (instruction !== undefined && execForm(instruction) === undefined) {
      problems.push(`${label}: ${instruction.getKeyword()} is not in exec form (JSON array)`);
    }
  }
  const stopSignal = ofKeyword(stage, 'STOPSIGNAL').at(-1)?.getArguments()[0]?.getValue();
  if (stopSignal !== undefined && stopSignal !== 'SIGTERM') {
    problems.push(`${label}: STOPSIGNAL ${stopSignal}; the services drain on SIGTERM`);
  }
  if (rules.healthcheck) problems.push(...healthcheckProblems(stage));
  return problems;
}

function healthcheckProblems(stage: DockerStage): string[] {
  const label = `stage ${stageLabel(stage)}`;
  const healthcheck = ofKeyword(stage, 'HEALTHCHECK').at(-1);
  if (!(healthcheck instanceof Healthcheck) || healthcheckCommand(stage) === undefined) {
    return [`${label}: no HEALTHCHECK CMD`];
  }
  const flags = new Set(healthcheck.getFlags().map((f) => f.getName()));
  return ['interval', 'timeout', 'start-period']
    .filter((flag) => !flags.has(flag))
    .map((flag) => `${label}: HEALTHCHECK has no --${flag}`);
}

/** The sources of a COPY (every argument but the destination). */
export function copySources(copy: Copy): string[] {
  const json = copy.getJSONStrings().map((s) => s.getJSONValue());
  const words = json.length > 0 ? json : copy.getArguments().map((a) => a.getValue());
  return words.slice(0, -1);
}

function copies(df: ParsedDockerfile): { stage: DockerStage; copy: Copy }[] {
  return df.stages.flatMap((stage) =>
    stage.instructions.filter((i) => i instanceof Copy).map((copy) => ({ stage, copy })),
  );
}

/** The `--from` value. (dockerfile-ast's getFromFlag() finds it only when it is the sole flag.) */
function fromFlag(copy: Copy): string | undefined {
  return (
    copy
      .getFlags()
      .find((f) => f.getName() === 'from')
      ?.getValue() ?? undefined
  );
}

/** Every `COPY --from=<stage>` names a stage defined before it (by name or number). */
export function copyFromProblems(df: ParsedDockerfile): string[] {
  const problems: string[] = [];
  for (const { stage, copy } of copies(df)) {
    const from = fromFlag(copy);
    if (from === undefined) continue;
    const earlier = df.stages.slice(0, stage.index);
    const found = earlier.some((s) => s.name === from.toLowerCase() || String(s.index) === from);
    if (!found) {
      problems.push(`stage ${stageLabel(stage)}: COPY --from=${from} names no earlier stage`);
    }
  }
  return problems;
}

/** A COPY source as a path from the context root ('' for the root itself). */
function contextPath(source: string): string {
  const cleaned = posix.normalize(source).replace(/^\/+/, '').replace(/\/+$/, '');
  return cleaned === '.' ? '' : cleaned;
}

/**
 * Every source of a COPY from the build context (no `--from`) exists in the repository, is not
 * left out by .dockerignore, and, for a directory, still has files in the context.
 */
export function copySourceProblems(
  df: ParsedDockerfile,
  root: string,
  ignore: readonly IgnorePattern[],
): string[] {
  const problems: string[] = [];
  for (const { stage, copy } of copies(df)) {
    if (fromFlag(copy) !== undefined) continue;
    for (const source of copySources(copy)) {
      const label = `stage ${stageLabel(stage)}: COPY ${source}`;
      if (/[*?[]/.test(source)) {
        problems.push(`${label}: wildcards are not checked; name the paths`);
        continue;
      }
      const path = contextPath(source);
      const absolute = join(root, path);
      if (!existsSync(absolute)) {
        problems.push(`${label}: no such file in the repository`);
      } else if (path !== '' && isExcluded(path, ignore)) {
        problems.push(`${label}: excluded by .dockerignore`);
      } else if (
        statSync(absolute).isDirectory() &&
        contextFiles(root, path, ignore).length === 0
      ) {
        problems.push(`${label}: .dockerignore leaves no file of this directory in the context`);
      }
    }
  }
  return problems;
}

/** One package of the pnpm workspace. */
export interface WorkspacePackage {
  readonly name: string;
  /** Its directory from the repository root, e.g. `services/gateway`. */
  readonly dir: string;
  /** Names of the workspace packages it depends on (dependencies and devDependencies). */
  readonly workspaceDeps: readonly string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readJson(path: string): Record<string, unknown> {
  const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (!isRecord(value)) throw new Error(`${path} is not a JSON object`);
  return value;
}

/** The workspace's packages, from pnpm-workspace.yaml (`dir` and `dir/*` entries). */
export function readWorkspace(root: string): WorkspacePackage[] {
  const config: unknown = parseYaml(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8'));
  const globs = isRecord(config) && Array.isArray(config['packages']) ? config['packages'] : [];
  const dirs = globs
    .filter((g): g is string => typeof g === 'string')
    .flatMap((glob) => {
      if (!glob.endsWith('/*')) return [glob];
      const parent = glob.slice(0, -2);
      if (!existsSync(join(root, parent))) return [];
      return readdirSync(join(root, parent), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => `${parent}/${entry.name}`);
    })
    .filter((dir) => existsSync(join(root, dir, 'package.json')));
  return dirs.map((dir) => {
    const manifest = readJson(join(root, dir, 'package.json'));
    const deps = [manifest['dependencies'], manifest['devDependencies']].flatMap((block) =>
      isRecord(block)
        ? Object.entries(block)
            .filter(([, spec]) => typeof spec === 'string' && spec.startsWith('workspace:'))
            .map(([name]) => name)
        : [],
    );
    const name = manifest['name'];
    return { name: typeof name === 'string' ? name : dir, dir, workspaceDeps: deps };
  });
}

/**
 * `roots` and every workspace package they depend on, transitively, dev dependencies included:
 * turbo's `--filter=<pkg>...` builds all of them.
 */
export function buildClosure(
  workspace: readonly WorkspacePackage[],
  roots: readonly string[],
): WorkspacePackage[] {
  const byName = new Map(workspace.map((p) => [p.name, p]));
  const seen = new Set<string>();
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    for (const dep of byName.get(name)?.workspaceDeps ?? []) visit(dep);
  };
  for (const root of roots) visit(root);
  return workspace.filter((p) => seen.has(p.name));
}

/** The build context paths COPYed before `index` in the stage's instructions. */
function copiedBefore(stage: DockerStage, index: number): Set<string> {
  return new Set(
    stage.instructions
      .slice(0, index)
      .filter((i) => i instanceof Copy)
      .filter((copy) => fromFlag(copy) === undefined)
      .flatMap((copy) => copySources(copy).map(contextPath)),
  );
}

/**
 * The build stage copies what turbo builds: for the images' packages and every workspace
 * package they depend on (dev dependencies included), the manifest before the stage's
 * `pnpm install` (so the install layer survives source edits, and the package gets its
 * node_modules) and the directory before the turbo build.
 */
export function workspaceCopyProblems(
  stage: DockerStage,
  workspace: readonly WorkspacePackage[],
  buildRoots: readonly string[],
): string[] {
  const problems: string[] = [];
  const position = (pattern: RegExp): number => {
    const index = stage.instructions.findIndex(
      (i) => i.getKeyword() === 'RUN' && pattern.test(i.getArgumentsContent() ?? ''),
    );
    return index === -1 ? stage.instructions.length : index;
  };
  const install = position(/\bpnpm\s+install\b/);
  const build = position(/\bturbo\s+run\s+build\b/);
  if (install === stage.instructions.length) problems.push('no RUN pnpm install');
  if (build === stage.instructions.length) problems.push('no RUN turbo run build');
  const manifests = copiedBefore(stage, install);
  const sources = copiedBefore(stage, build);
  for (const root of buildRoots) {
    if (!workspace.some((p) => p.name === root)) problems.push(`no workspace package ${root}`);
  }
  for (const pkg of buildClosure(workspace, buildRoots)) {
    if (!manifests.has(`${pkg.dir}/package.json`)) {
      problems.push(`${pkg.name}: ${pkg.dir}/package.json is not copied before pnpm install`);
    }
    if (!sources.has(pkg.dir)) {
      problems.push(`${pkg.name} is built but ${pkg.dir}/ is not copied before turbo run build`);
    }
  }
  return problems;
}

/** The package directories' build inputs that .dockerignore must keep. */
export function buildInputProblems(
  root: string,
  packages: readonly WorkspacePackage[],
  ignore: readonly IgnorePattern[],
): string[] {
  const problems: string[] = [];
  for (const pkg of packages) {
    const kept = new Set(contextFiles(root, pkg.dir, ignore));
    for (const file of [`${pkg.dir}/package.json`, `${pkg.dir}/tsconfig.build.json`]) {
      if (existsSync(join(root, file)) && !kept.has(file)) {
        problems.push(`${file} is excluded by .dockerignore`);
      }
    }
    if (![...kept].some((f) => f.startsWith(`${pkg.dir}/src/`))) {
      problems.push(`no file of ${pkg.dir}/src is left in the build context`);
    }
  }
  return problems;
}

/** A `pnpm deploy` of the Dockerfile: its flags and the directory it fills. */
export interface DeployCommand {
  /** The words after `pnpm deploy`, without the output directory. */
  readonly args: readonly string[];
  /** The `--filter=` package. */
  readonly filter: string;
  readonly outDir: string;
}

/** The words of every RUN of a stage, split into commands at `&&` and `;`. */
function runCommands(stage: DockerStage): string[][] {
  return ofKeyword(stage, 'RUN').flatMap((run) => {
    const commands: string[][] = [[]];
    for (const word of run.getArguments().map((a) => a.getValue())) {
      if (word === '&&' || word === ';') commands.push([]);
      else commands.at(-1)?.push(word);
    }
    return commands.filter((c) => c.length > 0);
  });
}

/** The `pnpm deploy` commands of a stage, as the tests repeat them. */
export function deployCommands(stage: DockerStage): DeployCommand[] {
  return runCommands(stage)
    .filter((words) => words[0] === 'pnpm' && words[1] === 'deploy')
    .map((words) => {
      const args = words.slice(2);
      const outDir = args.at(-1) ?? '';
      const filter = args.find((a) => a.startsWith('--filter='))?.slice('--filter='.length) ?? '';
      return { args: args.slice(0, -1), filter, outDir };
    });
}

/**
 * The image stage copies what the build stage's `pnpm deploy` made for its package, so the
 * tests that run that deploy output run what the image runs.
 */
export function deployCopyProblems(df: ParsedDockerfile, target: string, pkg: string): string[] {
  const stage = findStage(df, target);
  if (stage === undefined) return [`no stage named ${target}`];
  const fromCopies = stage.instructions
    .filter((i) => i instanceof Copy)
    .filter((c) => fromFlag(c) !== undefined);
  if (fromCopies.length !== 1) {
    return [`stage ${target}: expected one COPY --from, found ${fromCopies.length}`];
  }
  const [copy] = fromCopies;
  const source = copy === undefined ? '' : contextPath(copySources(copy)[0] ?? '');
  const builder = findStage(df, copy === undefined ? '' : (fromFlag(copy) ?? ''));
  const deploy = builder === undefined ? [] : deployCommands(builder);
  const match = deploy.find((d) => contextPath(d.outDir) === source);
  if (match === undefined) {
    return [`stage ${target}: copies /${source}, which no pnpm deploy of its source stage makes`];
  }
  if (match.filter !== pkg)
    return [`stage ${target}: /${source} holds ${match.filter}, not ${pkg}`];
  const problems: string[] = [];
  for (const flag of ['--prod', '--legacy']) {
    if (!match.args.includes(flag)) problems.push(`stage ${target}: pnpm deploy without ${flag}`);
  }
  return problems;
}

/**
 * The build stage uses the pnpm of the root package.json's `packageManager`: corepack (which
 * reads that field) or a global install of exactly that version.
 */
export function pnpmVersionProblems(df: ParsedDockerfile, packageManager: string): string[] {
  const wanted = /^pnpm@(\d+\.\d+\.\d+)/.exec(packageManager)?.[1];
  if (wanted === undefined) return [`packageManager "${packageManager}" is not pnpm@x.y.z`];
  const words = df.stages.flatMap((s) => runCommands(s)).flat();
  if (words.includes('corepack')) return [];
  const installed = words
    .map((w) => /^pnpm@(.+)$/.exec(w)?.[1])
    .filter((v): v is string => v !== undefined);
  if (installed.length === 0) return ['no RUN installs pnpm (npm i -g pnpm@x.y.z or corepack)'];
  return installed
    .filter((v) => v !== wanted)
    .map((v) => `pnpm@${v} is installed, but packageManager pins ${wanted}`);
}
