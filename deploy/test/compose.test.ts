/**
 * docker-compose.yml, checked without a container engine: docker-compose v1 validates it (and
 * each profile with its env file) against its schema, the parsed file is held to the stack's
 * rules (three read-only gateways behind nginx, Redis with AOF and a pub/sub buffer sized for
 * the relay, builds that name real Dockerfile stages), and nginx parses the balancer's
 * configuration.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  brokerProblems,
  buildProblems,
  demoPublisherProblems,
  gatewayProblems,
  interpolate,
  lbProblems,
  parseCompose,
  parseEnvFile,
  redisProblems,
  serviceEnv,
  servicesOfTarget,
  upstreamProblems,
  type ComposeFile,
  type Service,
} from './helpers/compose-checks.js';
import { composeConfig, nginxTest, upstreamsForLocalNginx } from './helpers/compose-tools.js';
import { REPO_ROOT } from './helpers/dockerfile-run.js';

const COMPOSE_TEXT = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
const compose = parseCompose(COMPOSE_TEXT);
const SHARED_CONF = join(REPO_ROOT, 'deploy/nginx/ssehub.conf');
const UPSTREAMS = join(REPO_ROOT, 'deploy/nginx/compose/ssehub-upstreams.conf');
const LISTEN = join(REPO_ROOT, 'deploy/nginx/compose/ssehub-listen.conf');

/** The default stack and the two optional Redis topologies, as the header documents them. */
const MODES = [
  { label: 'default', envFile: undefined, profiles: [], broker: 'REDIS_URL' },
  {
    label: 'cluster',
    envFile: 'deploy/compose/cluster.env',
    profiles: ['cluster'],
    broker: 'REDIS_CLUSTER_NODES',
  },
  {
    label: 'sentinel',
    envFile: 'deploy/compose/sentinel.env',
    profiles: ['sentinel'],
    broker: 'REDIS_SENTINELS',
  },
] as const;

function envOf(envFile: string | undefined): Record<string, string> {
  return envFile === undefined ? {} : parseEnvFile(readFileSync(join(REPO_ROOT, envFile), 'utf8'));
}

/** The gateways' names and public ports (PORT, 8080 by default). */
function gateways(file: ComposeFile): { name: string; port: number }[] {
  return servicesOfTarget(file, 'gateway').map(([name, service]) => ({
    name,
    port: Number(serviceEnv(service, {})['PORT'] ?? 8080),
  }));
}

/** A deep copy of the parsed file with one service replaced. */
function withService(file: ComposeFile, name: string, edit: (s: Service) => Service): ComposeFile {
  const copy = structuredClone(file);
  const service = copy.services[name];
  if (service === undefined) throw new Error(`no service ${name}`);
  return { services: { ...copy.services, [name]: edit(service) } };
}

describe('docker-compose.yml: docker-compose v1 accepts it', () => {
  it.each(MODES)('config -q, $label', ({ envFile, profiles }) => {
    const result = composeConfig({ projectDir: REPO_ROOT, envFile, profiles });
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('and rejects a key that only Compose v2 knows (the check can fail)', () => {
    // `develop` (Compose v2's watch) must not slip into the file: v1 refuses the whole file.
    const text = COMPOSE_TEXT.replace(
      /^ {2}gateway-2:$/m,
      '  gateway-2:\n    develop:\n      watch: []',
    );
    expect(text).not.toBe(COMPOSE_TEXT);
    const result = composeConfig({ projectDir: REPO_ROOT, text });
    expect(result.output).toContain("Unsupported config option for services.gateway-2: 'develop'");
    expect(result.code).not.toBe(0);
  });
});

describe('docker-compose.yml: the stack', () => {
  it('three read-only gateways behind one proxy hop, stopped after their drain', () => {
    expect(gatewayProblems(compose, 3, {})).toEqual([]);
    expect(gateways(compose).map((g) => g.name)).toEqual(['gateway-1', 'gateway-2', 'gateway-3']);
  });

  it.each(MODES)('$label: the gateways and the demo publisher reach a started broker', (mode) => {
    const env = envOf(mode.envFile);
    expect(brokerProblems(compose, env, mode.profiles, mode.broker)).toEqual([]);
    expect(demoPublisherProblems(compose, env, mode.profiles)).toEqual([]);
  });

  it('default: REDIS_URL is redis://redis:6379', () => {
    for (const [, service] of servicesOfTarget(compose, 'gateway')) {
      expect(serviceEnv(service, {})['REDIS_URL']).toBe('redis://redis:6379');
    }
  });

  it('every Redis: pinned 7.x, AOF, a pub/sub buffer limit above the default, a volume', () => {
    expect(redisProblems(compose, REPO_ROOT)).toEqual([]);
  });

  it('nginx >= 1.27.3 publishes 8080 with the shared server config and existing files', () => {
    expect(lbProblems(compose, REPO_ROOT, SHARED_CONF)).toEqual([]);
  });

  it('the upstreams file lists exactly the gateway services on their port', () => {
    expect(upstreamProblems(readFileSync(UPSTREAMS, 'utf8'), gateways(compose))).toEqual([]);
  });

  it('every build names an existing Dockerfile and one of its stages', () => {
    expect(buildProblems(compose, REPO_ROOT)).toEqual([]);
    expect(servicesOfTarget(compose, 'demo-publisher').map(([n]) => n)).toEqual(['demo-publisher']);
  });
});

describe('Compose interpolation, as redone by the checks', () => {
  it('follows Compose: `-` defaults when unset, `:-` also when empty, `$$` is a dollar', () => {
    const env = { SET: 'x', EMPTY: '' };
    expect(interpolate('${SET-d} ${EMPTY-d} ${UNSET-d}', env)).toBe('x  d');
    expect(interpolate('${SET:-d} ${EMPTY:-d} ${UNSET:-d}', env)).toBe('x d d');
    expect(interpolate('$SET ${UNSET} $$SET', env)).toBe('x  $SET');
    expect(parseEnvFile('# c\nA=1\nB=\nC="q w"\n')).toEqual({ A: '1', B: '', C: 'q w' });
  });
});

describe('docker-compose.yml: the checks catch broken files', () => {
  it('a gateway that is writable, trusts no proxy and is killed mid-drain', () => {
    const broken = withService(compose, 'gateway-2', (s) => ({
      ...s,
      read_only: false,
      stop_grace_period: '10s',
      environment: { ...serviceEnv(s, {}), TRUST_PROXY: '0' },
      ports: ['9091:9090', '8081:8080'],
    }));
    expect(gatewayProblems(broken, 3, {})).toEqual([
      'gateway-2: TRUST_PROXY is 0, want >= 1 (nginx)',
      'gateway-2: read_only is not true',
      'gateway-2: stop_grace_period 10s is not longer than SHUTDOWN_GRACE_MS 25000',
      'gateway-2: publishes port 9090 beyond 127.0.0.1',
      'gateway-2: publishes its public port 8080',
    ]);
  });

  it("Redis with the default pub/sub limit and no AOF; a broker host that isn't started", () => {
    const flat = withService(compose, 'redis', (s) => ({
      ...s,
      command: [
        'redis-server',
        '/usr/local/etc/redis/redis.conf',
        '--appendonly',
        'no',
        '--client-output-buffer-limit',
        'pubsub',
        '32mb',
        '8mb',
        '60',
      ],
    }));
    // The file still says `appendonly yes`; the flags after it win, as in redis-server.
    expect(redisProblems(flat, REPO_ROOT)).toEqual([
      'redis: appendonly is not yes',
      'redis: client-output-buffer-limit pubsub "32mb 8mb" is not above the default 32mb 8mb',
    ]);
    // The cluster env file without the cluster profile: the nodes are not started.
    expect(
      brokerProblems(compose, envOf('deploy/compose/cluster.env'), [], 'REDIS_CLUSTER_NODES'),
    ).toContain('gateway-1: REDIS_CLUSTER_NODES names redis-cluster-1, not a started service');
  });

  it('an upstreams file that misses a gateway, uses another port or does not re-resolve', () => {
    const text = readFileSync(UPSTREAMS, 'utf8')
      .replace(/^server gateway-3:8080.*$/m, '')
      .replace('gateway-2:8080 max_fails=1 fail_timeout=5s resolve', 'gateway-2:9090');
    expect(upstreamProblems(text, gateways(compose))).toEqual([
      'upstream servers gateway-1, gateway-2; gateway services gateway-1, gateway-2, gateway-3',
      'gateway-2: upstream port 9090, gateway PORT 8080',
      'gateway-2: no `resolve`',
    ]);
  });

  it('a balancer on an old nginx with a missing file, a build target that does not exist', () => {
    const lb = withService(compose, 'lb', (s) => ({
      ...s,
      image: 'nginx:1.26.3-alpine',
      volumes: ['./deploy/nginx/missing.conf:/etc/nginx/conf.d/default.conf:ro'],
    }));
    expect(lbProblems(lb, REPO_ROOT, SHARED_CONF)).toEqual([
      'lb: nginx older than 1.27.3 has no upstream `resolve`',
      `lb: mounts ${join(REPO_ROOT, 'deploy/nginx/missing.conf')}, which does not exist`,
      `lb: /etc/nginx/conf.d/default.conf is ${join(REPO_ROOT, 'deploy/nginx/missing.conf')}, not ${SHARED_CONF}`,
      'lb: nothing mounted at /etc/nginx/ssehub-upstreams.conf',
      'lb: nothing mounted at /etc/nginx/ssehub-listen.conf',
    ]);
    const build = withService(compose, 'demo-publisher', (s) => ({
      ...s,
      build: { context: '.', dockerfile: 'services/gateway/Dockerfile', target: 'no-such-stage' },
    }));
    expect(buildProblems(build, REPO_ROOT)).toEqual([
      `demo-publisher: no-such-stage is not a stage of ${join(REPO_ROOT, 'services/gateway/Dockerfile')}`,
    ]);
    // The demo publisher's stage has no HEALTHCHECK for a timings-only healthcheck to inherit.
    const health = withService(compose, 'demo-publisher', (s) => ({
      ...s,
      healthcheck: { interval: '5s' },
    }));
    expect(buildProblems(health, REPO_ROOT)).toEqual([
      'demo-publisher: healthcheck has no test and stage demo-publisher has no HEALTHCHECK',
    ]);
  });
});

describe('the balancer configuration parses (nginx -t)', () => {
  // The shared ssehub.conf and the listen file verbatim; the upstreams file rewritten for this
  // machine's nginx 1.22 (no `resolve`, no `gateway-N` names), see upstreamsForLocalNginx.
  const files = (upstreams: string) => ({
    'ssehub.conf': { copy: SHARED_CONF },
    'ssehub-listen.conf': { copy: LISTEN },
    'ssehub-upstreams.conf': upstreams,
  });

  it('ssehub.conf with the compose upstreams and listen files', () => {
    const upstreams = upstreamsForLocalNginx(readFileSync(UPSTREAMS, 'utf8'));
    // The rewrite touches only what nginx 1.22 cannot parse here.
    const directives = upstreams
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .join('\n');
    expect(directives).not.toMatch(/gateway-\d|resolve/);
    expect(upstreams).toMatch(/^zone ssehub_gateways /m);
    expect(
      upstreams.match(/^server 127\.0\.0\.1:8080 max_fails=1 fail_timeout=5s;$/gm),
    ).toHaveLength(3);
    const result = nginxTest(files(upstreams), 'ssehub.conf');
    expect(result.output).toContain('test is successful');
    expect(result.code).toBe(0);
  });

  it('and nginx -t fails on a broken upstreams file (the check can fail)', () => {
    const result = nginxTest(files('server 127.0.0.1:8080 no_such_parameter;\n'), 'ssehub.conf');
    expect(result.output).toContain('invalid parameter');
    expect(result.code).not.toBe(0);
  });
});
