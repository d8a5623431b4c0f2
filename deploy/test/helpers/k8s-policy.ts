/**
 * The deployment rules of SPEC.md 10 and 11 as small checks over a rendered set of Kubernetes
 * objects (k8s/overlays/*, rendered by `kubectl kustomize`). Each check returns the problems it
 * found, as sentences naming the object and the field, and an empty list when all is well; the
 * tests assert on that list, and the negative tests feed the same checks a broken copy to prove
 * that they can fail.
 *
 * The checks read the objects as the cluster would: the environment a container actually gets
 * (envFrom ConfigMaps merged with env, the generated ConfigMap name included), named ports
 * resolved to numbers, and the API server's defaults where a field is left out.
 */
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { KubeObject } from './kustomize.js';

/** Names the manifests and the docs (k8s/README.md) agree on. */
export const GATEWAY = {
  deployment: 'ssehub-gateway',
  container: 'gateway',
  service: 'ssehub-gateway',
  adminService: 'ssehub-gateway-admin',
  httpPort: 'http',
  adminPort: 'admin',
  /** The Secret the operator creates for prod (`kubectl create secret generic …`). */
  redisSecret: { name: 'ssehub-redis', key: 'url' },
} as const;

/** The gateway's own defaults (services/gateway/src/config/settings.ts) for settings left unset. */
const GATEWAY_DEFAULTS = {
  PORT: 8080,
  ADMIN_PORT: 9090,
  HEARTBEAT_MS: 15_000,
  KEEP_ALIVE_TIMEOUT_MS: 65_000,
  SHUTDOWN_GRACE_MS: 25_000,
  MAX_CONNECTIONS: 50_000,
} as const;

/** SPEC.md 10: the k8s manifests set 15 minutes. */
const CONNECTION_AGE_MS = 900_000;

/**
 * Seconds kept free in the grace period after preStop and the drain: the process still has to
 * close its Redis connections and exit; a SIGKILL before that cuts the last streams mid-event.
 */
const GRACE_MARGIN_SECONDS = 5;

/** Below this, a restart that drops every stream on the pod could follow a mere busy spell. */
const MIN_LIVENESS_WINDOW_SECONDS = 30;

/**
 * The V8 heap cap may use at most this share of the memory limit: the rest holds socket buffers
 * (up to MAX_TOTAL_BUFFERED_BYTES, 256 MiB by default) and native memory.
 */
const MAX_HEAP_SHARE_OF_LIMIT = 0.8;

/** The connections target per pod may be at most this share of MAX_CONNECTIONS (hpa.yaml). */
const MAX_HPA_SHARE_OF_CAP = 0.5;

/** A check over a whole render; returns its problems, none when the rule holds. */
export type Check = (objects: readonly KubeObject[]) => string[];

// ---------------------------------------------------------------------------------------------
// Schema validation

/** What every kubernetes-models class offers: its type and a validating constructor. */
interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  new (data: KubeObject): { validate(): void };
}

/** The kinds k8s/ may contain; anything else fails validation until it is added here. */
const MODELS: readonly ModelClass[] = [
  ConfigMap,
  Secret,
  Service,
  ServiceAccount,
  Namespace,
  PersistentVolumeClaim,
  Deployment,
  StatefulSet,
  DaemonSet,
  Job,
  CronJob,
  HorizontalPodAutoscaler,
  PodDisruptionBudget,
  NetworkPolicy,
  Ingress,
];

const MODEL_BY_TYPE = new Map(MODELS.map((m) => [`${m.apiVersion} ${m.kind}`, m]));

/** The Prometheus Operator's kind, which kubernetes-models does not cover. */
const SERVICE_MONITOR = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' } as const;

/**
 * Validates one object against the Kubernetes OpenAPI schema of its kind (kubernetes-models);
 * a ServiceMonitor is checked by hand ({@link serviceMonitorShape}). Note that the schemas do
 * not reject unknown fields: a misspelt field passes here and is caught, where it matters, by
 * the policy checks.
 *
 * @returns The schema errors, or one problem saying the kind is unknown.
 */
export function validateSchema(object: KubeObject): string[] {
  if (isServiceMonitor(object)) return serviceMonitorShape(object);
  const model = MODEL_BY_TYPE.get(`${object.apiVersion} ${object.kind}`);
  if (model === undefined) {
    return [
      `${nameOf(object)}: no kubernetes-models class for ${object.apiVersion} ${object.kind}; add it to MODELS in k8s-policy.ts`,
    ];
  }
  try {
    new model(object).validate();
    return [];
  } catch (err) {
    return [`${nameOf(object)}: ${err instanceof Error ? err.message : String(err)}`];
  }
}

function isServiceMonitor(object: KubeObject): boolean {
  return object.apiVersion === SERVICE_MONITOR.apiVersion && object.kind === SERVICE_MONITOR.kind;
}

/** The fields of a ServiceMonitor that the Prometheus Operator requires and the checks read. */
function serviceMonitorShape(object: KubeObject): string[] {
  const problems: string[] = [];
  const name = nameOf(object);
  const matchLabels = at(object, 'spec', 'selector', 'matchLabels');
  if (!isStringRecord(matchLabels) || Object.keys(matchLabels).length === 0)
    problems.push(`${name}: spec.selector.matchLabels must be a non-empty map of strings`);
  const endpoints = at(object, 'spec', 'endpoints');
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    problems.push(`${name}: spec.endpoints must be a non-empty list`);
  } else {
    for (const [i, endpoint] of endpoints.entries()) {
      if (typeof at(endpoint, 'port') !== 'string')
        problems.push(`${name}: spec.endpoints[${i}].port must name a Service port`);
      const interval = at(endpoint, 'interval');
      if (interval !== undefined && (typeof interval !== 'string' || !/^\d+[smh]$/.test(interval)))
        problems.push(`${name}: spec.endpoints[${i}].interval must be a duration such as 15s`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Reading the objects

/** A pod template of a workload, with where it came from. */
export interface Workload {
  readonly object: KubeObject;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly pod: IPodSpec;
}

/** Every pod template in the render: Deployments, StatefulSets, DaemonSets, Jobs, CronJobs. */
export function workloads(objects: readonly KubeObject[]): Workload[] {
  const found: Workload[] = [];
  for (const object of objects) {
    const template =
      Deployment.is(object) || StatefulSet.is(object) || DaemonSet.is(object) || Job.is(object)
        ? object.spec?.template
        : CronJob.is(object)
          ? object.spec?.jobTemplate.spec?.template
          : undefined;
    if (template === undefined) continue;
    found.push({
      object,
      podLabels: template.metadata?.labels ?? {},
      pod: template.spec ?? { containers: [] },
    });
  }
  return found;
}

/** The gateway's Deployment, pod and container, as the checks need them together. */
export interface GatewayPod extends Workload {
  readonly container: IContainer;
  readonly replicas: number | undefined;
  readonly strategy: NonNullable<IDeployment['spec']>['strategy'];
}

const NO_GATEWAY = `the render has no Deployment ${GATEWAY.deployment} with a container named ${GATEWAY.container}`;

/** Finds the gateway's Deployment and container, or `undefined` when the render lacks them. */
export function gatewayPod(objects: readonly KubeObject[]): GatewayPod | undefined {
  const deployment = objects
    .filter((o) => Deployment.is(o))
    .find((o) => o.metadata.name === GATEWAY.deployment);
  const template = deployment?.spec?.template;
  const container = template?.spec?.containers.find((c) => c.name === GATEWAY.container);
  if (deployment === undefined || template?.spec === undefined || container === undefined)
    return undefined;
  return {
    object: deployment,
    podLabels: template.metadata?.labels ?? {},
    pod: template.spec,
    container,
    replicas: deployment.spec?.replicas,
    strategy: deployment.spec?.strategy,
  };
}

/** Where one environment variable of a container gets its value. */
export type EnvSource =
  | { readonly from: 'value'; readonly value: string; readonly origin: string }
  | {
      readonly from: 'secret';
      readonly secret: string;
      readonly key: string;
      readonly optional: boolean;
    }
  | { readonly from: 'other'; readonly origin: string };

/** A container's environment as the kubelet builds it, and what could not be resolved. */
export interface ResolvedEnv {
  readonly vars: ReadonlyMap<string, EnvSource>;
  readonly problems: readonly string[];
}

/**
 * The environment a container gets: `envFrom` sources in order, then `env`, later ones winning,
 * as the kubelet does. ConfigMaps are looked up in the render by their final (hash-suffixed)
 * name, so a reference kustomize failed to rewrite shows up as a problem. Keys of an `envFrom`
 * Secret are unknown offline and left out.
 */
export function containerEnv(objects: readonly KubeObject[], container: IContainer): ResolvedEnv {
  const vars = new Map<string, EnvSource>();
  const problems: string[] = [];
  const configMaps = objects.filter((o) => ConfigMap.is(o));
  const configMap = (name: string): IConfigMap | undefined =>
    configMaps.find((c) => c.metadata.name === name);

  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef;
    if (ref === undefined) continue;
    const found = configMap(ref.name ?? '');
    if (found === undefined) {
      if (ref.optional !== true)
        problems.push(`envFrom names ConfigMap ${ref.name ?? ''}, which the render lacks`);
      continue;
    }
    for (const [key, value] of Object.entries(found.data ?? {}))
      vars.set(`${source.prefix ?? ''}${key}`, {
        from: 'value',
        value,
        origin: `ConfigMap ${ref.name ?? ''}`,
      });
  }

  for (const variable of container.env ?? []) {
    const secretRef = variable.valueFrom?.secretKeyRef;
    const configMapRef = variable.valueFrom?.configMapKeyRef;
    if (variable.valueFrom === undefined) {
      vars.set(variable.name, {
        from: 'value',
        value: variable.value ?? '',
        origin: 'a plain env value',
      });
    } else if (secretRef !== undefined) {
      vars.set(variable.name, {
        from: 'secret',
        secret: secretRef.name ?? '',
        key: secretRef.key,
        optional: secretRef.optional === true,
      });
    } else if (configMapRef !== undefined) {
      const value = configMap(configMapRef.name ?? '')?.data?.[configMapRef.key];
      if (value === undefined && configMapRef.optional !== true)
        problems.push(
          `env ${variable.name} reads ${configMapRef.key} of ConfigMap ${configMapRef.name ?? ''}, which the render lacks`,
        );
      if (value !== undefined)
        vars.set(variable.name, {
          from: 'value',
          value,
          origin: `ConfigMap ${configMapRef.name ?? ''}`,
        });
    } else {
      vars.set(variable.name, { from: 'other', origin: 'a fieldRef or resourceFieldRef' });
    }
  }
  return { vars, problems };
}

/** The plain value of a variable, `undefined` when unset or not a plain value. */
function plain(env: ResolvedEnv, name: string): string | undefined {
  const source = env.vars.get(name);
  return source?.from === 'value' ? source.value : undefined;
}

/**
 * A whole-number setting as the gateway reads it: unset or empty means the default.
 *
 * @returns The number, or a problem when the value is not a whole number.
 */
function intSetting(env: ResolvedEnv, name: string, fallback?: number): number | string {
  const text = plain(env, name);
  if (text === undefined || text === '') {
    return fallback ?? `${name} is not set in the gateway's environment`;
  }
  return /^\d+$/.test(text) ? Number(text) : `${name}=${text} is not a whole number`;
}

/** The container port a probe, Service or policy refers to, by name or number. */
function resolvePort(container: IContainer, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Whether `port` (a name or number) names one of the container's ports. */
function hasPort(container: IContainer, port: string | number): boolean {
  return (container.ports ?? []).some((p) =>
    typeof port === 'number' ? p.containerPort === port : p.name === port,
  );
}

/** The subset of a label selector the checks understand: all of Kubernetes' own. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

/**
 * Whether a label selector selects an object with these labels. An empty selector selects
 * everything, as in Kubernetes; an unknown operator selects nothing.
 */
export function selects(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values }) => {
    const value = labels[key];
    switch (operator) {
      case 'In':
        return value !== undefined && (values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        return false;
    }
  });
  return byLabels && byExpressions;
}

/**
 * A Kubernetes quantity as a plain number (`500m` is 0.5, `1Gi` is 1073741824).
 *
 * @returns The number, or `undefined` when the text is not a quantity.
 */
export function parseQuantity(quantity: string | number | undefined): number | undefined {
  if (typeof quantity === 'number') return quantity;
  if (quantity === undefined) return undefined;
  const match = /^([+-]?\d+(?:\.\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(quantity);
  if (match === null) return undefined;
  const [, digits = '', suffix = ''] = match;
  const factors: Readonly<Record<string, number>> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
  };
  const factor = factors[suffix];
  return factor === undefined ? undefined : Number(digits) * factor;
}

/** `Kind/name`, as problems name objects. */
export function nameOf(object: KubeObject): string {
  return `${object.kind}/${object.metadata.name}`;
}

/** Reads a nested field of an object whose shape is not known to the type system. */
function at(value: unknown, ...path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

function allContainers(pod: IPodSpec): IContainer[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** Runs `body` on the gateway pod and its resolved environment, or reports that both are missing. */
function withGateway(
  objects: readonly KubeObject[],
  body: (gateway: GatewayPod, env: ResolvedEnv) => string[],
): string[] {
  const gateway = gatewayPod(objects);
  if (gateway === undefined) return [NO_GATEWAY];
  const env = containerEnv(objects, gateway.container);
  return [...env.problems, ...body(gateway, env)];
}

// ---------------------------------------------------------------------------------------------
// The checks

/**
 * Readiness on `/readyz` and liveness on `/healthz`, both over HTTP on the admin port (SPEC.md
 * 10), with a liveness window long enough that a busy pod is not restarted (a restart drops
 * every stream on it).
 */
export const probesOnAdminPort: Check = (objects) =>
  withGateway(objects, ({ container }) => {
    const problems: string[] = [];
    const admin = resolvePort(container, GATEWAY.adminPort);
    if (admin === undefined)
      return [`the gateway container has no port named ${GATEWAY.adminPort}`];
    const probes = [
      ['readinessProbe', container.readinessProbe, '/readyz'],
      ['livenessProbe', container.livenessProbe, '/healthz'],
    ] as const;
    for (const [field, probe, path] of probes) {
      const get = probe?.httpGet;
      if (get === undefined) {
        problems.push(`the gateway container has no ${field} with httpGet`);
        continue;
      }
      if (get.path !== path) problems.push(`${field} requests ${get.path ?? '/'}, not ${path}`);
      if (resolvePort(container, get.port) !== admin)
        problems.push(`${field} uses port ${get.port}, not the admin port (${admin})`);
    }
    const live = container.livenessProbe;
    if (live !== undefined) {
      // Kubernetes' defaults: every 10 s, 3 failures.
      const window = (live.periodSeconds ?? 10) * (live.failureThreshold ?? 3);
      if (window < MIN_LIVENESS_WINDOW_SECONDS)
        problems.push(
          `livenessProbe restarts the gateway after ${window} s without an answer; allow at least ${MIN_LIVENESS_WINDOW_SECONDS} s`,
        );
    }
    return problems;
  });

/** The HPA owns the replica count: a `replicas` field would reset it on every apply. */
export const noReplicasField: Check = (objects) =>
  withGateway(objects, ({ replicas }) =>
    replicas === undefined
      ? []
      : [
          `Deployment ${GATEWAY.deployment} sets replicas: ${replicas}; leave it out, the HorizontalPodAutoscaler owns the count`,
        ],
  );

/**
 * An autoscaling/v2 HPA targets the gateway Deployment with at least 3 replicas, scales on
 * connections per pod (well below MAX_CONNECTIONS) and on CPU, and scales down slowly.
 */
export const autoscaler: Check = (objects) =>
  withGateway(objects, (_gateway, env) => {
    const problems: string[] = [];
    const hpas = objects.filter((o) => HorizontalPodAutoscaler.is(o));
    const mine = hpas.filter((h) => h.spec?.scaleTargetRef.name === GATEWAY.deployment);
    if (mine.length !== 1)
      return [
        `expected one HorizontalPodAutoscaler for ${GATEWAY.deployment}, found ${mine.length}`,
      ];
    for (const hpa of mine) {
      const name = nameOf(hpa);
      const spec = hpa.spec;
      if (spec === undefined) return [`${name} has no spec`];
      const ref = spec.scaleTargetRef;
      if (ref.kind !== 'Deployment' || ref.apiVersion !== 'apps/v1')
        problems.push(
          `${name} targets ${ref.apiVersion ?? ''} ${ref.kind}, not apps/v1 Deployment`,
        );
      const min = spec.minReplicas ?? 1;
      if (min < 3) problems.push(`${name} minReplicas is ${min}; at least 3`);
      if (spec.maxReplicas <= min)
        problems.push(`${name} maxReplicas ${spec.maxReplicas} leaves no room above ${min}`);

      const connections = spec.metrics?.find(
        (m) => m.type === 'Pods' && m.pods?.metric.name === 'ssehub_connections',
      )?.pods?.target;
      if (connections?.type !== 'AverageValue') {
        problems.push(`${name} has no Pods metric ssehub_connections with an AverageValue target`);
      } else {
        const perPod = parseQuantity(connections.averageValue);
        const cap = intSetting(env, 'MAX_CONNECTIONS', GATEWAY_DEFAULTS.MAX_CONNECTIONS);
        if (typeof cap === 'string') problems.push(cap);
        else if (perPod === undefined || perPod > cap * MAX_HPA_SHARE_OF_CAP)
          problems.push(
            `${name} targets ${String(connections.averageValue)} connections per pod; at most ${cap * MAX_HPA_SHARE_OF_CAP} (half of MAX_CONNECTIONS=${cap}) leaves room while new pods fill`,
          );
      }
      const cpu = spec.metrics?.find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
      if (cpu?.resource?.target.type !== 'Utilization')
        problems.push(`${name} has no Resource metric cpu with a Utilization target`);

      // The API server's default is 300 s; a shorter window drains pods on every dip.
      const down = spec.behavior?.scaleDown?.stabilizationWindowSeconds ?? 300;
      if (down < 300)
        problems.push(`${name} scaleDown stabilizationWindowSeconds is ${down}; at least 300`);
    }
    return problems;
  });

/** Seconds the preStop hook waits, from `sleep: {seconds}` or an exec of `sleep N`. */
function preStopSeconds(container: IContainer): number | undefined {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep !== undefined) return preStop.sleep.seconds;
  const command = (preStop?.exec?.command ?? []).join(' ');
  const match = /(?:^|\s|-c\s)sleep\s+(\d+)$/.exec(command);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * terminationGracePeriodSeconds > preStop delay + SHUTDOWN_GRACE_MS + a margin: otherwise the
 * kubelet SIGKILLs the gateway mid-drain and its remaining clients all reconnect at once.
 */
export const gracePeriodCoversDrain: Check = (objects) =>
  withGateway(objects, ({ pod, container }, env) => {
    const preStop = preStopSeconds(container);
    if (preStop === undefined)
      return [
        'the gateway container has no preStop delay (exec ["sleep","5"]): new connections still arrive while endpoints are being removed',
      ];
    const drainMs = intSetting(env, 'SHUTDOWN_GRACE_MS', GATEWAY_DEFAULTS.SHUTDOWN_GRACE_MS);
    if (typeof drainMs === 'string') return [drainMs];
    const grace = pod.terminationGracePeriodSeconds ?? 30; // the API server's default
    const needed = preStop + drainMs / 1000 + GRACE_MARGIN_SECONDS;
    return grace > needed
      ? []
      : [
          `terminationGracePeriodSeconds is ${grace}; it must exceed preStop ${preStop} s + SHUTDOWN_GRACE_MS ${drainMs / 1000} s + ${GRACE_MARGIN_SECONDS} s = ${needed} s`,
        ];
  });

/**
 * Every container of every workload (Redis too) runs as non-root, cannot gain privileges, has a
 * read-only root filesystem, drops every capability and uses a seccomp profile.
 */
export const restrictedSecurity: Check = (objects) => {
  const problems: string[] = [];
  for (const { object, pod } of workloads(objects)) {
    for (const c of allContainers(pod)) {
      const where = `${nameOf(object)} container ${c.name}`;
      const sc = c.securityContext ?? {};
      const podSc = pod.securityContext ?? {};
      if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true)
        problems.push(`${where}: runAsNonRoot is not true`);
      if ((sc.runAsUser ?? podSc.runAsUser) === 0) problems.push(`${where}: runAsUser is 0 (root)`);
      if (sc.allowPrivilegeEscalation !== false)
        problems.push(`${where}: allowPrivilegeEscalation is not false`);
      if (sc.privileged === true) problems.push(`${where}: privileged`);
      if (sc.readOnlyRootFilesystem !== true)
        problems.push(`${where}: readOnlyRootFilesystem is not true`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL'))
        problems.push(`${where}: capabilities.drop does not include ALL`);
      if ((sc.capabilities?.add ?? []).length > 0)
        problems.push(`${where}: adds capabilities ${(sc.capabilities?.add ?? []).join(', ')}`);
      const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
        problems.push(`${where}: seccompProfile is ${seccomp ?? 'unset'}, not RuntimeDefault`);
    }
  }
  return problems;
};

/**
 * Every container of every workload requests CPU and memory (the HPA's CPU utilization is
 * relative to the request; the scheduler packs by them) and has a memory limit at or above
 * its request.
 */
export const resourcesSet: Check = (objects) => {
  const problems: string[] = [];
  for (const { object, pod } of workloads(objects)) {
    for (const c of allContainers(pod)) {
      const where = `${nameOf(object)} container ${c.name}`;
      const requests = c.resources?.requests ?? {};
      const limits = c.resources?.limits ?? {};
      const cpu = parseQuantity(requests['cpu']);
      const memory = parseQuantity(requests['memory']);
      const memoryLimit = parseQuantity(limits['memory']);
      if (cpu === undefined) problems.push(`${where}: no cpu request`);
      if (memory === undefined) problems.push(`${where}: no memory request`);
      if (memoryLimit === undefined) problems.push(`${where}: no memory limit`);
      if (memory !== undefined && memoryLimit !== undefined && memory > memoryLimit)
        problems.push(`${where}: memory request above its limit`);
    }
  }
  return problems;
};

/**
 * NODE_OPTIONS caps the V8 heap below the memory limit, leaving room for socket buffers, so Node
 * collects harder near the cap instead of growing into an OOM kill.
 */
export const heapCapBelowMemoryLimit: Check = (objects) =>
  withGateway(objects, ({ container }, env) => {
    const limit = parseQuantity(container.resources?.limits?.['memory']);
    const match = /--max-old-space-size=(\d+)/.exec(plain(env, 'NODE_OPTIONS') ?? '');
    if (match?.[1] === undefined)
      return ['NODE_OPTIONS does not set --max-old-space-size for the gateway'];
    if (limit === undefined) return ['the gateway container has no memory limit'];
    const heapMiB = Number(match[1]);
    const limitMiB = limit / 2 ** 20;
    return heapMiB <= limitMiB * MAX_HEAP_SHARE_OF_LIMIT
      ? []
      : [
          `--max-old-space-size=${heapMiB} is above ${MAX_HEAP_SHARE_OF_LIMIT * 100}% of the ${limitMiB} MiB memory limit; lower it or raise the limit`,
        ];
  });

/**
 * A rollout adds a pod before removing one (maxUnavailable 0): each old pod's clients need room
 * on the others.
 */
export const rollingUpdateKeepsCapacity: Check = (objects) =>
  withGateway(objects, ({ strategy }) => {
    const type = strategy?.type ?? 'RollingUpdate';
    if (type !== 'RollingUpdate') return [`the gateway's update strategy is ${type}`];
    const { maxUnavailable, maxSurge } = strategy?.rollingUpdate ?? {};
    const problems: string[] = [];
    // Unset means 25%, the API server's default.
    if (maxUnavailable !== 0 && maxUnavailable !== '0%')
      problems.push(`rollingUpdate.maxUnavailable is ${String(maxUnavailable ?? '25%')}, not 0`);
    if (maxSurge === 0 || maxSurge === '0%')
      problems.push('rollingUpdate.maxSurge is 0: with maxUnavailable 0 the rollout cannot move');
    return problems;
  });

/**
 * The settings the pod actually gets (ConfigMap plus env) hold the values the deployment relies
 * on: one trusted proxy hop, the 15-minute connection age, a keep-alive timeout above the
 * heartbeat, and listen ports equal to the container ports the probes and Services use. Service
 * links stay off, so no `<SERVICE>_PORT=tcp://…` variable reaches the gateway's settings.
 */
export const gatewaySettings: Check = (objects) =>
  withGateway(objects, ({ pod, container }, env) => {
    const problems: string[] = [];
    const trust = plain(env, 'TRUST_PROXY');
    const hops = trust === 'true' ? 1 : Number(trust);
    if (!(Number.isInteger(hops) && hops >= 1))
      problems.push(
        `TRUST_PROXY is ${trust ?? 'unset'}; at least 1, or every client behind the ingress shares one address`,
      );
    const age = intSetting(env, 'MAX_CONNECTION_AGE_MS');
    if (age !== CONNECTION_AGE_MS)
      problems.push(
        typeof age === 'string' ? age : `MAX_CONNECTION_AGE_MS is ${age}, not ${CONNECTION_AGE_MS}`,
      );
    const keepAlive = intSetting(
      env,
      'KEEP_ALIVE_TIMEOUT_MS',
      GATEWAY_DEFAULTS.KEEP_ALIVE_TIMEOUT_MS,
    );
    const heartbeat = intSetting(env, 'HEARTBEAT_MS', GATEWAY_DEFAULTS.HEARTBEAT_MS);
    if (typeof keepAlive === 'string') problems.push(keepAlive);
    if (typeof heartbeat === 'string') problems.push(heartbeat);
    if (typeof keepAlive === 'number' && typeof heartbeat === 'number' && keepAlive <= heartbeat)
      problems.push(`KEEP_ALIVE_TIMEOUT_MS (${keepAlive}) must exceed HEARTBEAT_MS (${heartbeat})`);
    for (const [setting, portName] of [
      ['PORT', GATEWAY.httpPort],
      ['ADMIN_PORT', GATEWAY.adminPort],
    ] as const) {
      const listens = intSetting(env, setting, GATEWAY_DEFAULTS[setting]);
      const declared = resolvePort(container, portName);
      if (listens !== declared)
        problems.push(
          `the gateway listens on ${setting}=${String(listens)} but its container port ${portName} is ${String(declared)}`,
        );
    }
    if (pod.enableServiceLinks !== false)
      problems.push(
        'enableServiceLinks is not false: Service variables would enter the gateway environment',
      );
    return problems;
  });

/**
 * Variables given to the gateway that it does not read, most likely misspelt settings (which
 * the gateway would silently ignore).
 *
 * @param known - Every variable the gateway reads (derived from its `loadConfig()` result).
 */
export function unknownSettings(
  objects: readonly KubeObject[],
  known: ReadonlySet<string>,
): string[] {
  // Read by Node itself, not the gateway.
  const runtime = new Set(['NODE_OPTIONS']);
  return withGateway(objects, (_gateway, env) =>
    [...env.vars.keys()]
      .filter((name) => !known.has(name) && !runtime.has(name))
      .map((name) => `${name} is given to the gateway, which reads no such setting`),
  );
}

/**
 * A PodDisruptionBudget covers the gateway pods and still lets drains evict one; no budget in
 * the render selects nothing.
 */
export const disruptionBudget: Check = (objects) =>
  withGateway(objects, ({ podLabels }) => {
    const problems: string[] = [];
    const pdbs = objects.filter((o) => PodDisruptionBudget.is(o));
    const pods = workloads(objects);
    for (const pdb of pdbs) {
      const name = nameOf(pdb);
      const selector = pdb.spec?.selector ?? {};
      if (!pods.some((w) => selects(selector, w.podLabels)))
        problems.push(`${name} selects no pod of the render`);
      const maxUnavailable = pdb.spec?.maxUnavailable;
      if (maxUnavailable === 0 || maxUnavailable === '0%')
        problems.push(`${name} allows no disruption: node drains would hang`);
    }
    const mine = pdbs.filter((p) => selects(p.spec?.selector ?? {}, podLabels));
    if (mine.length === 0) problems.push('no PodDisruptionBudget selects the gateway pods');
    return problems;
  });

/**
 * The public and admin Services select exactly the gateway pods and target container ports
 * that exist; the public one does not expose the admin port and the admin one stays ClusterIP.
 * Any other Service of the render must select some workload and target its ports.
 */
export const servicesMatchPods: Check = (objects) =>
  withGateway(objects, ({ container }) => {
    const problems: string[] = [];
    const pods = workloads(objects);
    const services = objects.filter((o) => Service.is(o));
    for (const name of [GATEWAY.service, GATEWAY.adminService]) {
      if (!services.some((s) => s.metadata.name === name))
        problems.push(`the render has no Service ${name}`);
    }
    for (const service of services) {
      const name = nameOf(service);
      const selector = service.spec?.selector;
      if (selector === undefined || Object.keys(selector).length === 0) {
        problems.push(`${name} has no selector`);
        continue;
      }
      const matched = pods.filter((w) => selects({ matchLabels: selector }, w.podLabels));
      if (matched.length !== 1) {
        problems.push(`${name} selects the pods of ${matched.length} workloads, not 1`);
        continue;
      }
      const [target] = matched;
      if (target === undefined) continue;
      for (const port of service.spec?.ports ?? []) {
        const targetPort = port.targetPort ?? port.port;
        if (!target.pod.containers.some((c) => hasPort(c, targetPort)))
          problems.push(
            `${name} port ${port.name ?? port.port} targets ${targetPort}, which no container of ${nameOf(target.object)} declares`,
          );
      }
    }
    const admin = resolvePort(container, GATEWAY.adminPort);
    const publicService = services.find((s) => s.metadata.name === GATEWAY.service);
    for (const port of publicService?.spec?.ports ?? []) {
      if (resolvePort(container, port.targetPort ?? port.port) === admin)
        problems.push(`Service ${GATEWAY.service} exposes the admin port`);
    }
    const adminService = services.find((s) => s.metadata.name === GATEWAY.adminService);
    if (adminService !== undefined) {
      const type = adminService.spec?.type ?? 'ClusterIP';
      if (type !== 'ClusterIP')
        problems.push(`Service ${GATEWAY.adminService} is ${type}, not ClusterIP`);
      if ((adminService.spec?.externalIPs ?? []).length > 0)
        problems.push(`Service ${GATEWAY.adminService} has externalIPs`);
    }
    return problems;
  });

/** Whether a NetworkPolicy port list covers a TCP port (an empty list covers every port). */
function coversPort(
  ports: readonly INetworkPolicyPort[] | undefined,
  port: { readonly name: string; readonly number: number },
): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== 'TCP') return false;
    if (p.port === undefined) return true;
    if (p.port === port.name || p.port === port.number) return true;
    return typeof p.port === 'number' && p.endPort !== undefined
      ? p.port <= port.number && port.number <= p.endPort
      : false;
  });
}

/**
 * NetworkPolicies isolate the gateway pods for ingress; every rule reaching the admin port
 * admits only in-cluster pods (peers with selectors, never an ipBlock or "from anywhere"),
 * and some rule opens the public port to everyone. Policies add up, so every policy that
 * selects the pods is considered.
 */
export const adminPortInClusterOnly: Check = (objects) =>
  withGateway(objects, ({ podLabels, container }) => {
    const problems: string[] = [];
    const http = resolvePort(container, GATEWAY.httpPort);
    const admin = resolvePort(container, GATEWAY.adminPort);
    if (http === undefined || admin === undefined)
      return ['the gateway container lacks its http or admin port'];
    const isolating = objects
      .filter((o) => NetworkPolicy.is(o))
      .filter((p) => selects(p.spec?.podSelector ?? {}, podLabels))
      // Ingress is always isolated when policyTypes is left out.
      .filter((p) => (p.spec?.policyTypes ?? ['Ingress']).includes('Ingress'));
    if (isolating.length === 0)
      return ['no NetworkPolicy isolates the gateway pods: the admin port is open to anyone'];
    let httpOpen = false;
    for (const policy of isolating) {
      for (const [i, rule] of (policy.spec?.ingress ?? []).entries()) {
        const where = `${nameOf(policy)} ingress rule ${i + 1}`;
        const from = rule.from ?? [];
        if (coversPort(rule.ports, { name: GATEWAY.httpPort, number: http }) && from.length === 0)
          httpOpen = true;
        if (!coversPort(rule.ports, { name: GATEWAY.adminPort, number: admin })) continue;
        if (from.length === 0) problems.push(`${where} opens the admin port to any source`);
        for (const peer of from) {
          if (peer.ipBlock !== undefined)
            problems.push(`${where} admits ${peer.ipBlock.cidr} to the admin port (an ipBlock)`);
          else if (peer.namespaceSelector === undefined && peer.podSelector === undefined)
            problems.push(`${where} has a peer without selectors`);
        }
      }
    }
    if (!httpOpen) problems.push('no NetworkPolicy rule opens the http port to every source');
    return problems;
  });

/** Every container image names a tag other than `latest`, or a digest. */
export const imagesPinned: Check = (objects) => {
  const problems: string[] = [];
  for (const { object, pod } of workloads(objects)) {
    for (const c of allContainers(pod)) {
      const image = c.image ?? '';
      const lastSegment = image.split('/').at(-1) ?? '';
      const tag = lastSegment.includes(':') ? lastSegment.split(':').at(-1) : undefined;
      if (!image.includes('@sha256:') && (tag === undefined || tag === 'latest'))
        problems.push(`${nameOf(object)} container ${c.name} runs ${image} without a pinned tag`);
    }
  }
  return problems;
};

/**
 * The gateway pods spread softly across nodes (a topology spread constraint on the host name or
 * preferred anti-affinity), so a node loss takes few streams with it and a small cluster still
 * schedules every replica.
 */
export const spreadAcrossNodes: Check = (objects) =>
  withGateway(objects, ({ pod, podLabels }) => {
    const host = 'kubernetes.io/hostname';
    const spread = (pod.topologySpreadConstraints ?? []).find(
      (t) => t.topologyKey === host && selects(t.labelSelector ?? {}, podLabels),
    );
    const antiAffinity = pod.affinity?.podAntiAffinity;
    const preferred = (antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).some(
      (t) =>
        t.podAffinityTerm.topologyKey === host &&
        selects(t.podAffinityTerm.labelSelector ?? {}, podLabels),
    );
    if (spread === undefined && !preferred)
      return [
        'the gateway pods are not spread across nodes (topologySpreadConstraints on kubernetes.io/hostname)',
      ];
    const problems: string[] = [];
    if (spread !== undefined && spread.whenUnsatisfiable !== 'ScheduleAnyway')
      problems.push(
        'the spread across nodes is hard (DoNotSchedule): scale-out stalls on small clusters',
      );
    if ((antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).length > 0)
      problems.push('required pod anti-affinity caps the replicas at the node count');
    return problems;
  });

/**
 * Dev: REDIS_URL points at a Service of the render that selects a Redis StatefulSet, which runs
 * with the append-only file on a persistent volume and a raised pub/sub output buffer limit.
 */
export const devRedis: Check = (objects) =>
  withGateway(objects, (_gateway, env) => {
    const text = plain(env, 'REDIS_URL');
    if (text === undefined) return ['REDIS_URL is not a plain value in the dev gateway config'];
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return [`REDIS_URL=${text} is not a URL`];
    }
    const problems: string[] = [];
    if (url.protocol !== 'redis:') problems.push(`REDIS_URL uses ${url.protocol}, not redis:`);
    const serviceName = url.hostname.split('.')[0] ?? '';
    const port = url.port === '' ? 6379 : Number(url.port);
    const service = objects
      .filter((o) => Service.is(o))
      .find((s) => s.metadata.name === serviceName);
    if (service === undefined)
      return [`REDIS_URL names ${url.hostname}, which is no Service of the render`];
    const servicePort = service.spec?.ports?.find((p) => p.port === port);
    if (servicePort === undefined) problems.push(`Service ${serviceName} has no port ${port}`);
    const statefulSet = objects
      .filter((o) => StatefulSet.is(o))
      .find((s) =>
        selects(
          { matchLabels: service.spec?.selector ?? {} },
          s.spec?.template.metadata?.labels ?? {},
        ),
      );
    const redis = statefulSet?.spec?.template.spec?.containers[0];
    if (statefulSet === undefined || redis === undefined)
      return [...problems, `Service ${serviceName} selects no StatefulSet`];
    if (servicePort !== undefined && !hasPort(redis, servicePort.targetPort ?? servicePort.port))
      problems.push(`Service ${serviceName} targets a port the Redis container does not declare`);
    if (!(redis.image ?? '').startsWith('redis:7'))
      problems.push(`the Redis container runs ${redis.image ?? 'no image'}, not redis:7.x`);
    const args = [...(redis.command ?? []), ...(redis.args ?? [])];
    const after = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    if (!args.includes('--appendonly') || after('--appendonly') !== 'yes')
      problems.push('Redis runs without --appendonly yes: events and history die with the pod');
    const pubsub = after('--client-output-buffer-limit');
    if (!args.includes('--client-output-buffer-limit') || !(pubsub ?? '').startsWith('pubsub '))
      problems.push(
        'Redis keeps the default pub/sub output buffer limit (--client-output-buffer-limit pubsub …)',
      );
    const claims = (statefulSet.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name);
    if (!(redis.volumeMounts ?? []).some((m) => claims.includes(m.name)))
      problems.push(
        'Redis mounts no volumeClaimTemplate: the append-only file is lost with the pod',
      );
    return problems;
  });

/**
 * Prod: REDIS_URL comes from the operator's Secret (not optional, so a missing Secret stops the
 * rollout instead of starting in-memory brokers), no ConfigMap or env holds a plain one, and
 * the render contains no Secret.
 */
export const prodRedisFromSecret: Check = (objects) =>
  withGateway(objects, (_gateway, env) => {
    const problems: string[] = [];
    const source = env.vars.get('REDIS_URL');
    if (source === undefined) {
      problems.push('REDIS_URL is not set: each pod would run its own in-memory broker');
    } else if (source.from !== 'secret') {
      problems.push(`REDIS_URL comes from ${source.origin}, not a secretKeyRef`);
    } else {
      if (source.secret !== GATEWAY.redisSecret.name || source.key !== GATEWAY.redisSecret.key)
        problems.push(
          `REDIS_URL reads ${source.secret}/${source.key}; k8s/README.md documents ${GATEWAY.redisSecret.name}/${GATEWAY.redisSecret.key}`,
        );
      if (source.optional)
        problems.push(
          'the REDIS_URL secretKeyRef is optional: without the Secret each pod would run its own broker',
        );
    }
    for (const configMap of objects.filter((o) => ConfigMap.is(o))) {
      if (configMap.data?.['REDIS_URL'] !== undefined)
        problems.push(`${nameOf(configMap)} holds a plain REDIS_URL`);
    }
    for (const secret of objects.filter((o) => Secret.is(o)))
      problems.push(`${nameOf(secret)} is committed; the operator creates Secrets`);
    return problems;
  });

/**
 * A ServiceMonitor selects the admin Service (and not the public one) and scrapes a port name
 * that Service has.
 */
export const serviceMonitorScrapesAdmin: Check = (objects) => {
  const monitors = objects.filter(isServiceMonitor);
  if (monitors.length === 0) return ['the render has no ServiceMonitor'];
  const services = objects.filter((o) => Service.is(o));
  const adminService = services.find((s) => s.metadata.name === GATEWAY.adminService);
  const publicService = services.find((s) => s.metadata.name === GATEWAY.service);
  if (adminService === undefined) return [`the render has no Service ${GATEWAY.adminService}`];
  const problems: string[] = [];
  for (const monitor of monitors) {
    const name = nameOf(monitor);
    problems.push(...serviceMonitorShape(monitor));
    const matchLabels = at(monitor, 'spec', 'selector', 'matchLabels');
    if (!isStringRecord(matchLabels)) continue;
    if (!selects({ matchLabels }, adminService.metadata.labels ?? {}))
      problems.push(`${name} does not select Service ${GATEWAY.adminService} by its labels`);
    if (
      publicService !== undefined &&
      selects({ matchLabels }, publicService.metadata.labels ?? {})
    )
      problems.push(`${name} also selects the public Service ${GATEWAY.service}`);
    const portNames = (adminService.spec?.ports ?? []).map((p) => p.name);
    const endpoints = at(monitor, 'spec', 'endpoints');
    for (const endpoint of Array.isArray(endpoints) ? (endpoints as unknown[]) : []) {
      const port = at(endpoint, 'port');
      if (typeof port === 'string' && !portNames.includes(port))
        problems.push(
          `${name} scrapes port ${port}, which Service ${GATEWAY.adminService} does not name`,
        );
      const path = at(endpoint, 'path');
      if (path !== undefined && path !== '/metrics')
        problems.push(`${name} scrapes ${JSON.stringify(path)}, not /metrics`);
    }
  }
  return problems;
};

const NGINX = 'nginx.ingress.kubernetes.io/';

/**
 * The example Ingress for ingress-nginx: buffering off, timeouts well above the heartbeat (one
 * late heartbeat must not cut a stream), HTTP/1.1 upstream, no hashing or affinity (any replica
 * serves any topic), and backends only on the public Service's ports.
 *
 * @param ingresses - Objects of the example file.
 * @param rendered - A rendered overlay, for the Service and the heartbeat setting.
 */
export function ingressForSse(
  ingresses: readonly KubeObject[],
  rendered: readonly KubeObject[],
): string[] {
  return withGateway(rendered, (_gateway, env) => {
    const problems: string[] = [];
    const heartbeatMs = intSetting(env, 'HEARTBEAT_MS', GATEWAY_DEFAULTS.HEARTBEAT_MS);
    if (typeof heartbeatMs === 'string') return [heartbeatMs];
    const publicService = rendered
      .filter((o) => Service.is(o))
      .find((s) => s.metadata.name === GATEWAY.service);
    const ingressList = ingresses.filter((o) => Ingress.is(o));
    if (ingressList.length === 0) return ['the example holds no Ingress'];
    for (const ingress of ingressList) {
      const name = nameOf(ingress);
      const notes = ingress.metadata.annotations ?? {};
      if (notes[`${NGINX}proxy-buffering`] !== 'off')
        problems.push(`${name}: proxy-buffering is not off`);
      if (notes[`${NGINX}proxy-http-version`] !== '1.1')
        problems.push(`${name}: proxy-http-version is not 1.1`);
      for (const timeout of ['proxy-read-timeout', 'proxy-send-timeout']) {
        const seconds = Number(notes[`${NGINX}${timeout}`]);
        if (!(seconds > (2 * heartbeatMs) / 1000))
          problems.push(
            `${name}: ${timeout} must be more than twice the ${heartbeatMs / 1000} s heartbeat`,
          );
      }
      for (const pinning of ['upstream-hash-by', 'affinity'])
        if (notes[`${NGINX}${pinning}`] !== undefined)
          problems.push(
            `${name}: ${pinning} pins clients to replicas; any replica serves any topic`,
          );
      const backends = [
        ingress.spec?.defaultBackend,
        ...(ingress.spec?.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend)),
      ].flatMap((b) => (b?.service === undefined ? [] : [b.service]));
      if (backends.length === 0) problems.push(`${name} has no Service backend`);
      for (const backend of backends) {
        if (backend.name !== GATEWAY.service) {
          problems.push(`${name} routes to Service ${backend.name}, not ${GATEWAY.service}`);
          continue;
        }
        const port = backend.port?.name ?? backend.port?.number;
        const exists = (publicService?.spec?.ports ?? []).some(
          (p) => p.name === port || p.port === port,
        );
        if (!exists)
          problems.push(`${name} routes to port ${String(port)}, which ${GATEWAY.service} lacks`);
      }
    }
    return problems;
  });
}
