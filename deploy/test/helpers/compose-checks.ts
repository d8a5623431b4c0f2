/**
 * Policy checks of docker-compose.yml, on the parsed YAML (merge keys applied) with Compose's
 * variable interpolation redone here, so that each profile's env file can be checked too. Each
 * check returns the problems it found (empty when all is well); the negative tests run the
 * same functions on mutated copies.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { findStage, healthcheckCommand, parseDockerfile } from './dockerfile-checks.js';

export type Service = Readonly<Record<string, unknown>>;

export interface ComposeFile {
  readonly services: Readonly<Record<string, Service>>;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** docker-compose.yml as Compose reads it: YAML merge keys (`<<: *gateway`) applied. */
export function parseCompose(text: string): ComposeFile {
  const doc: unknown = parseYaml(text, { merge: true });
  if (!isRecord(doc) || !isRecord(doc['services'])) throw new Error('no services: mapping');
  const services: Record<string, Service> = {};
  for (const [name, service] of Object.entries(doc['services'])) {
    if (!isRecord(service)) throw new Error(`service ${name} is not a mapping`);
    services[name] = service;
  }
  return { services };
}

/** An env file (`KEY=value` lines, `#` comments), as `docker compose --env-file` reads it. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (match === null || line.trimStart().startsWith('#')) continue;
    const [, key = '', raw = ''] = match;
    env[key] = raw.trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

/**
 * Compose's interpolation: `$$` is a `$`; `${VAR}` and `$VAR`; `${VAR-default}` (default when
 * unset) and `${VAR:-default}` (default when unset or empty).
 */
export function interpolate(value: string, env: Readonly<Record<string, string>>): string {
  const reference =
    /\$\$|\$\{(?<braced>[A-Za-z_]\w*)(?:(?<op>:?-)(?<fallback>[^}]*))?\}|\$(?<bare>[A-Za-z_]\w*)/g;
  return value.replace(reference, (...args: unknown[]) => {
    // The last argument of a replacer is the named groups object.
    const groups = args.at(-1);
    if (args[0] === '$$' || !isRecord(groups)) return '$';
    const text = (key: string): string | undefined =>
      typeof groups[key] === 'string' ? groups[key] : undefined;
    const current = env[text('braced') ?? text('bare') ?? ''];
    const fallback = text('fallback') ?? '';
    if (text('op') === '-' && current === undefined) return fallback;
    if (text('op') === ':-' && (current === undefined || current === '')) return fallback;
    return current ?? '';
  });
}

/** A service's `environment` (mapping or `KEY=value` list), interpolated with `env`. */
export function serviceEnv(service: Service, env: Readonly<Record<string, string>>) {
  const raw = service['environment'];
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const item of raw) {
      if (typeof item !== 'string') continue;
      const [key = '', ...rest] = item.split('=');
      out[key] = interpolate(rest.join('='), env);
    }
  } else if (isRecord(raw)) {
    for (const [key, value] of Object.entries(raw)) {
      out[key] = interpolate(scalar(value), env);
    }
  }
  return out;
}

/** A Compose duration (`35s`, `1m30s`, `500ms`) in milliseconds; NaN when unreadable. */
export function durationMs(value: unknown): number {
  if (typeof value === 'number') return value * 1000;
  if (typeof value !== 'string' || !/^(\d+(\.\d+)?(us|ms|s|m|h))+$/.test(value)) return NaN;
  const unit: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const [, amount = '0', , name = 's'] of value.matchAll(/(\d+(\.\d+)?)(us|ms|s|m|h)/g)) {
    total += Number(amount) * (unit[name] ?? NaN);
  }
  return total;
}

/** A scalar as Compose reads it (`PORT: 8080` and `PORT: '8080'` alike); '' for anything else. */
export function scalar(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : '';
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The services a build target makes, in name order. */
export function servicesOfTarget(compose: ComposeFile, target: string): [string, Service][] {
  return Object.entries(compose.services)
    .filter(([, s]) => isRecord(s['build']) && s['build']['target'] === target)
    .sort(([a], [b]) => a.localeCompare(b));
}

/** Services that `up` starts with these profiles active (no `profiles:` means always). */
export function activeServices(compose: ComposeFile, profiles: readonly string[]): Set<string> {
  return new Set(
    Object.entries(compose.services)
      .filter(([, s]) => {
        const own = strings(s['profiles']);
        return own.length === 0 || own.some((p) => profiles.includes(p));
      })
      .map(([name]) => name),
  );
}

/** `depends_on` as a list of service names (list or mapping form). */
export function dependsOn(service: Service): string[] {
  const raw = service['depends_on'];
  return isRecord(raw) ? Object.keys(raw) : strings(raw);
}

/** A published port (`[ip:]host:container[/proto]`, short syntax). */
export interface PublishedPort {
  readonly ip: string | undefined;
  readonly host: number;
  readonly container: number;
}

export function publishedPorts(service: Service): PublishedPort[] {
  return strings(service['ports']).flatMap((spec) => {
    const parts = spec.replace(/\/(tcp|udp)$/, '').split(':');
    const container = Number(parts.at(-1));
    const host = parts.length >= 2 ? Number(parts.at(-2)) : NaN;
    const ip = parts.length === 3 ? parts[0] : undefined;
    return Number.isFinite(host) ? [{ ip, host, container }] : [];
  });
}

/** A bind mount (short syntax) with its source resolved against the compose file's folder. */
export interface BindMount {
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
}

export function bindMounts(service: Service, composeDir: string): BindMount[] {
  return strings(service['volumes']).flatMap((spec) => {
    const [source = '', target = '', mode = ''] = spec.split(':');
    if (!source.startsWith('.') && !isAbsolute(source)) return []; // a named volume
    const resolved = isAbsolute(source) ? source : join(composeDir, source);
    return [{ source: resolved, target, readOnly: mode.split(',').includes('ro') }];
  });
}

function hostOf(address: string): string {
  return address.split(':')[0] ?? '';
}

// --- gateways ---------------------------------------------------------------------------

/** The gateway's SHUTDOWN_GRACE_MS default (SPEC 10). */
export const DEFAULT_SHUTDOWN_GRACE_MS = 25_000;

/**
 * The gateway replicas: exactly `count`, each trusting the balancer's one hop, read-only,
 * given longer than the drain to stop, health-checked, and with no public or admin port
 * published beyond the host's loopback (clients come through the balancer).
 */
export function gatewayProblems(
  compose: ComposeFile,
  count: number,
  env: Readonly<Record<string, string>>,
): string[] {
  const gateways = servicesOfTarget(compose, 'gateway');
  const problems: string[] = [];
  if (gateways.length !== count) {
    problems.push(`${gateways.length} gateway services (build target gateway), want ${count}`);
  }
  const images = new Set(gateways.map(([, s]) => s['image']));
  if (images.size !== 1 || typeof [...images][0] !== 'string') {
    problems.push('the gateway services do not share one image: name');
  }
  for (const [name, service] of gateways) {
    const vars = serviceEnv(service, env);
    const trust = Number(vars['TRUST_PROXY']);
    if (!Number.isInteger(trust) || trust < 1) {
      problems.push(`${name}: TRUST_PROXY is ${vars['TRUST_PROXY'] ?? 'unset'}, want >= 1 (nginx)`);
    }
    if (service['read_only'] !== true) problems.push(`${name}: read_only is not true`);
    const grace = Number(vars['SHUTDOWN_GRACE_MS'] ?? DEFAULT_SHUTDOWN_GRACE_MS);
    const stop = durationMs(service['stop_grace_period']);
    if (!(stop > grace)) {
      problems.push(
        `${name}: stop_grace_period ${scalar(service['stop_grace_period'])} is not longer than SHUTDOWN_GRACE_MS ${grace}`,
      );
    }
    const health = service['healthcheck'];
    if (!isRecord(health) || health['disable'] === true) {
      problems.push(`${name}: no healthcheck`);
    }
    const port = Number(vars['PORT'] ?? 8080);
    for (const p of publishedPorts(service)) {
      if (p.container === port) problems.push(`${name}: publishes its public port ${port}`);
      else if (p.ip !== '127.0.0.1') {
        problems.push(`${name}: publishes port ${p.container} beyond 127.0.0.1`);
      }
    }
  }
  return problems;
}

/** The one broker setting of a set of gateway variables, with the hosts it names. */
function brokerOf(vars: Readonly<Record<string, string>>): { setting: string; hosts: string[] }[] {
  const given = (key: string): boolean => (vars[key] ?? '') !== '';
  const found: { setting: string; hosts: string[] }[] = [];
  const url = vars['REDIS_URL'] ?? '';
  if (given('REDIS_URL')) {
    found.push({ setting: 'REDIS_URL', hosts: URL.canParse(url) ? [new URL(url).hostname] : [] });
  }
  for (const key of ['REDIS_CLUSTER_NODES', 'REDIS_SENTINELS']) {
    if (given(key)) found.push({ setting: key, hosts: (vars[key] ?? '').split(',').map(hostOf) });
  }
  return found;
}

/**
 * With the variables of `env` (an env file, or none), every gateway uses exactly one broker
 * setting, `want`, whose hosts are services that `up` starts with these profiles; the
 * Sentinel master name is the one the sentinels monitor.
 */
export function brokerProblems(
  compose: ComposeFile,
  env: Readonly<Record<string, string>>,
  profiles: readonly string[],
  want: 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_SENTINELS',
): string[] {
  const active = activeServices(compose, profiles);
  const problems: string[] = [];
  for (const [name, service] of servicesOfTarget(compose, 'gateway')) {
    const vars = serviceEnv(service, env);
    const brokers = brokerOf(vars);
    if (brokers.length !== 1 || brokers[0]?.setting !== want) {
      problems.push(`${name}: broker settings ${JSON.stringify(brokers)}, want only ${want}`);
      continue;
    }
    for (const host of brokers[0].hosts) {
      if (!active.has(host)) problems.push(`${name}: ${want} names ${host}, not a started service`);
    }
    if (want === 'REDIS_SENTINELS') {
      const master = vars['REDIS_SENTINEL_NAME'] ?? '';
      const monitored = [...active].some((s) =>
        strings(compose.services[s]?.['command']).some((w) =>
          w.includes(`sentinel monitor ${master} `),
        ),
      );
      if (master === '' || !monitored) {
        problems.push(`${name}: REDIS_SENTINEL_NAME "${master}" is monitored by no sentinel`);
      }
    }
  }
  return problems;
}

// --- Redis --------------------------------------------------------------------------------

/** Redis's size units: k/m/g are powers of 1000, kb/mb/gb powers of 1024. */
export function redisBytes(value: string): number {
  const match = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(value);
  if (match === null) return NaN;
  const units: Record<string, number> = {
    '': 1,
    k: 1e3,
    kb: 1024,
    m: 1e6,
    mb: 1024 ** 2,
    g: 1e9,
    gb: 1024 ** 3,
  };
  return Number(match[1]) * (units[(match[2] ?? '').toLowerCase()] ?? NaN);
}

/** Words of a redis.conf line, `"…"` and `'…'` quoting kept together. */
function configWords(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

/** A Redis server's options: every (directive, arguments) in order, file first, then flags. */
export type RedisOptions = readonly (readonly [string, readonly string[]])[];

/**
 * What a `redis-server [config-file] [--name args…]` command sets. The config file is read
 * from the bind mount that provides it (a file that only exists inside the image is a problem).
 */
export function redisServerOptions(
  service: Service,
  composeDir: string,
): { options: RedisOptions; problems: string[] } {
  const command = strings(service['command']);
  const words = command.length === 1 ? (command[0] ?? '').split(/\s+/) : command;
  const options: [string, string[]][] = [];
  const problems: string[] = [];
  let rest = words.slice(1);
  const file = rest[0];
  if (file !== undefined && !file.startsWith('--')) {
    rest = rest.slice(1);
    const mount = bindMounts(service, composeDir).find((m) => m.target === file);
    if (mount === undefined || !existsSync(mount.source)) {
      problems.push(`${file} is not a bind-mounted file of the repository`);
    } else {
      for (const line of readFileSync(mount.source, 'utf8').split(/\r?\n/)) {
        const [name, ...args] = configWords(line.trim());
        if (name !== undefined && !name.startsWith('#')) options.push([name.toLowerCase(), args]);
      }
    }
  }
  for (const word of rest) {
    if (word.startsWith('--')) options.push([word.slice(2).toLowerCase(), []]);
    else options.at(-1)?.[1].push(word);
  }
  return { options, problems };
}

/** The last value of a directive, or of one class of client-output-buffer-limit. */
function lastOption(options: RedisOptions, name: string, first?: string): readonly string[] {
  const matching = options.filter(
    ([n, args]) => n === name && (first === undefined || args[0] === first),
  );
  return matching.at(-1)?.[1] ?? [];
}

/** Redis's default pub/sub limit, `pubsub 32mb 8mb 60`, in bytes. */
export const DEFAULT_PUBSUB_LIMIT = { hard: 32 * 1024 ** 2, soft: 8 * 1024 ** 2 } as const;

/**
 * Every redis-server of the file (not sentinels, not one-shot shells): a pinned Redis 7 image
 * (sharded pub/sub), AOF persistence, and a pub/sub output buffer limit above Redis's default,
 * which would disconnect a gateway's subscriber during a burst.
 */
export function redisProblems(compose: ComposeFile, composeDir: string): string[] {
  const problems: string[] = [];
  const servers = Object.entries(compose.services).filter(
    ([, s]) => strings(s['command'])[0]?.startsWith('redis-server') === true,
  );
  if (servers.length === 0) problems.push('no redis-server service');
  for (const [name, service] of servers) {
    const image = scalar(service['image']);
    if (!/^redis:7\.\d+\.\d+([-.][\w.-]+)?$/.test(image)) {
      problems.push(`${name}: image ${image} is not a pinned redis:7.x.y`);
    }
    const { options, problems: read } = redisServerOptions(service, composeDir);
    problems.push(...read.map((p) => `${name}: ${p}`));
    if (lastOption(options, 'appendonly')[0] !== 'yes') {
      problems.push(`${name}: appendonly is not yes`);
    }
    const [, hard = '', soft = ''] = lastOption(options, 'client-output-buffer-limit', 'pubsub');
    // 0 means no limit.
    const bytes = (v: string): number => (redisBytes(v) === 0 ? Infinity : redisBytes(v));
    if (!(bytes(hard) > DEFAULT_PUBSUB_LIMIT.hard && bytes(soft) > DEFAULT_PUBSUB_LIMIT.soft)) {
      problems.push(
        `${name}: client-output-buffer-limit pubsub "${hard} ${soft}" is not above the default 32mb 8mb`,
      );
    }
    const health = service['healthcheck'];
    const test = isRecord(health) ? strings(health['test']).join(' ') : '';
    if (!/redis-cli.*ping/.test(test)) problems.push(`${name}: no redis-cli ping healthcheck`);
    const volumes = strings(service['volumes']);
    if (!volumes.some((v) => v.split(':')[1] === '/data')) {
      problems.push(`${name}: no volume on /data (the AOF would not survive the container)`);
    }
  }
  return problems;
}

// --- load balancer --------------------------------------------------------------------------

/** Compares dotted versions: negative when a < b. */
function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** The first nginx with `resolve` on upstream servers (and `resolver` in an upstream block). */
export const NGINX_RESOLVE_SINCE = [1, 27, 3] as const;

/** The relative files ssehub.conf includes (resolved against nginx's conf directory). */
export function nginxIncludes(conf: string): string[] {
  return [...conf.matchAll(/^\s*include\s+([^\s;]+)\s*;/gm)]
    .map((m) => m[1] ?? '')
    .filter((f) => !f.startsWith('/'));
}

/**
 * The balancer: a pinned nginx new enough for `resolve`, publishing 8080, with the shared
 * server configuration as the default server and the files it includes next to nginx.conf,
 * every mounted file present in the repository, started after the gateways.
 */
export function lbProblems(compose: ComposeFile, composeDir: string, sharedConf: string): string[] {
  const balancers = Object.entries(compose.services).filter(([, s]) =>
    scalar(s['image']).startsWith('nginx:'),
  );
  if (balancers.length !== 1) return [`${balancers.length} nginx services, want 1`];
  const [[name, service] = ['', {}]] = balancers;
  const problems: string[] = [];
  const tag = /^nginx:(\d+)\.(\d+)\.(\d+)/.exec(scalar(service['image']));
  if (tag === null) problems.push(`${name}: image ${scalar(service['image'])} is not pinned`);
  else if (compareVersions(tag.slice(1).map(Number), NGINX_RESOLVE_SINCE) < 0) {
    problems.push(`${name}: nginx older than 1.27.3 has no upstream \`resolve\``);
  }
  if (!publishedPorts(service).some((p) => p.host === 8080 && p.container === 8080)) {
    problems.push(`${name}: does not publish 8080:8080`);
  }
  const mounts = bindMounts(service, composeDir);
  for (const m of mounts.filter((mount) => !existsSync(mount.source))) {
    problems.push(`${name}: mounts ${m.source}, which does not exist`);
  }
  const wanted = [
    { target: '/etc/nginx/conf.d/default.conf', source: sharedConf },
    ...nginxIncludes(readFileSync(sharedConf, 'utf8')).map((f) => ({
      target: posix.join('/etc/nginx', f),
      source: undefined,
    })),
  ];
  for (const w of wanted) {
    const mount = mounts.find((m) => m.target === w.target);
    if (mount === undefined) problems.push(`${name}: nothing mounted at ${w.target}`);
    else if (w.source !== undefined && mount.source !== w.source) {
      problems.push(`${name}: ${w.target} is ${mount.source}, not ${w.source}`);
    }
  }
  const deps = dependsOn(service);
  for (const [gateway] of servicesOfTarget(compose, 'gateway')) {
    if (!deps.includes(gateway)) problems.push(`${name}: does not depend on ${gateway}`);
  }
  return problems;
}

/** The `server` lines of an upstreams file. */
export function upstreamServers(text: string): { host: string; port: number; params: string[] }[] {
  return [...text.matchAll(/^\s*server\s+([^\s;]+)([^;]*);/gm)].map((m) => {
    const address = m[1] ?? '';
    const [host = '', port = '80'] = address.split(':');
    return { host, port: Number(port), params: (m[2] ?? '').trim().split(/\s+/) };
  });
}

/**
 * The upstreams file lists exactly the gateway services on their public port, each re-resolved
 * (`resolve`, with the `zone` and `resolver` that needs).
 */
export function upstreamProblems(
  text: string,
  gateways: readonly { name: string; port: number }[],
) {
  const servers = upstreamServers(text);
  const problems: string[] = [];
  const listed = servers.map((s) => s.host).sort();
  const names = gateways.map((g) => g.name).sort();
  if (JSON.stringify(listed) !== JSON.stringify(names)) {
    problems.push(`upstream servers ${listed.join(', ')}; gateway services ${names.join(', ')}`);
  }
  for (const server of servers) {
    const gateway = gateways.find((g) => g.name === server.host);
    if (gateway !== undefined && gateway.port !== server.port) {
      problems.push(`${server.host}: upstream port ${server.port}, gateway PORT ${gateway.port}`);
    }
    if (!server.params.includes('resolve')) problems.push(`${server.host}: no \`resolve\``);
  }
  if (!/^\s*zone\s+\S+/m.test(text)) problems.push('no `zone` (needed by `resolve`)');
  if (!/^\s*resolver\s+127\.0\.0\.11\b/m.test(text)) {
    problems.push("no `resolver 127.0.0.11` (Docker's DNS)");
  }
  return problems;
}

// --- images -------------------------------------------------------------------------------

/**
 * Every `build:` names a Dockerfile that exists and, when it has one, a stage of it; a
 * healthcheck that only sets timings has a HEALTHCHECK in that stage to inherit.
 */
export function buildProblems(compose: ComposeFile, composeDir: string): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(compose.services)) {
    const build = service['build'];
    if (build === undefined) continue;
    const spec = isRecord(build) ? build : { context: build };
    const context = join(composeDir, scalar(spec['context'] ?? '.'));
    const dockerfile = join(context, scalar(spec['dockerfile'] ?? 'Dockerfile'));
    if (!existsSync(dockerfile)) {
      problems.push(`${name}: ${dockerfile} does not exist`);
      continue;
    }
    const parsed = parseDockerfile(readFileSync(dockerfile, 'utf8'));
    const target = scalar(spec['target']);
    const stage = target === '' ? parsed.stages.at(-1) : findStage(parsed, target);
    if (stage === undefined) {
      problems.push(`${name}: ${target} is not a stage of ${dockerfile}`);
      continue;
    }
    // A healthcheck without `test` only retimes the image's HEALTHCHECK: there must be one.
    const health = service['healthcheck'];
    const inherits = isRecord(health) && health['test'] === undefined && health['disable'] !== true;
    if (inherits && healthcheckCommand(stage) === undefined) {
      problems.push(`${name}: healthcheck has no test and stage ${target} has no HEALTHCHECK`);
    }
  }
  return problems;
}

/** The demo publisher: built from its target, publishing to a Redis or gateway service. */
export function demoPublisherProblems(
  compose: ComposeFile,
  env: Readonly<Record<string, string>>,
  profiles: readonly string[],
): string[] {
  const publishers = servicesOfTarget(compose, 'demo-publisher');
  if (publishers.length !== 1) return [`${publishers.length} demo-publisher services, want 1`];
  const [[name, service] = ['', {}]] = publishers;
  const vars = serviceEnv(service, env);
  const active = activeServices(compose, profiles);
  const target = (vars['REDIS_URL'] ?? '') !== '' ? vars['REDIS_URL'] : vars['GATEWAY_URL'];
  if (target === undefined || target === '' || !URL.canParse(target)) {
    return [`${name}: neither REDIS_URL nor GATEWAY_URL is a URL`];
  }
  const host = new URL(target).hostname;
  return active.has(host) ? [] : [`${name}: publishes to ${host}, not a started service`];
}
