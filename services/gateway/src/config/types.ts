/**
 * The public types of the gateway's settings: the resolved {@link GatewayConfig}, the library
 * options {@link GatewayOptions}, and the two errors `loadConfig` throws. The TSDoc of each
 * field is the reference for library users; the operator reference (docs/configuration.md and
 * `--help`) is generated from the settings table in `settings.ts` instead.
 */
/** Pino levels accepted by `LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One Redis Sentinel or Redis Cluster node. */
export interface RedisNode {
  /** Host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** TCP port, 1 to 65535. */
  readonly port: number;
}

/**
 * How subscription and publish tokens are verified (SPEC.md 6). Exactly one of
 * `AUTH_JWT_SECRET`, `AUTH_JWT_PUBLIC_KEY` and `AUTH_JWKS_URL` selects the kind; none means
 * `{ kind: 'none' }` (anyone may subscribe to anything).
 */
export type AuthConfig =
  | { readonly kind: 'none' }
  /** HS256/384/512; the secret is used as its UTF-8 bytes. */
  | { readonly kind: 'secret'; readonly secret: string }
  /** RS*, ES*, EdDSA; always an SPKI PEM (`-----BEGIN PUBLIC KEY-----`), whatever was given. */
  | { readonly kind: 'publicKey'; readonly pem: string }
  /** Keys fetched from a JWKS endpoint (http or https). */
  | { readonly kind: 'jwks'; readonly url: string };

/**
 * Which broker the settings select (SPEC.md 9), derived from the `REDIS_*` settings by
 * `brokerOf` so the gateway, the startup log and the tests read the topology from one place. At
 * most one of `REDIS_URL`, `REDIS_SENTINELS` and `REDIS_CLUSTER_NODES` is set (a rule of
 * `resolveConfig`); none means the embedded broker.
 */
export type BrokerConfig =
  /** In-memory broker of this process: single replica only. */
  | { readonly kind: 'embedded' }
  | {
      readonly kind: 'standalone';
      /** `redis://` or `rediss://` URL of one Redis server (`REDIS_URL`). */
      readonly url: string;
    }
  | {
      readonly kind: 'sentinel';
      /** Sentinel nodes to ask for the master, at least one (`REDIS_SENTINELS`). */
      readonly sentinels: readonly RedisNode[];
      /** Name of the monitored master (`REDIS_SENTINEL_NAME`). */
      readonly name: string;
    }
  | {
      readonly kind: 'cluster';
      /** Seed nodes of the Redis Cluster, at least one (`REDIS_CLUSTER_NODES`). */
      readonly nodes: readonly RedisNode[];
    };

/** One of the kinds of {@link BrokerConfig}: `embedded`, `standalone`, `sentinel` or `cluster`. */
export type BrokerKind = BrokerConfig['kind'];

/**
 * Fully resolved gateway settings: every default applied, every rule checked, deeply frozen.
 * Built by `loadConfig` (environment and flags) or `resolveConfig` (library options).
 */
export interface GatewayConfig {
  /**
   * Interface the public (subscribe) port listens on. `0.0.0.0` (every IPv4 interface) suits
   * containers and Kubernetes and keeps `curl localhost:8080` working; use `::` for dual stack.
   * Variable `HOST`, flag `--host`.
   * @defaultValue '0.0.0.0'
   */
  readonly host: string;
  /**
   * TCP port of the public listener (subscribe routes, playground). `0` picks a free port, which
   * tests use. Variable `PORT`, flag `--port`.
   * @defaultValue 8080
   */
  readonly port: number;
  /**
   * Interface the admin port listens on. Variable `ADMIN_HOST`, flag `--admin-host`.
   * @defaultValue the value of {@link GatewayConfig.host}
   */
  readonly adminHost: string;
  /**
   * TCP port of the admin listener (publish, health, metrics, admin page); keep it inside the
   * cluster network. `0` picks a free port. Variable `ADMIN_PORT`, flag `--admin-port`.
   * @defaultValue 9090
   */
  readonly adminPort: number;
  /**
   * PEM certificate file for HTTPS with HTTP/2 on the public port; needs {@link tlsKey}.
   * Variable `TLS_CERT`, flag `--tls-cert`.
   * @defaultValue undefined (plain HTTP/1.1)
   */
  readonly tlsCert: string | undefined;
  /**
   * PEM private key file matching {@link tlsCert}. Variable `TLS_KEY`, flag `--tls-key`.
   * @defaultValue undefined
   */
  readonly tlsKey: string | undefined;
  /**
   * HTTP keep-alive timeout in milliseconds: longer than common load balancer idle timeouts (AWS
   * ALB 60 s) so the server never closes a socket the balancer is about to reuse. Must be above
   * {@link heartbeatMs}. Variable `KEEP_ALIVE_TIMEOUT_MS`, flag `--keep-alive-timeout-ms`.
   * @defaultValue 65_000
   */
  readonly keepAliveTimeoutMs: number;
  /**
   * `redis://` or `rediss://` URL of one Redis server; unset (with no Sentinel or Cluster
   * setting) runs the embedded in-memory broker, single replica only. Variable `REDIS_URL`,
   * flag `--redis-url`.
   * @defaultValue undefined (embedded broker)
   */
  readonly redisUrl: string | undefined;
  /**
   * Redis Sentinel nodes (`h1:26379,h2:26379`; port 26379 when left out); needs
   * {@link redisSentinelName}. Variable `REDIS_SENTINELS`, flag `--redis-sentinels`.
   * @defaultValue undefined
   */
  readonly redisSentinels: readonly RedisNode[] | undefined;
  /**
   * Name of the Sentinel-monitored master. Variable `REDIS_SENTINEL_NAME`, flag
   * `--redis-sentinel-name`.
   * @defaultValue undefined
   */
  readonly redisSentinelName: string | undefined;
  /**
   * Redis Cluster seed nodes (`h1:6379,h2:6379`; port 6379 when left out); uses sharded pub/sub
   * (Redis 7+). Variable `REDIS_CLUSTER_NODES`, flag `--redis-cluster-nodes`.
   * @defaultValue undefined
   */
  readonly redisClusterNodes: readonly RedisNode[] | undefined;
  /**
   * Prefix of every Redis key and channel, checked by `validatePrefix` from `@ssehub/protocol`.
   * Variable `REDIS_PREFIX`, flag `--redis-prefix`.
   * @defaultValue 'ssehub'
   */
  readonly redisPrefix: string;
  /**
   * Number of history/pub-sub shards, 1 to 16; fixed for the life of a deployment (a gateway
   * whose count differs from the one stored in Redis refuses to start). Variable
   * `REDIS_SHARDS`, flag `--redis-shards`.
   * @defaultValue 1
   */
  readonly redisShards: number;
  /**
   * Interval between heartbeat comments on an idle stream, in milliseconds, at least 100. Must
   * stay below the shortest idle timeout on the path (nginx: 60 s) and below
   * {@link keepAliveTimeoutMs}. Variable `HEARTBEAT_MS`, flag `--heartbeat-ms`.
   * @defaultValue 15_000
   */
  readonly heartbeatMs: number;
  /**
   * Events kept per shard for resume, 0 to 10 000 000; `0` turns history off (every resume gets
   * `history_trimmed`). Variable `HISTORY_SIZE`, flag `--history-size`.
   * @defaultValue 10_000
   */
  readonly historySize: number;
  /**
   * Age in milliseconds after which a history entry may be dropped, at least 1. Variable
   * `HISTORY_TTL_MS`, flag `--history-ttl-ms`.
   * @defaultValue 3_600_000 (1 hour)
   */
  readonly historyTtlMs: number;
  /**
   * Largest event data, in UTF-8 bytes (413 `EVENT_TOO_LARGE` above). Variable
   * `MAX_EVENT_BYTES`, flag `--max-event-bytes`.
   * @defaultValue 65_536 (64 KiB)
   */
  readonly maxEventBytes: number;
  /**
   * Largest publish request body, in bytes (413 `BODY_TOO_LARGE` above). Variable
   * `MAX_BODY_BYTES`, flag `--max-body-bytes`.
   * @defaultValue 1_048_576 (1 MiB)
   */
  readonly maxBodyBytes: number;
  /**
   * How long an `Idempotency-Key` is remembered, in milliseconds. Variable
   * `IDEMPOTENCY_TTL_MS`, flag `--idempotency-ttl-ms`.
   * @defaultValue 300_000 (5 minutes)
   */
  readonly idempotencyTtlMs: number;
  /**
   * Token verification, from `AUTH_JWT_SECRET`, `AUTH_JWT_PUBLIC_KEY` (PEM text; literal `\n`
   * escapes accepted) or `AUTH_JWKS_URL`, at most one of them.
   * @defaultValue `{ kind: 'none' }`
   */
  readonly auth: AuthConfig;
  /**
   * Required `aud` claim; only with auth on. Variable `AUTH_JWT_AUDIENCE`, flag
   * `--auth-jwt-audience`.
   * @defaultValue undefined (not checked)
   */
  readonly authJwtAudience: string | undefined;
  /**
   * Required `iss` claim; only with auth on. Variable `AUTH_JWT_ISSUER`, flag
   * `--auth-jwt-issuer`.
   * @defaultValue undefined (not checked)
   */
  readonly authJwtIssuer: string | undefined;
  /**
   * Patterns anonymous clients may subscribe to when auth is on, normalized by `parsePattern`
   * (a leading `/` dropped, duplicates removed). Variable `PUBLIC_TOPICS` (comma-separated),
   * flag `--public-topics`.
   * @defaultValue [] (none)
   */
  readonly publicTopics: readonly string[];
  /**
   * Origins allowed by CORS (`scheme://host[:port]`, normalized to what browsers send in
   * `Origin`), or `'*'` for any origin without credentials. Variable `CORS_ORIGINS`
   * (comma-separated, or `*`), flag `--cors-origins`.
   * @defaultValue '*' when auth is off, [] when it is on
   */
  readonly corsOrigins: '*' | readonly string[];
  /**
   * Required as `Authorization: Bearer` on the admin port when set. Variable `ADMIN_TOKEN`,
   * flag `--admin-token`.
   * @defaultValue undefined (admin port open; keep it off the Ingress)
   */
  readonly adminToken: string | undefined;
  /**
   * Open SSE connections per replica (429, or the not-ready answer for an `EventSource`,
   * above). Variable `MAX_CONNECTIONS`, flag `--max-connections`.
   * @defaultValue 50_000
   */
  readonly maxConnections: number;
  /**
   * Open SSE connections per client address per replica. Variable `MAX_CONNECTIONS_PER_IP`,
   * flag `--max-connections-per-ip`.
   * @defaultValue 1_000
   */
  readonly maxConnectionsPerIp: number;
  /**
   * Open SSE connections per token subject (`sub`) per replica. Variable
   * `MAX_CONNECTIONS_PER_SUBJECT`, flag `--max-connections-per-subject`.
   * @defaultValue 100
   */
  readonly maxConnectionsPerSubject: number;
  /**
   * Proxy hops to trust in `X-Forwarded-For` when finding the client address, 0 to 100; `0`
   * uses the socket address. The text `true` means 1 and `false` means 0. Variable
   * `TRUST_PROXY`, flag `--trust-proxy`.
   * @defaultValue 0
   */
  readonly trustProxy: number;
  /**
   * Unsent live bytes after which one connection is closed as a slow consumer (it resumes from
   * history on reconnect). Variable `MAX_BUFFERED_BYTES`, flag `--max-buffered-bytes`.
   * @defaultValue 1_048_576 (1 MiB)
   */
  readonly maxBufferedBytes: number;
  /**
   * Cap on unsent bytes summed over all connections; past it the connections holding the most
   * are closed first. Variable `MAX_TOTAL_BUFFERED_BYTES`, flag `--max-total-buffered-bytes`.
   * @defaultValue 268_435_456 (256 MiB)
   */
  readonly maxTotalBufferedBytes: number;
  /**
   * Age in milliseconds (plus up to 20% jitter) after which a stream is closed like a drain, so
   * connections spread onto new replicas; `0` is off. Variable `MAX_CONNECTION_AGE_MS`, flag
   * `--max-connection-age-ms`.
   * @defaultValue 0 (off)
   */
  readonly maxConnectionAgeMs: number;
  /**
   * Time in milliseconds over which SIGTERM closes open streams (spread over its first 80%)
   * before the process exits. Variable `SHUTDOWN_GRACE_MS`, flag `--shutdown-grace-ms`.
   * @defaultValue 25_000
   */
  readonly shutdownGraceMs: number;
  /**
   * Pino log level. Variable `LOG_LEVEL`, flag `--log-level`.
   * @defaultValue 'info'
   */
  readonly logLevel: LogLevel;
  /**
   * Serve the playground page at `/` of the public port (and let it publish with auth off).
   * Variable `PLAYGROUND` (`1`/`true`/`0`/`false`), flag `--playground`.
   * @defaultValue true unless {@link nodeEnv} is `'production'`
   */
  readonly playground: boolean;
  /**
   * Deployment environment; `production` turns the playground off by default and makes the
   * gateway warn when auth is off. Variable `NODE_ENV`, flag `--node-env`.
   * @defaultValue 'development'
   */
  readonly nodeEnv: string;
}

/**
 * Options of `createGateway()`: every setting of {@link GatewayConfig} in camelCase, all optional
 * (defaults applied by `resolveConfig`, with the same validation as the environment).
 * Auth is given either as `auth` or as the three variables' camelCase names (`authJwtSecret`,
 * `authJwtPublicKey`, `authJwksUrl`), not both.
 */
export interface GatewayOptions extends Partial<Omit<GatewayConfig, 'trustProxy'>> {
  /**
   * Proxy hops to trust in `X-Forwarded-For`; `true` means 1 and `false` means 0.
   * @defaultValue 0
   */
  readonly trustProxy?: number | boolean | undefined;
  /**
   * HMAC secret (HS256/384/512), as `AUTH_JWT_SECRET`; same as `auth: { kind: 'secret' }`.
   * @defaultValue undefined
   */
  readonly authJwtSecret?: string | undefined;
  /**
   * PEM public key or certificate, as `AUTH_JWT_PUBLIC_KEY`; same as
   * `auth: { kind: 'publicKey' }`.
   * @defaultValue undefined
   */
  readonly authJwtPublicKey?: string | undefined;
  /**
   * JWKS endpoint, as `AUTH_JWKS_URL`; same as `auth: { kind: 'jwks' }`.
   * @defaultValue undefined
   */
  readonly authJwksUrl?: string | undefined;
}

/**
 * Invalid settings. {@link ConfigError.problems} holds one sentence per problem, each starting
 * with the setting as the user wrote it (`HEARTBEAT_MS`, `--heartbeat-ms` or `heartbeatMs`); the
 * message is those lines joined by newlines, ready to print before exiting with code 1.
 */
export class ConfigError extends Error {
  /** Every problem found, in table order, then the cross-field rules. */
  readonly problems: readonly string[];

  /** @param problems - One line per problem; at least one. */
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}

/**
 * Thrown by `loadConfig` when the arguments contain `--help` or `-h`: the entry point
 * prints `configHelp()` and exits 0. Help wins over any other problem in the arguments.
 */
export class HelpRequested extends Error {
  constructor() {
    super('Help was requested (--help): print configHelp() and exit with code 0.');
    this.name = 'HelpRequested';
  }
}
