/**
 * Offline checks of the Kubernetes manifests in k8s/ (SPEC.md 11): each overlay is rendered once
 * with `kubectl kustomize`, every object is validated against the Kubernetes schema of its kind
 * (kubernetes-models; the ServiceMonitor by hand), and the deployment rules of
 * helpers/k8s-policy.ts are applied to what `kubectl apply -k` would send. The last block feeds
 * the same rules broken copies, so a rule that can no longer fail is noticed.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as policy from './helpers/k8s-policy.js';
import { kustomize, readManifests, type KubeObject, type Render } from './helpers/kustomize.js';

const K8S = fileURLToPath(new URL('../../k8s/', import.meta.url));
const EXAMPLES = join(K8S, 'examples');

const OVERLAYS = ['dev', 'prod'] as const;
type Overlay = (typeof OVERLAYS)[number];

const renders = new Map<Overlay, Render | Error>();

beforeAll(async () => {
  // One render per overlay for the whole file; the checks only read it (negative tests clone).
  // A failed render (no kubectl, a broken kustomization) is kept and thrown by every test that
  // needs it, so each reports as failed with the reason instead of being skipped.
  await Promise.all(
    OVERLAYS.map(async (overlay) => {
      renders.set(
        overlay,
        await kustomize(join(K8S, 'overlays', overlay)).catch((err: unknown) =>
          err instanceof Error ? err : new Error(String(err)),
        ),
      );
    }),
  );
});

function renderOf(overlay: Overlay): Render {
  const render = renders.get(overlay);
  if (render === undefined) throw new Error(`k8s/overlays/${overlay} was not rendered`);
  if (render instanceof Error) throw render;
  return render;
}

function rendered(overlay: Overlay): KubeObject[] {
  return renderOf(overlay).objects;
}

async function exampleObjects(): Promise<KubeObject[]> {
  const files = (await readdir(EXAMPLES)).filter((f) => /\.ya?ml$/.test(f)).sort();
  return (await Promise.all(files.map((f) => readManifests(join(EXAMPLES, f))))).flat();
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`missing: ${what}`);
  return value;
}

/**
 * Values for the Secrets the operator creates, so the gateway's own config parser can run over
 * the prod settings offline: the shape of a real value, not a real one.
 */
const SECRET_PLACEHOLDERS: Readonly<Record<string, string>> = {
  REDIS_URL: 'rediss://:placeholder@redis.example.com:6380',
};

/** The settings as the container sees them, Secrets replaced by placeholders. */
function environmentOf(objects: readonly KubeObject[]): Record<string, string> {
  const gateway = must(policy.gatewayPod(objects), 'the gateway Deployment');
  const env = policy.containerEnv(objects, gateway.container);
  expect(env.problems).toEqual([]);
  const result: Record<string, string> = {};
  for (const [name, source] of env.vars) {
    if (source.from === 'value') result[name] = source.value;
    // An optional Secret (ADMIN_TOKEN) may well be absent: leave it out, as the kubelet does.
    else if (source.from === 'secret' && !source.optional)
      result[name] = SECRET_PLACEHOLDERS[name] ?? 'placeholder';
  }
  return result;
}

/** Rules that hold for every overlay. */
const SHARED_RULES: readonly { readonly rule: string; readonly check: policy.Check }[] = [
  {
    rule: 'readiness on /readyz and liveness on /healthz, over the admin port',
    check: policy.probesOnAdminPort,
  },
  { rule: 'the Deployment leaves replicas to the HPA', check: policy.noReplicasField },
  {
    rule: 'the HPA targets the Deployment, min 3, on ssehub_connections per pod and CPU',
    check: policy.autoscaler,
  },
  {
    rule: 'terminationGracePeriodSeconds > preStop + SHUTDOWN_GRACE_MS + 5 s',
    check: policy.gracePeriodCoversDrain,
  },
  {
    rule: 'every container is non-root, read-only, without privilege escalation or capabilities',
    check: policy.restrictedSecurity,
  },
  {
    rule: 'every container requests cpu and memory and has a memory limit',
    check: policy.resourcesSet,
  },
  {
    rule: 'the V8 heap cap leaves room under the memory limit',
    check: policy.heapCapBelowMemoryLimit,
  },
  {
    rule: 'rolling updates never go below capacity (maxUnavailable 0)',
    check: policy.rollingUpdateKeepsCapacity,
  },
  {
    rule: 'the pod gets TRUST_PROXY >= 1, MAX_CONNECTION_AGE_MS 900000, keep-alive > heartbeat, matching ports',
    check: policy.gatewaySettings,
  },
  { rule: 'the PodDisruptionBudget selects the gateway pods', check: policy.disruptionBudget },
  {
    rule: 'both Services select the gateway pods and target declared container ports',
    check: policy.servicesMatchPods,
  },
  {
    rule: 'NetworkPolicy: the admin port only from in-cluster pods, the http port from anywhere',
    check: policy.adminPortInClusterOnly,
  },
  { rule: 'every image is pinned to a tag', check: policy.imagesPinned },
  { rule: 'the gateway pods spread softly across nodes', check: policy.spreadAcrossNodes },
];

describe.each(OVERLAYS)('k8s/overlays/%s', (overlay) => {
  it('renders without kustomize warnings', () => {
    expect(renderOf(overlay).warnings).toBe('');
  });

  it('every object validates against the schema of its kind', () => {
    const objects = rendered(overlay);
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.flatMap((o) => policy.validateSchema(o))).toEqual([]);
  });

  for (const { rule, check } of SHARED_RULES) {
    it(rule, () => {
      expect(check(rendered(overlay))).toEqual([]);
    });
  }

  it('gives the gateway only settings it reads', async () => {
    const { loadConfig } = await import('@ssehub/gateway');
    // Every setting's variable is its camelCase name in upper snake case (config/settings.ts envName);
    // `auth` is the one setting fed by three variables.
    const known = new Set(
      Object.keys(loadConfig({}))
        .filter((key) => key !== 'auth')
        .map((key) => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()),
    );
    for (const name of ['AUTH_JWT_SECRET', 'AUTH_JWT_PUBLIC_KEY', 'AUTH_JWKS_URL']) known.add(name);
    expect(known).toContain('MAX_CONNECTION_AGE_MS');
    expect(policy.unknownSettings(rendered(overlay), known)).toEqual([]);
  });

  it('the gateway`s own config parser accepts the settings, with Redis and a trusted proxy', async () => {
    const { loadConfig } = await import('@ssehub/gateway');
    const config = loadConfig(environmentOf(rendered(overlay)));
    expect(config.redisUrl).toMatch(/^rediss?:\/\//);
    expect(config.trustProxy).toBeGreaterThanOrEqual(1);
    expect(config.maxConnectionAgeMs).toBe(900_000);
    expect(config.keepAliveTimeoutMs).toBeGreaterThan(config.heartbeatMs);
    expect(config.nodeEnv).toBe('production');
  });
});

describe('k8s/overlays/dev', () => {
  it('runs Redis 7 as a StatefulSet with appendonly and a raised pubsub buffer, and REDIS_URL points at its Service', () => {
    expect(policy.devRedis(rendered('dev'))).toEqual([]);
  });
});

describe('k8s/overlays/prod', () => {
  it('takes REDIS_URL from the Secret ssehub-redis (secretKeyRef), never as a plain value', () => {
    expect(policy.prodRedisFromSecret(rendered('prod'))).toEqual([]);
  });

  it('has a ServiceMonitor selecting the admin Service and its admin port', () => {
    expect(policy.serviceMonitorScrapesAdmin(rendered('prod'))).toEqual([]);
  });
});

describe('k8s/examples', () => {
  it('every object validates against the schema of its kind', async () => {
    const objects = await exampleObjects();
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.flatMap((o) => policy.validateSchema(o))).toEqual([]);
  });

  it.each(OVERLAYS)(
    'ingress-nginx.yaml suits SSE and routes to the public Service of %s',
    async (overlay) => {
      const ingress = await readManifests(join(EXAMPLES, 'ingress-nginx.yaml'));
      expect(policy.ingressForSse(ingress, rendered(overlay))).toEqual([]);
    },
  );
});

/** A broken copy of a render and the rule that must catch it. */
interface Breakage {
  readonly breakage: string;
  readonly overlay: Overlay;
  readonly check: policy.Check;
  readonly breakIt: (objects: KubeObject[]) => void;
  readonly reported: RegExp;
}

function gatewayOf(objects: readonly KubeObject[]): policy.GatewayPod {
  return must(policy.gatewayPod(objects), 'the gateway Deployment');
}

function byKind(objects: readonly KubeObject[], kind: string, name?: string): KubeObject {
  return must(
    objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name)),
    `${kind} ${name ?? ''}`,
  );
}

/** Sets a nested field of a plain object, creating the path: for breaking copies only. */
function setField(target: object, path: readonly string[], value: unknown): void {
  let current = target as Record<string, unknown>;
  for (const key of path.slice(0, -1)) {
    const next = current[key];
    if (typeof next !== 'object' || next === null)
      throw new Error(`no ${key} on the way to ${path.join('.')}`);
    current = next as Record<string, unknown>;
  }
  current[must(path.at(-1), 'path')] = value;
}

const BREAKAGES: readonly Breakage[] = [
  {
    breakage: 'a Deployment with replicas: 3',
    overlay: 'prod',
    check: policy.noReplicasField,
    breakIt: (objects) => {
      setField(byKind(objects, 'Deployment', 'ssehub-gateway'), ['spec', 'replicas'], 3);
    },
    reported: /sets replicas: 3/,
  },
  {
    breakage: 'a grace period shorter than the drain',
    overlay: 'prod',
    check: policy.gracePeriodCoversDrain,
    breakIt: (objects) => {
      gatewayOf(objects).pod.terminationGracePeriodSeconds = 30;
    },
    reported: /terminationGracePeriodSeconds is 30; it must exceed .* = 35 s/,
  },
  {
    breakage: 'SHUTDOWN_GRACE_MS raised in the ConfigMap without the grace period',
    overlay: 'dev',
    check: policy.gracePeriodCoversDrain,
    breakIt: (objects) => {
      setField(byKind(objects, 'ConfigMap'), ['data', 'SHUTDOWN_GRACE_MS'], '60000');
    },
    reported: /terminationGracePeriodSeconds is 40/,
  },
  {
    breakage: 'no preStop hook',
    overlay: 'dev',
    check: policy.gracePeriodCoversDrain,
    breakIt: (objects) => {
      delete gatewayOf(objects).container.lifecycle;
    },
    reported: /no preStop delay/,
  },
  {
    breakage: 'an ipBlock rule reaching the admin port',
    overlay: 'prod',
    check: policy.adminPortInClusterOnly,
    breakIt: (objects) => {
      const rules = must(
        objects.find((o) => o.kind === 'NetworkPolicy')?.['spec'],
        'NetworkPolicy spec',
      ) as { ingress: unknown[] };
      rules.ingress.push({ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 9090 }] });
    },
    reported: /admits 0\.0\.0\.0\/0 to the admin port/,
  },
  {
    breakage: 'a rule without ports (every port, the admin one included) open to all',
    overlay: 'dev',
    check: policy.adminPortInClusterOnly,
    breakIt: (objects) => {
      setField(byKind(objects, 'NetworkPolicy'), ['spec', 'ingress'], [{}]);
    },
    reported: /opens the admin port to any source/,
  },
  {
    breakage: 'TRUST_PROXY=0 in the generated ConfigMap',
    overlay: 'dev',
    check: policy.gatewaySettings,
    breakIt: (objects) => {
      setField(byKind(objects, 'ConfigMap'), ['data', 'TRUST_PROXY'], '0');
    },
    reported: /TRUST_PROXY is 0/,
  },
  {
    breakage: 'an env entry overriding MAX_CONNECTION_AGE_MS after the ConfigMap',
    overlay: 'prod',
    check: policy.gatewaySettings,
    breakIt: (objects) => {
      const env = gatewayOf(objects).container.env ?? [];
      env.push({ name: 'MAX_CONNECTION_AGE_MS', value: '0' });
      gatewayOf(objects).container.env = env;
    },
    reported: /MAX_CONNECTION_AGE_MS is 0, not 900000/,
  },
  {
    breakage: 'prod with a plain REDIS_URL instead of the Secret',
    overlay: 'prod',
    check: policy.prodRedisFromSecret,
    breakIt: (objects) => {
      const container = gatewayOf(objects).container;
      container.env = (container.env ?? []).filter((e) => e.name !== 'REDIS_URL');
      setField(byKind(objects, 'ConfigMap'), ['data', 'REDIS_URL'], 'redis://redis:6379');
    },
    reported: /REDIS_URL comes from ConfigMap .*, not a secretKeyRef/,
  },
  {
    breakage: 'an optional REDIS_URL Secret',
    overlay: 'prod',
    check: policy.prodRedisFromSecret,
    breakIt: (objects) => {
      const ref = gatewayOf(objects).container.env?.find((e) => e.name === 'REDIS_URL')?.valueFrom
        ?.secretKeyRef;
      must(ref, 'the REDIS_URL secretKeyRef').optional = true;
    },
    reported: /optional/,
  },
  {
    breakage: 'a PodDisruptionBudget selecting other pods',
    overlay: 'prod',
    check: policy.disruptionBudget,
    breakIt: (objects) => {
      setField(byKind(objects, 'PodDisruptionBudget'), ['spec', 'selector'], {
        matchLabels: { 'app.kubernetes.io/name': 'something-else' },
      });
    },
    reported: /no PodDisruptionBudget selects the gateway pods/,
  },
  {
    breakage: 'an HPA without the connections metric and with minReplicas 1',
    overlay: 'dev',
    check: policy.autoscaler,
    breakIt: (objects) => {
      const hpa = byKind(objects, 'HorizontalPodAutoscaler');
      setField(hpa, ['spec', 'minReplicas'], 1);
      const spec = hpa['spec'] as { metrics: { type: string }[] };
      spec.metrics = spec.metrics.filter((m) => m.type !== 'Pods');
    },
    reported: /minReplicas is 1[^]*no Pods metric ssehub_connections/,
  },
  {
    breakage: 'an HPA aiming at 40000 connections per pod',
    overlay: 'prod',
    check: policy.autoscaler,
    breakIt: (objects) => {
      const spec = byKind(objects, 'HorizontalPodAutoscaler')['spec'] as {
        metrics: { pods?: { target: { averageValue: string } } }[];
      };
      const pods = must(spec.metrics.find((m) => m.pods !== undefined)?.pods, 'Pods metric');
      pods.target.averageValue = '40k';
    },
    reported: /targets 40k connections per pod; at most 25000/,
  },
  {
    breakage: 'Redis without appendonly and with a writable root filesystem',
    overlay: 'dev',
    check: (objects) => [...policy.devRedis(objects), ...policy.restrictedSecurity(objects)],
    breakIt: (objects) => {
      const statefulSet = byKind(objects, 'StatefulSet', 'redis');
      const spec = statefulSet['spec'] as {
        template: { spec: { containers: { args: string[]; securityContext: object }[] } };
      };
      const redis = must(spec.template.spec.containers[0], 'the Redis container');
      redis.args = redis.args.filter((a) => a !== '--appendonly' && a !== 'yes');
      setField(redis.securityContext, ['readOnlyRootFilesystem'], false);
    },
    reported: /--appendonly yes[^]*StatefulSet\/redis container redis: readOnlyRootFilesystem/,
  },
  {
    breakage: 'a container without a memory limit',
    overlay: 'dev',
    check: policy.resourcesSet,
    breakIt: (objects) => {
      delete gatewayOf(objects).container.resources?.limits;
    },
    reported: /container gateway: no memory limit/,
  },
  {
    breakage: 'the readiness probe on the public port',
    overlay: 'prod',
    check: policy.probesOnAdminPort,
    breakIt: (objects) => {
      const probe = must(gatewayOf(objects).container.readinessProbe?.httpGet, 'readiness httpGet');
      probe.port = 'http';
    },
    reported: /readinessProbe uses port http, not the admin port/,
  },
  {
    breakage: 'the public Service targeting the admin port',
    overlay: 'prod',
    check: policy.servicesMatchPods,
    breakIt: (objects) => {
      const service = byKind(objects, 'Service', 'ssehub-gateway');
      setField(service, ['spec', 'ports'], [{ name: 'http', port: 80, targetPort: 'admin' }]);
    },
    reported: /exposes the admin port/,
  },
  {
    breakage: 'a Service targeting a port name no container declares',
    overlay: 'dev',
    check: policy.servicesMatchPods,
    breakIt: (objects) => {
      const service = byKind(objects, 'Service', 'ssehub-gateway-admin');
      setField(service, ['spec', 'ports'], [{ name: 'admin', port: 9090, targetPort: 'metrics' }]);
    },
    reported: /targets metrics, which no container/,
  },
  {
    breakage: 'maxUnavailable left at its default',
    overlay: 'prod',
    check: policy.rollingUpdateKeepsCapacity,
    breakIt: (objects) => {
      delete gatewayOf(objects).strategy?.rollingUpdate?.maxUnavailable;
    },
    reported: /maxUnavailable is 25%, not 0/,
  },
  {
    breakage: 'a ServiceMonitor scraping a port the admin Service lacks',
    overlay: 'prod',
    check: policy.serviceMonitorScrapesAdmin,
    breakIt: (objects) => {
      const monitor = byKind(objects, 'ServiceMonitor');
      setField(monitor, ['spec', 'endpoints'], [{ port: 'metrics', interval: '15s' }]);
    },
    reported: /scrapes port metrics/,
  },
];

describe('the checks catch broken manifests', () => {
  for (const { breakage, overlay, check, breakIt, reported } of BREAKAGES) {
    it(`${breakage} (${overlay})`, () => {
      const objects = structuredClone(rendered(overlay));
      expect(check(objects)).toEqual([]);
      breakIt(objects);
      expect(check(objects).join('\n')).toMatch(reported);
    });
  }

  it('schema validation rejects a wrongly typed field and an unknown kind', () => {
    const deployment = structuredClone(byKind(rendered('dev'), 'Deployment', 'ssehub-gateway'));
    const port = must(policy.gatewayPod([deployment])?.container.ports?.[0], 'a container port');
    (port as { containerPort: unknown }).containerPort = '8080';
    expect(policy.validateSchema(deployment).join('\n')).toMatch(/containerPort must be integer/);
    const unknown: KubeObject = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
    };
    expect(policy.validateSchema(unknown).join('\n')).toMatch(/no kubernetes-models class/);
  });

  it('the ingress check rejects buffering and a timeout below the heartbeat', async () => {
    const ingress = await readManifests(join(EXAMPLES, 'ingress-nginx.yaml'));
    const annotations = byKind(ingress, 'Ingress').metadata.annotations ?? {};
    annotations['nginx.ingress.kubernetes.io/proxy-buffering'] = 'on';
    annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'] = '20';
    byKind(ingress, 'Ingress').metadata.annotations = annotations;
    const problems = policy.ingressForSse(ingress, rendered('prod')).join('\n');
    expect(problems).toMatch(/proxy-buffering is not off/);
    expect(problems).toMatch(/proxy-read-timeout must be more than twice the 15 s heartbeat/);
  });
});
