/**
 * The settings table, {@link SETTINGS}: one entry per setting with its kind, default, group and
 * help text, and the names derived from its key (`heartbeatMs` ⇄ `HEARTBEAT_MS` ⇄
 * `--heartbeat-ms`). `--help` and docs/configuration.md are both rendered from it.
 */
import { DEPLOYMENT_DEFAULTS, MAX_SHARDS } from '@ssehub/protocol';
import { LOG_LEVELS, type GatewayConfig } from './types.js';
import {
  boolean,
  corsOrigins,
  dedupe,
  host,
  integer,
  list,
  logLevel,
  MAX_REDIS_STRING_BYTES,
  MAX_TIMER_MS,
  pattern,
  publicKeyPem,
  redisNodes,
  redisPrefix,
  string,
  trustProxy,
  url,
  type Kind,
} from './kinds.js';

/** Settings as stored in the table: {@link GatewayConfig} with `auth` as its three variables. */
export type FlatConfig = Omit<GatewayConfig, 'auth'> & {
  readonly authJwtSecret: string | undefined;
  readonly authJwtPublicKey: string | undefined;
  readonly authJwksUrl: string | undefined;
};

/** A setting's name in the table: its camelCase option (`heartbeatMs`). */
export type SettingKey = keyof FlatConfig;

/** Reads the resolved value of another setting, for defaults that depend on one. */
export type Resolve = <K extends SettingKey>(key: K) => FlatConfig[K];

type Default<T> =
  | { readonly value: T; readonly text?: string }
  | { readonly derive: (resolve: Resolve) => T; readonly text: string };

/** Headings of `--help` and docs/configuration.md, in order. */
export type Group =
  'Listeners' | 'Broker' | 'Events and history' | 'Auth and CORS' | 'Limits' | 'Process';

/** One row of the table: how a setting is checked, what it defaults to, and its help text. */
export interface Setting<T> {
  readonly group: Group;
  /** For an optional setting, a kind of the defined values: `Kind` is covariant. */
  readonly kind: Kind<T>;
  readonly default: Default<T>;
  /** One paragraph for `--help`: what it does, with its unit and range. */
  readonly doc: string;
}

type SettingTable = { [K in SettingKey]: Setting<FlatConfig[K]> };

const unset = { value: undefined, text: 'unset' } as const;

const isAuthOn = (resolve: Resolve): boolean =>
  resolve('authJwtSecret') !== undefined ||
  resolve('authJwtPublicKey') !== undefined ||
  resolve('authJwksUrl') !== undefined;

/**
 * Every setting. Its key is the camelCase option; the variable is the key in SCREAMING_SNAKE
 * case and the flag the key in kebab case (see {@link envName} and {@link flagName}). The order
 * is the order of `--help`.
 */
export const SETTINGS: SettingTable = {
  host: {
    group: 'Listeners',
    kind: host(),
    default: { value: '0.0.0.0' },
    doc: 'Interface of the public (subscribe) port. 0.0.0.0 is every IPv4 interface; use :: for dual stack.',
  },
  port: {
    group: 'Listeners',
    kind: integer(0, 65_535, '<port>'),
    default: { value: 8080 },
    doc: 'Port of the public listener; 0 picks a free port.',
  },
  adminHost: {
    group: 'Listeners',
    kind: host(),
    default: { derive: (resolve) => resolve('host'), text: 'same as HOST' },
    doc: 'Interface of the admin port (publish, health, metrics, admin page).',
  },
  adminPort: {
    group: 'Listeners',
    kind: integer(0, 65_535, '<port>'),
    default: { value: 9090 },
    doc: 'Port of the admin listener; keep it inside the cluster network. 0 picks a free port.',
  },
  tlsCert: {
    group: 'Listeners',
    kind: string('<path>'),
    default: unset,
    doc: 'PEM certificate file: the public port then speaks HTTPS with HTTP/2 and HTTP/1.1. Needs TLS_KEY.',
  },
  tlsKey: {
    group: 'Listeners',
    kind: string('<path>'),
    default: unset,
    doc: 'PEM private key file for TLS_CERT. Needs TLS_CERT.',
  },
  keepAliveTimeoutMs: {
    group: 'Listeners',
    kind: integer(1, MAX_TIMER_MS, '<ms>'),
    default: { value: 65_000 },
    doc: 'HTTP keep-alive timeout in ms; keep it above the load balancer idle timeout and above HEARTBEAT_MS.',
  },

  redisUrl: {
    group: 'Broker',
    kind: url(['redis:', 'rediss:'], { redact: true }),
    default: { value: undefined, text: 'unset (embedded broker)' },
    doc: 'One Redis server, redis:// or rediss://. With no REDIS_* server setting the embedded in-memory broker runs (single replica).',
  },
  redisSentinels: {
    group: 'Broker',
    kind: redisNodes(26_379),
    default: unset,
    doc: 'Redis Sentinel nodes, comma-separated host:port (port 26379 when left out). Needs REDIS_SENTINEL_NAME.',
  },
  redisSentinelName: {
    group: 'Broker',
    kind: string('<name>'),
    default: unset,
    doc: 'Name of the master monitored by REDIS_SENTINELS.',
  },
  redisClusterNodes: {
    group: 'Broker',
    kind: redisNodes(6379),
    default: unset,
    doc: 'Redis Cluster seed nodes, comma-separated host:port (port 6379 when left out); uses sharded pub/sub (Redis 7+).',
  },
  redisPrefix: {
    group: 'Broker',
    kind: redisPrefix(),
    default: { value: DEPLOYMENT_DEFAULTS.prefix },
    doc: 'Prefix of every Redis key and channel.',
  },
  redisShards: {
    group: 'Broker',
    // The protocol's limit (an event id holds one cursor per shard); the doc's "1 to 16" follows it.
    kind: integer(1, MAX_SHARDS, '<count>'),
    default: { value: DEPLOYMENT_DEFAULTS.shards },
    doc: 'History and pub/sub shards, 1 to 16; fixed for the life of a deployment.',
  },

  heartbeatMs: {
    group: 'Events and history',
    kind: integer(100, MAX_TIMER_MS, '<ms>'),
    default: { value: 15_000 },
    doc: 'Interval in ms between heartbeats on an idle stream (at least 100); below every idle timeout on the path.',
  },
  historySize: {
    group: 'Events and history',
    kind: integer(0, 10_000_000, '<events>'),
    default: { value: DEPLOYMENT_DEFAULTS.historySize },
    doc: 'Events kept per shard for resume, 0 to 10000000; 0 turns history off.',
  },
  historyTtlMs: {
    group: 'Events and history',
    kind: integer(1, MAX_TIMER_MS, '<ms>'),
    default: { value: DEPLOYMENT_DEFAULTS.historyTtlMs },
    doc: 'Age in ms after which a history entry may be dropped.',
  },
  maxEventBytes: {
    group: 'Events and history',
    kind: integer(1, MAX_REDIS_STRING_BYTES, '<bytes>'),
    default: { value: DEPLOYMENT_DEFAULTS.maxEventBytes },
    doc: 'Largest event data in UTF-8 bytes (413 EVENT_TOO_LARGE above).',
  },
  maxBodyBytes: {
    group: 'Events and history',
    kind: integer(1, MAX_REDIS_STRING_BYTES, '<bytes>'),
    default: { value: 1_048_576 },
    doc: 'Largest publish request body in bytes (413 BODY_TOO_LARGE above).',
  },
  idempotencyTtlMs: {
    group: 'Events and history',
    kind: integer(1, MAX_TIMER_MS, '<ms>'),
    default: { value: DEPLOYMENT_DEFAULTS.idempotencyTtlMs },
    doc: 'How long in ms an Idempotency-Key is remembered.',
  },

  authJwtSecret: {
    group: 'Auth and CORS',
    kind: string('<secret>', { isSecret: true }),
    default: unset,
    doc: 'HMAC secret (HS256/384/512, used as UTF-8 bytes) that turns auth on.',
  },
  authJwtPublicKey: {
    group: 'Auth and CORS',
    kind: publicKeyPem(),
    default: unset,
    doc: 'PEM public key or certificate (RS*, ES*, EdDSA) that turns auth on; literal \\n escapes are accepted.',
  },
  authJwksUrl: {
    group: 'Auth and CORS',
    kind: url(['http:', 'https:']),
    default: unset,
    doc: 'JWKS endpoint (http or https) that turns auth on.',
  },
  authJwtAudience: {
    group: 'Auth and CORS',
    kind: string('<aud>'),
    default: { value: undefined, text: 'unset (not checked)' },
    doc: 'Required aud claim; only with auth on.',
  },
  authJwtIssuer: {
    group: 'Auth and CORS',
    kind: string('<iss>'),
    default: { value: undefined, text: 'unset (not checked)' },
    doc: 'Required iss claim; only with auth on.',
  },
  publicTopics: {
    group: 'Auth and CORS',
    kind: list('<patterns>', pattern, dedupe),
    default: { value: [], text: 'none' },
    doc: 'Comma-separated patterns anonymous clients may subscribe to when auth is on.',
  },
  corsOrigins: {
    group: 'Auth and CORS',
    kind: corsOrigins(),
    default: {
      derive: (resolve) => (isAuthOn(resolve) ? [] : '*'),
      text: '* with auth off, none with auth on',
    },
    doc: 'Comma-separated origins (scheme://host[:port]) allowed with credentials, or * for any origin without credentials.',
  },
  adminToken: {
    group: 'Auth and CORS',
    kind: string('<token>', { isSecret: true }),
    default: unset,
    doc: 'Bearer token required on the admin port when set.',
  },

  maxConnections: {
    group: 'Limits',
    kind: integer(1, Number.MAX_SAFE_INTEGER, '<count>'),
    default: { value: 50_000 },
    doc: 'Open SSE connections per replica.',
  },
  maxConnectionsPerIp: {
    group: 'Limits',
    kind: integer(1, Number.MAX_SAFE_INTEGER, '<count>'),
    default: { value: 1_000 },
    doc: 'Open SSE connections per client address per replica.',
  },
  maxConnectionsPerSubject: {
    group: 'Limits',
    kind: integer(1, Number.MAX_SAFE_INTEGER, '<count>'),
    default: { value: 100 },
    doc: 'Open SSE connections per token subject per replica.',
  },
  trustProxy: {
    group: 'Limits',
    kind: trustProxy(),
    default: { value: 0 },
    doc: 'Proxy hops to trust in X-Forwarded-For (0 to 100; true = 1, false = 0); 0 uses the socket address.',
  },
  maxBufferedBytes: {
    group: 'Limits',
    kind: integer(1, Number.MAX_SAFE_INTEGER, '<bytes>'),
    default: { value: 1_048_576 },
    doc: 'Unsent bytes after which one connection is closed as a slow consumer.',
  },
  maxTotalBufferedBytes: {
    group: 'Limits',
    kind: integer(1, Number.MAX_SAFE_INTEGER, '<bytes>'),
    default: { value: 268_435_456 },
    doc: 'Cap on unsent bytes over all connections; the largest holders are closed first.',
  },
  maxConnectionAgeMs: {
    group: 'Limits',
    kind: integer(0, MAX_TIMER_MS, '<ms>'),
    default: { value: 0, text: '0 (off)' },
    doc: 'Age in ms (plus up to 20% jitter) after which a stream is closed so clients move to new replicas; 0 is off.',
  },

  shutdownGraceMs: {
    group: 'Process',
    kind: integer(0, MAX_TIMER_MS, '<ms>'),
    default: { value: 25_000 },
    doc: 'Time in ms over which SIGTERM closes open streams before the process exits.',
  },
  logLevel: {
    group: 'Process',
    kind: logLevel(),
    default: { value: 'info' },
    doc: `Pino log level: ${LOG_LEVELS.join(', ')}.`,
  },
  playground: {
    group: 'Process',
    kind: boolean(),
    default: {
      derive: (resolve) => resolve('nodeEnv') !== 'production',
      text: 'true unless NODE_ENV is production',
    },
    doc: 'Serve the playground page at / of the public port (1, true, 0 or false).',
  },
  nodeEnv: {
    group: 'Process',
    kind: string('<env>'),
    default: { value: 'development' },
    doc: 'Deployment environment; production turns the playground off by default.',
  },
};

/** Every setting's key, in table order (the order of `--help` and the docs). */
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** Whether `key` names a setting of the table (an own key, so `toString` is not one). */
export const isSettingKey = (key: string): key is SettingKey => Object.hasOwn(SETTINGS, key);

/** `heartbeatMs` → `HEARTBEAT_MS`. */
export const envName = (key: SettingKey): string =>
  key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** `heartbeatMs` → `--heartbeat-ms`. */
export const flagName = (key: SettingKey): string =>
  `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Setting key by flag (`--heartbeat-ms` → `heartbeatMs`), for reading the command line. */
export const FLAG_KEYS: ReadonlyMap<string, SettingKey> = new Map(
  SETTING_KEYS.map((key) => [flagName(key), key]),
);

/** Loose form of a name for "did you mean" hints: case, `-` and `_` ignored. */
const loose = (name: string): string => name.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();

/**
 * A ` (did you mean …?)` hint for an unknown name that matches a candidate but for case, `-` and
 * `_`, or `''` when none does.
 */
export function suggestion(name: string, candidates: readonly string[]): string {
  const match = candidates.find((candidate) => loose(candidate) === loose(name));
  return match === undefined ? '' : ` (did you mean ${match}?)`;
}

/** The default as `--help` and docs/configuration.md show it: its text, else its value. */
export function defaultText(setting: Setting<unknown>): string {
  const fallback = setting.default;
  if (fallback.text !== undefined) return fallback.text;
  return 'value' in fallback ? String(fallback.value) : '';
}
