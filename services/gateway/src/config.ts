/**
 * Gateway settings: the only reader of `process.env` in the gateway (STYLE.md A12, SPEC.md 10).
 *
 * One table, {@link SETTINGS}, holds every setting: the zod schema that validates it (and turns
 * the text of a variable or flag into a value), its default and its help text. The environment
 * variable, the CLI flag and the camelCase option are all derived from the table's key
 * (`heartbeatMs` ⇄ `HEARTBEAT_MS` ⇄ `--heartbeat-ms`), so the three names cannot drift, and the
 * table is typed against {@link GatewayConfig}, so a setting cannot be added to one and not the
 * other.
 *
 * Validation never falls back to a default: every bad value and every broken cross-field rule is
 * collected and thrown together in one {@link ConfigError}, so an operator fixes a deployment in
 * one round instead of one restart per typo.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { inspect } from 'node:util';
import { parsePattern, validatePrefix } from '@ssehub/protocol';
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

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
 * Fully resolved gateway settings: every default applied, every rule checked, deeply frozen.
 * Built by {@link loadConfig} (environment and flags) or {@link resolveConfig} (library options).
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
 * (defaults applied by {@link resolveConfig}, with the same validation as the environment).
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
 * Thrown by {@link loadConfig} when the arguments contain `--help` or `-h`: the entry point
 * prints {@link configHelp} and exits 0. Help wins over any other problem in the arguments.
 */
export class HelpRequested extends Error {
  constructor() {
    super('Help was requested (--help): print configHelp() and exit with code 0.');
    this.name = 'HelpRequested';
  }
}

// ---------------------------------------------------------------------------------------------
// Kinds: a zod schema for typed values (library options) and one for text (variables, flags)
// ---------------------------------------------------------------------------------------------

/**
 * How one setting is validated. `value` checks a typed value from `createGateway()` options;
 * `text` turns the (never empty) text of a variable or flag into a value and then applies the
 * same checks, so both paths accept exactly the same settings and report them the same way.
 */
interface Kind<T> {
  readonly value: z.ZodType<T>;
  readonly text: z.ZodType<T, string>;
  /** Shown after the flag in `--help`, e.g. `<ms>`. */
  readonly placeholder: string;
}

/** The outcome of a hand-written check: the normalized value, or why it was refused. */
type Checked<T> = { readonly value: T } | { readonly problems: readonly string[] };

const ok = <T>(value: T): Checked<T> => ({ value });
const fail = (...problems: string[]): Checked<never> => ({ problems });

/** Wraps a hand-written check as a zod schema; each problem becomes one issue. */
function checked<TIn, TOut>(
  base: z.ZodType<TIn, TIn>,
  check: (input: TIn) => Checked<TOut>,
): z.ZodType<TOut, TIn> {
  return base.transform((input, ctx) => {
    const result = check(input);
    if ('problems' in result) {
      for (const message of result.problems) ctx.addIssue({ code: 'custom', message, input });
      return z.NEVER;
    }
    return result.value;
  });
}

/**
 * `first`, then the checks of a value schema. zod types `pipe()` so that the second schema's
 * input must be exactly the first one's output, while our value schemas take `unknown` (they
 * also check library options); `unknown` accepts every output, so the cast only widens.
 */
function thenCheck<TMid, TOut>(
  first: z.ZodType<TMid, string>,
  value: z.ZodType<TOut>,
): z.ZodType<TOut, string> {
  return first.pipe(value as z.ZodType<TOut, TMid>);
}

/** What a hidden secret is replaced with, in problem lines and in {@link describeConfig}. */
const REDACTED = '[redacted]';

/** Longest stretch of a refused value echoed into a problem line. */
const MAX_SHOWN_CHARS = 60;

/** Formats a refused value for a problem line: JSON-quoted strings, shortened when long. */
function show(input: unknown): string {
  if (typeof input === 'string') {
    return JSON.stringify(
      input.length > MAX_SHOWN_CHARS ? `${input.slice(0, MAX_SHOWN_CHARS)}…` : input,
    );
  }
  return inspect(input, { depth: 2, breakLength: Infinity, maxArrayLength: 5 });
}

/** `(got …)` for a refused value, or nothing for secrets (they must never reach a log). */
const got = (input: unknown, isSecret = false): string => (isSecret ? '' : ` (got ${show(input)})`);

/**
 * Largest delay Node's timers honour: `setTimeout` turns anything above 2^31 - 1 ms (about 24.8
 * days) into 1 ms with a TimeoutOverflowWarning, which would turn a heartbeat or grace period
 * into a busy loop. Every millisecond setting is capped here.
 */
const MAX_TIMER_MS = 2_147_483_647;

/** Redis's largest string value (512 MiB); an event or body above it could never be stored. */
const MAX_REDIS_STRING_BYTES = 536_870_912;

/**
 * A whole number in `[min, max]`. Text must be plain decimal digits: `1.5`, `1e3`, `-1`, `0x10`,
 * `1_000` and spaces are refused rather than guessed at.
 */
function integer(min: number, max: number, placeholder: string): Kind<number> {
  const range =
    max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  const error = (issue: { readonly input?: unknown }): string =>
    `must be ${range}${got(issue.input)}`;
  const value = z
    .number({ error })
    .refine((n) => Number.isSafeInteger(n) && n >= min && n <= max, { error });
  const text = thenCheck(z.string().regex(/^\d+$/, { error }).transform(Number), value);
  return { value, text, placeholder };
}

/** `1`/`true`/`0`/`false` in text (any case), `true`/`false` as an option. */
function boolean(): Kind<boolean> {
  const error = (issue: { readonly input?: unknown }): string =>
    `must be 1, true, 0 or false${got(issue.input)}`;
  const value = z.boolean({ error });
  const text = z
    .string()
    .regex(/^(?:1|0|true|false)$/i, { error })
    .transform((s) => s === '1' || s.toLowerCase() === 'true')
    .pipe(value);
  return { value, text, placeholder: '<bool>' };
}

/** Any non-blank string, kept as given. Secrets are never echoed into problem lines. */
function string(placeholder: string, { isSecret = false } = {}): Kind<string> {
  const value = checked(z.unknown(), (input): Checked<string> =>
    typeof input === 'string' && input.trim() !== ''
      ? ok(input)
      : fail(`must be a non-empty string${got(input, isSecret)}`),
  );
  return { value, text: thenCheck(z.string(), value), placeholder };
}

/** A host name or address: non-empty, no whitespace. */
function host(): Kind<string> {
  const value = checked(z.unknown(), (input): Checked<string> =>
    typeof input === 'string' && /^[^\s/]+$/.test(input)
      ? ok(input)
      : fail(`must be a host name or IP address such as 0.0.0.0, :: or localhost${got(input)}`),
  );
  return { value, text: thenCheck(z.string(), value), placeholder: '<address>' };
}

/** One of the pino levels; text in any case. */
function logLevel(): Kind<LogLevel> {
  const error = (issue: { readonly input?: unknown }): string =>
    `must be one of ${LOG_LEVELS.join(', ')}${got(issue.input)}`;
  const value = z.enum(LOG_LEVELS, { error });
  const text = z
    .string()
    .refine((s) => (LOG_LEVELS as readonly string[]).includes(s.toLowerCase()), { error })
    .transform((s) => s.toLowerCase())
    .pipe(value);
  return { value, text, placeholder: '<level>' };
}

/**
 * Hides the password (and any password-like query parameter) of a URL before it is echoed into
 * a problem line or a log; works on text that does not parse as a URL too.
 */
function redactUrl(url: string): string {
  const withoutPassword = url.replace(/^([^:/?#]+:\/\/[^:/?#@]*):[^/?#]*@/, `$1:${REDACTED}@`);
  return withoutPassword.replace(
    /([?&][^=&#]*(?:pass|secret|token|key)[^=&#]*=)[^&#]*/gi,
    `$1${REDACTED}`,
  );
}

/** An absolute URL whose scheme is one of `schemes` (with `:`), kept as given. */
function url(schemes: readonly string[], { redact = false } = {}): Kind<string> {
  const shown = (input: unknown): string =>
    typeof input === 'string' && redact ? got(redactUrl(input)) : got(input);
  const expected = schemes.map((s) => `${s}//`).join(' or ');
  const value = checked(z.unknown(), (input): Checked<string> => {
    if (typeof input !== 'string')
      return fail(`must be a URL starting with ${expected}${shown(input)}`);
    let parsed: URL;
    try {
      parsed = new URL(input);
    } catch {
      return fail(`must be a URL starting with ${expected}${shown(input)}`);
    }
    if (!schemes.includes(parsed.protocol)) {
      return fail(`must start with ${expected}${shown(input)}`);
    }
    if (parsed.hostname === '') return fail(`has no host name${shown(input)}`);
    return ok(input);
  });
  return { value, text: thenCheck(z.string(), value), placeholder: '<url>' };
}

/** A Redis key prefix, checked (and normalized) by the protocol package's `validatePrefix`. */
function redisPrefix(): Kind<string> {
  const value = checked(z.unknown(), (input): Checked<string> => {
    if (typeof input !== 'string') return fail(`must be a string${got(input)}`);
    try {
      return ok(validatePrefix(input));
    } catch (error) {
      return fail(messageOf(error)); // the protocol's sentence quotes the value
    }
  });
  return { value, text: thenCheck(z.string(), value), placeholder: '<prefix>' };
}

/**
 * A public key for JWT signatures: SPKI (`PUBLIC KEY`), PKCS#1 (`RSA PUBLIC KEY`) or an X.509
 * `CERTIFICATE`, as PEM text. Literal `\n` escapes become line breaks, since env files and
 * Kubernetes secrets often hold the key on one line. The result is always SPKI PEM, which every
 * JWT library (jose `importSPKI`, node `createPublicKey`) reads.
 */
function publicKeyPem(): Kind<string> {
  const value = checked(z.unknown(), (input): Checked<string> => {
    if (typeof input !== 'string') return fail(`must be PEM text${got(input)}`);
    const pem = input.replace(/\\r\\n|\\n/g, '\n').trim();
    // A private key would also yield a public key below, but handing one to every replica's
    // environment is a leak waiting to happen: refuse it instead of deriving from it.
    if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
      return fail(
        'holds a private key; give the public key instead (openssl pkey -in key.pem -pubout)',
      );
    }
    try {
      return ok(createPublicKey(pem).export({ type: 'spki', format: 'pem' }).toString());
    } catch {
      return fail(
        'must be a PEM public key ("-----BEGIN PUBLIC KEY-----") or certificate; write line breaks as real newlines or as \\n',
      );
    }
  });
  return { value, text: thenCheck(z.string(), value), placeholder: '<pem>' };
}

/** Checks each entry of a list: every bad entry is its own problem, after `problems` found before. */
function checkEach<T>(
  items: readonly string[],
  checkItem: (item: string) => Checked<T>,
  problems: readonly string[] = [],
): Checked<T[]> {
  const results = items.map(checkItem);
  const all = [...problems, ...results.flatMap((r) => ('problems' in r ? r.problems : []))];
  return all.length > 0
    ? { problems: all }
    : ok(results.flatMap((r) => ('value' in r ? [r.value] : [])));
}

/**
 * Splits comma-separated text into trimmed entries and checks each. An empty entry (a stray
 * comma) is a problem, not skipped: `a,,b` is more likely a lost value than a list of two.
 */
function splitList<T>(raw: string, checkItem: (item: string) => Checked<T>): Checked<T[]> {
  const entries = raw.split(',').map((s) => s.trim());
  const problems = entries.flatMap((entry, i) =>
    entry === ''
      ? [`entry ${i + 1} of ${JSON.stringify(raw)} is empty; remove the stray comma`]
      : [],
  );
  return checkEach(
    entries.filter((entry) => entry !== ''),
    checkItem,
    problems,
  );
}

const isStringArray = (input: unknown): input is string[] =>
  Array.isArray(input) && input.every((item) => typeof item === 'string');

/**
 * A list: comma-separated text, or an array of strings as an option. Both paths check every
 * entry with `checkItem`, then `finish` the whole list (e.g. drop duplicates).
 */
function list<T>(
  placeholder: string,
  checkItem: (item: string) => Checked<T>,
  finish: (items: T[]) => Checked<readonly T[]> = ok,
): Kind<readonly T[]> {
  const then = (r: Checked<T[]>): Checked<readonly T[]> => ('problems' in r ? r : finish(r.value));
  const value = checked(z.unknown(), (input): Checked<readonly T[]> =>
    isStringArray(input)
      ? then(checkEach(input, checkItem))
      : fail(`must be an array of strings${got(input)}`),
  );
  const text = checked(z.string(), (raw) => then(splitList(raw, checkItem)));
  return { value, text, placeholder };
}

/** Normalizes with `parsePattern`; the protocol's sentence says what is wrong. */
function pattern(item: string): Checked<string> {
  try {
    return ok(parsePattern(item.trim()).source);
  } catch (error) {
    return fail(`${JSON.stringify(item)} is not a valid pattern: ${messageOf(error)}`);
  }
}

const dedupe = <T>(items: T[]): Checked<readonly T[]> => ok([...new Set(items)]);

/**
 * `scheme://host[:port]` as a browser sends it in `Origin`: no path (a trailing `/` is dropped),
 * no query, no credentials, and for http(s) the host lowercased and the default port removed, so
 * the CORS check can compare strings.
 */
function origin(item: string): Checked<string> {
  const problem = `${JSON.stringify(item)} is not an origin; write scheme://host[:port] with no path, e.g. https://app.example.com`;
  if (item === '*') return fail('"*" allows every origin and cannot be combined with others');
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+\/?$/i.test(item)) return fail(problem);
  const trimmed = item.replace(/\/$/, '');
  if (/^https?:/i.test(trimmed)) {
    try {
      return ok(new URL(trimmed).origin);
    } catch {
      return fail(problem);
    }
  }
  return ok(trimmed.toLowerCase());
}

/** `*`, or a list of origins. */
function corsOrigins(): Kind<'*' | readonly string[]> {
  const origins = list('<origins>', origin, dedupe);
  const value = checked(z.unknown(), (input): Checked<'*' | readonly string[]> => {
    if (input === '*') return ok('*');
    const result = origins.value.safeParse(input);
    return result.success ? ok(result.data) : fail(...result.error.issues.map((i) => i.message));
  });
  const text = checked(z.string(), (raw): Checked<'*' | readonly string[]> => {
    if (raw.trim() === '*') return ok('*');
    const result = origins.text.safeParse(raw);
    return result.success ? ok(result.data) : fail(...result.error.issues.map((i) => i.message));
  });
  return { value, text, placeholder: '<origins>' };
}

/** `host[:port]`, `[ipv6][:port]`; the port falls back to `defaultPort`. */
function parseNode(item: string, defaultPort: number): Checked<RedisNode> {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/\s]+))(?::(\d+))?$/.exec(item);
  const hostName = match?.[1] ?? match?.[2];
  if (match === null || hostName === undefined) {
    return fail(
      `${JSON.stringify(item)} is not host:port (write IPv6 addresses in brackets: [::1]:${defaultPort})`,
    );
  }
  const portText = match[3];
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    return fail(`${JSON.stringify(item)} has port ${portText ?? ''}; a port is 1 to 65535`);
  }
  return ok({ host: hostName, port });
}

/** A non-empty list of Redis nodes: `h1:p1,h2:p2` as text, `{ host, port }[]` as an option. */
function redisNodes(defaultPort: number): Kind<readonly RedisNode[]> {
  const nodeShape = z.object({
    host: z.string().regex(/^[^\s/[\]]+$/),
    port: z.number().int().min(1).max(65_535),
  });
  const value = checked(z.unknown(), (input): Checked<readonly RedisNode[]> => {
    const problem = `must be a non-empty array of { host, port } with ports 1 to 65535${got(input)}`;
    if (!Array.isArray(input) || input.length === 0) return fail(problem);
    const result = z.array(nodeShape).safeParse(input);
    return result.success ? ok(result.data) : fail(problem);
  });
  const text = checked(z.string(), (raw) => splitList(raw, (item) => parseNode(item, defaultPort)));
  return { value, text, placeholder: '<host:port,…>' };
}

/** Hop count; the text (and option) `true` means 1 hop and `false` none, as Koa's `proxy`. */
function trustProxy(): Kind<number> {
  const hops = integer(0, 100, '<hops>');
  const error = (issue: { readonly input?: unknown }): string =>
    `must be a number of proxy hops from 0 to 100, or true (1) or false (0)${got(issue.input)}`;
  const value = checked(z.unknown(), (input): Checked<number> => {
    if (typeof input === 'boolean') return ok(input ? 1 : 0);
    return hops.value.safeParse(input).success && typeof input === 'number'
      ? ok(input)
      : fail(error({ input }));
  });
  const text = checked(z.string(), (raw): Checked<number> => {
    const lower = raw.toLowerCase();
    if (lower === 'true') return ok(1);
    if (lower === 'false') return ok(0);
    const result = hops.text.safeParse(raw);
    return result.success ? ok(result.data) : fail(error({ input: raw }));
  });
  return { value, text, placeholder: '<hops>' };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/** Settings as stored in the table: {@link GatewayConfig} with `auth` as its three variables. */
type FlatConfig = Omit<GatewayConfig, 'auth'> & {
  readonly authJwtSecret: string | undefined;
  readonly authJwtPublicKey: string | undefined;
  readonly authJwksUrl: string | undefined;
};

type SettingKey = keyof FlatConfig;

/** Reads the resolved value of another setting, for defaults that depend on one. */
type Resolve = <K extends SettingKey>(key: K) => FlatConfig[K];

type Default<T> =
  | { readonly value: T; readonly text?: string }
  | { readonly derive: (resolve: Resolve) => T; readonly text: string };

/** Headings of `--help` and docs/configuration.md, in order. */
type Group = 'Listeners' | 'Broker' | 'Events and history' | 'Auth and CORS' | 'Limits' | 'Process';

interface Setting<T> {
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
const SETTINGS: SettingTable = {
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
    default: { value: 'ssehub' },
    doc: 'Prefix of every Redis key and channel.',
  },
  redisShards: {
    group: 'Broker',
    kind: integer(1, 16, '<count>'),
    default: { value: 1 },
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
    default: { value: 10_000 },
    doc: 'Events kept per shard for resume, 0 to 10000000; 0 turns history off.',
  },
  historyTtlMs: {
    group: 'Events and history',
    kind: integer(1, MAX_TIMER_MS, '<ms>'),
    default: { value: 3_600_000 },
    doc: 'Age in ms after which a history entry may be dropped.',
  },
  maxEventBytes: {
    group: 'Events and history',
    kind: integer(1, MAX_REDIS_STRING_BYTES, '<bytes>'),
    default: { value: 65_536 },
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
    default: { value: 300_000 },
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

const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

const isSettingKey = (key: string): key is SettingKey => Object.hasOwn(SETTINGS, key);

/** `heartbeatMs` → `HEARTBEAT_MS`. */
const envName = (key: SettingKey): string => key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** `heartbeatMs` → `--heartbeat-ms`. */
const flagName = (key: SettingKey): string =>
  `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

const FLAG_KEYS: ReadonlyMap<string, SettingKey> = new Map(
  SETTING_KEYS.map((key) => [flagName(key), key]),
);

/** Loose form of a name for "did you mean" hints: case, `-` and `_` ignored. */
const loose = (name: string): string => name.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();

function suggestion(name: string, candidates: readonly string[]): string {
  const match = candidates.find((candidate) => loose(candidate) === loose(name));
  return match === undefined ? '' : ` (did you mean ${match}?)`;
}

// ---------------------------------------------------------------------------------------------
// Resolution, shared by the environment and the library path
// ---------------------------------------------------------------------------------------------

/** A value given for one setting and the name it was given under. */
interface Given {
  readonly input: unknown;
  /** `PORT`, `--port` or `port`: how problem lines name the setting. */
  readonly label: string;
  /** Text from a variable or flag (coerced) rather than a typed option. */
  readonly isText: boolean;
}

type GivenSettings = { [K in SettingKey]?: Given };

/** Valid given values, boxed so `resolve` tells a parsed value from an absent one by type. */
type ParsedSettings = { [K in SettingKey]?: Box<FlatConfig[K]> };
interface Box<T> {
  readonly value: T;
}

/** Validates one given setting; a problem line per issue, naming it as it was given. */
function parseSetting<K extends SettingKey>(
  key: K,
  given: Given,
  problems: string[],
): Box<FlatConfig[K]> | undefined {
  const setting: Setting<FlatConfig[K]> = SETTINGS[key];
  const result = given.isText
    ? setting.kind.text.safeParse(given.input)
    : setting.kind.value.safeParse(given.input);
  if (result.success) return { value: result.data };
  for (const issue of result.error.issues) problems.push(`${given.label}: ${issue.message}`);
  return undefined;
}

function store<K extends SettingKey>(
  parsed: ParsedSettings,
  key: K,
  box: Box<FlatConfig[K]>,
): void {
  // TypeScript cannot write through an optional mapped type at a generic key; `box` has exactly
  // the type of ParsedSettings[K] minus `undefined`.
  (parsed as Record<K, Box<FlatConfig[K]>>)[key] = box;
}

/**
 * Validates every given setting, applies defaults, checks the cross-field rules and builds the
 * frozen config; throws one {@link ConfigError} with every problem found.
 *
 * @param given - Values by setting.
 * @param nameOf - How to name a setting that was not given (in cross-field problems).
 * @param problems - Problems found before (argument syntax, unknown options); appended to.
 */
function build(
  given: GivenSettings,
  nameOf: (key: SettingKey) => string,
  problems: string[],
): GatewayConfig {
  const parsed: ParsedSettings = {};
  for (const key of SETTING_KEYS) {
    const value = given[key];
    const box = value === undefined ? undefined : parseSetting(key, value, problems);
    if (box !== undefined) store(parsed, key, box);
  }

  function resolve<K extends SettingKey>(key: K): FlatConfig[K] {
    const box = parsed[key];
    if (box !== undefined) return box.value;
    const setting: Setting<FlatConfig[K]> = SETTINGS[key];
    return 'derive' in setting.default ? setting.default.derive(resolve) : setting.default.value;
  }
  problems.push(
    ...crossFieldProblems({
      given,
      parsed,
      resolve,
      name: (key) => given[key]?.label ?? nameOf(key),
    }),
  );
  if (problems.length > 0) throw new ConfigError(problems);

  const config: GatewayConfig = {
    host: resolve('host'),
    port: resolve('port'),
    adminHost: resolve('adminHost'),
    adminPort: resolve('adminPort'),
    tlsCert: resolve('tlsCert'),
    tlsKey: resolve('tlsKey'),
    keepAliveTimeoutMs: resolve('keepAliveTimeoutMs'),
    redisUrl: resolve('redisUrl'),
    redisSentinels: resolve('redisSentinels'),
    redisSentinelName: resolve('redisSentinelName'),
    redisClusterNodes: resolve('redisClusterNodes'),
    redisPrefix: resolve('redisPrefix'),
    redisShards: resolve('redisShards'),
    heartbeatMs: resolve('heartbeatMs'),
    historySize: resolve('historySize'),
    historyTtlMs: resolve('historyTtlMs'),
    maxEventBytes: resolve('maxEventBytes'),
    maxBodyBytes: resolve('maxBodyBytes'),
    idempotencyTtlMs: resolve('idempotencyTtlMs'),
    auth: authOf(resolve),
    authJwtAudience: resolve('authJwtAudience'),
    authJwtIssuer: resolve('authJwtIssuer'),
    publicTopics: resolve('publicTopics'),
    corsOrigins: resolve('corsOrigins'),
    adminToken: resolve('adminToken'),
    maxConnections: resolve('maxConnections'),
    maxConnectionsPerIp: resolve('maxConnectionsPerIp'),
    maxConnectionsPerSubject: resolve('maxConnectionsPerSubject'),
    trustProxy: resolve('trustProxy'),
    maxBufferedBytes: resolve('maxBufferedBytes'),
    maxTotalBufferedBytes: resolve('maxTotalBufferedBytes'),
    maxConnectionAgeMs: resolve('maxConnectionAgeMs'),
    shutdownGraceMs: resolve('shutdownGraceMs'),
    logLevel: resolve('logLevel'),
    playground: resolve('playground'),
    nodeEnv: resolve('nodeEnv'),
  };
  return deepFreeze(config);
}

function authOf(resolve: Resolve): AuthConfig {
  const secret = resolve('authJwtSecret');
  if (secret !== undefined) return { kind: 'secret', secret };
  const pem = resolve('authJwtPublicKey');
  if (pem !== undefined) return { kind: 'publicKey', pem };
  const jwksUrl = resolve('authJwksUrl');
  if (jwksUrl !== undefined) return { kind: 'jwks', url: jwksUrl };
  return { kind: 'none' };
}

interface RuleInput {
  readonly given: GivenSettings;
  readonly parsed: ParsedSettings;
  readonly resolve: Resolve;
  /** The name to use for a setting in a problem line. */
  readonly name: (key: SettingKey) => string;
}

/**
 * Rules between settings, each its own problem line. A rule about presence (exclusive or paired
 * settings) looks at what was given, valid or not; a rule comparing values runs only when both
 * values are valid, so a bad value is not reported twice.
 */
function crossFieldProblems({ given, parsed, resolve, name }: RuleInput): string[] {
  const problems: string[] = [];
  const isGiven = (key: SettingKey): boolean => given[key] !== undefined;
  /** Valid, or not given (so its default applies). */
  const isUsable = (key: SettingKey): boolean => parsed[key] !== undefined || !isGiven(key);
  const names = (keys: readonly SettingKey[]): string => keys.map(name).join(', ');

  const brokers = (['redisUrl', 'redisSentinels', 'redisClusterNodes'] as const).filter(isGiven);
  if (brokers.length > 1) {
    problems.push(
      `${names(brokers)}: only one may be set (${name('redisUrl')} for one server, ${name('redisSentinels')} for Sentinel, ${name('redisClusterNodes')} for Cluster)`,
    );
  }
  if (isGiven('redisSentinels') && !isGiven('redisSentinelName')) {
    problems.push(
      `${name('redisSentinelName')}: required with ${name('redisSentinels')} (the name of the monitored master)`,
    );
  }
  if (isGiven('redisSentinelName') && !isGiven('redisSentinels')) {
    problems.push(`${name('redisSentinelName')}: has no effect without ${name('redisSentinels')}`);
  }

  if (isGiven('tlsCert') !== isGiven('tlsKey')) {
    const [missing, present] = isGiven('tlsCert')
      ? (['tlsKey', 'tlsCert'] as const)
      : (['tlsCert', 'tlsKey'] as const);
    problems.push(`${name(missing)}: required with ${name(present)} (HTTPS needs both)`);
  }

  const authKeys = (['authJwtSecret', 'authJwtPublicKey', 'authJwksUrl'] as const).filter(isGiven);
  if (authKeys.length > 1) {
    problems.push(`${names(authKeys)}: only one way of verifying tokens may be set`);
  }
  if (authKeys.length === 0) {
    // An audience or issuer with no key means the operator believes auth is on while every
    // topic is open to anyone: most often a misspelt AUTH_JWT_SECRET. Refuse it.
    for (const key of ['authJwtAudience', 'authJwtIssuer'] as const) {
      if (isGiven(key)) {
        problems.push(
          `${name(key)}: has no effect without ${name('authJwtSecret')}, ${name('authJwtPublicKey')} or ${name('authJwksUrl')}; auth is off`,
        );
      }
    }
  }

  if (isUsable('heartbeatMs') && isUsable('keepAliveTimeoutMs')) {
    const heartbeatMs = resolve('heartbeatMs');
    const keepAliveTimeoutMs = resolve('keepAliveTimeoutMs');
    if (heartbeatMs >= keepAliveTimeoutMs) {
      problems.push(
        `${name('heartbeatMs')}: must be below ${name('keepAliveTimeoutMs')} (${heartbeatMs} >= ${keepAliveTimeoutMs}); a heartbeat slower than the idle timeouts on the path lets them close quiet streams`,
      );
    }
  }

  if ((['port', 'adminPort', 'host', 'adminHost'] as const).every(isUsable)) {
    const port = resolve('port');
    if (port !== 0 && port === resolve('adminPort') && resolve('host') === resolve('adminHost')) {
      problems.push(
        `${name('port')}, ${name('adminPort')}: must differ (both ${port} on ${resolve('host')})`,
      );
    }
  }
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    const children: unknown[] = Object.values(value);
    for (const child of children) deepFreeze(child);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Environment and flags
// ---------------------------------------------------------------------------------------------

interface ParsedArgs {
  readonly flags: ReadonlyMap<SettingKey, string>;
  readonly problems: readonly string[];
  readonly isHelp: boolean;
}

/**
 * Whether an argument is a flag rather than the value of the one before it: `--name` or `-h`.
 * PEM text (`-----BEGIN …`) and negative numbers (`-5`, refused later with a clear message) are
 * values.
 */
const looksLikeFlag = (arg: string): boolean => /^--[^-]/.test(arg) || arg === '-h';

/**
 * Reads `--flag value` and `--flag=value`. Written by hand rather than with `util.parseArgs`:
 * in strict mode that stops at the first problem, and in loose mode it takes `--port --host x`
 * as port `--host` and splits `--bogus x` into two complaints. Here a value is the next argument
 * unless it {@link looksLikeFlag}, the last occurrence of a flag wins, and every problem is kept.
 */
function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = new Map<SettingKey, string>();
  const problems: string[] = [];
  let isHelp = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      isHelp = true;
    } else if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const flag = eq < 0 ? arg : arg.slice(0, eq);
      let value = eq < 0 ? undefined : arg.slice(eq + 1);
      const next = argv[i + 1];
      if (value === undefined && next !== undefined && !looksLikeFlag(next)) {
        value = next;
        i++;
      }
      const key = FLAG_KEYS.get(flag);
      if (key === undefined) {
        const hint = suggestion(flag, [...FLAG_KEYS.keys()]);
        problems.push(`${flag}: unknown flag${hint === '' ? '; --help lists every flag' : hint}`);
      } else if (value === undefined || value === '') {
        const { placeholder } = SETTINGS[key].kind;
        problems.push(`${flag}: needs a value (${flag} ${placeholder} or ${flag}=${placeholder})`);
      } else {
        flags.set(key, value);
      }
    } else if (arg.startsWith('-') && arg.length > 1) {
      problems.push(`${arg}: unknown flag; settings use long flags such as --port 8080`);
    } else {
      problems.push(
        `${JSON.stringify(arg)}: unexpected argument; settings are given as --name value, e.g. --port 8080`,
      );
    }
  }
  return { flags, problems, isHelp };
}

/**
 * Reads the gateway's settings from the environment and the command line. This is the only
 * function in the gateway that looks at `process.env`, which the entry point passes in.
 *
 * A flag wins over its variable; the overridden variable is not validated. An empty variable
 * (`FOO=`, as docker-compose passes unset values) counts as unset.
 *
 * @param env - Usually `process.env`.
 * @param argv - Usually `process.argv.slice(2)`.
 * @returns The resolved, deeply frozen settings.
 * @throws {@link HelpRequested} when `argv` holds `--help` or `-h`.
 * @throws {@link ConfigError} naming every bad variable, flag and broken rule at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv, argv: readonly string[] = []): GatewayConfig {
  const args = parseArgs(argv);
  if (args.isHelp) throw new HelpRequested();
  const given: GivenSettings = {};
  for (const key of SETTING_KEYS) {
    const flag = args.flags.get(key);
    const variable = env[envName(key)];
    if (flag !== undefined) {
      given[key] = { input: flag, label: flagName(key), isText: true };
    } else if (variable !== undefined && variable !== '') {
      given[key] = { input: variable, label: envName(key), isText: true };
    }
  }
  return build(given, envName, [...args.problems]);
}

const AUTH_OPTION_KEYS = {
  secret: 'authJwtSecret',
  publicKey: 'authJwtPublicKey',
  jwks: 'authJwksUrl',
} as const;
const AUTH_OPTION_FIELDS = { secret: 'secret', publicKey: 'pem', jwks: 'url' } as const;

/**
 * Resolves `createGateway()` options with the same validation and defaults as
 * {@link loadConfig}; problems name the option (`heartbeatMs: …`). Options set to `undefined`
 * count as not given. Reads no environment: `nodeEnv` defaults to `'development'` here too.
 *
 * @param options - camelCase settings, all optional.
 * @returns The resolved, deeply frozen settings.
 * @throws {@link ConfigError} naming every bad option and broken rule at once.
 */
export function resolveConfig(options: GatewayOptions = {}): GatewayConfig {
  // Checked at run time too: JavaScript callers and spread configs reach here untyped.
  const raw: unknown = options;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([`options: must be an object${got(raw)}`]);
  }
  const given: GivenSettings = {};
  const problems: string[] = [];
  const entries: [string, unknown][] = Object.entries(raw);
  for (const [key, input] of entries) {
    if (input === undefined) continue;
    if (isSettingKey(key)) {
      given[key] = { input, label: key, isText: false };
    } else if (key !== 'auth') {
      const known = [...SETTING_KEYS, 'auth'];
      const hint = suggestion(key, known);
      problems.push(
        `${key}: unknown option${hint === '' ? '; GatewayOptions lists every option' : hint}`,
      );
    }
  }
  const auth: unknown = Object.hasOwn(raw, 'auth') ? Reflect.get(raw, 'auth') : undefined;
  if (auth !== undefined) addAuthOption(auth, given, problems);
  return build(given, (key) => key, problems);
}

/** Maps `auth: { kind, … }` onto the three auth settings, so it is validated like them. */
function addAuthOption(auth: unknown, given: GivenSettings, problems: string[]): void {
  const flatKeys = Object.values(AUTH_OPTION_KEYS).filter((key) => given[key] !== undefined);
  if (flatKeys.length > 0) {
    problems.push(
      `auth, ${flatKeys.join(', ')}: give auth either as auth or as ${flatKeys.join(', ')}, not both`,
    );
    return;
  }
  const kind: unknown =
    typeof auth === 'object' && auth !== null ? Reflect.get(auth, 'kind') : undefined;
  if (kind === 'none') return;
  if (
    typeof auth === 'object' &&
    auth !== null &&
    (kind === 'secret' || kind === 'publicKey' || kind === 'jwks')
  ) {
    const field = AUTH_OPTION_FIELDS[kind];
    const input: unknown = Reflect.get(auth, field);
    given[AUTH_OPTION_KEYS[kind]] = { input, label: `auth.${field}`, isText: false };
    return;
  }
  problems.push(
    `auth: must be { kind: 'none' }, { kind: 'secret', secret }, { kind: 'publicKey', pem } or { kind: 'jwks', url }${got(auth, true)}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Help and logging
// ---------------------------------------------------------------------------------------------

function defaultText(setting: Setting<unknown>): string {
  const fallback = setting.default;
  if (fallback.text !== undefined) return fallback.text;
  return 'value' in fallback ? String(fallback.value) : '';
}

function wrap(text: string, indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/**
 * Text for `--help`: usage, how flags and variables combine, then every flag grouped by topic
 * with its variable, default and meaning.
 */
export function configHelp(): string {
  const lines = [
    'Usage: ssehub-gateway [--<setting> <value> | --<setting>=<value>]...',
    '',
    ...wrap(
      'Every setting is read from an environment variable or from the flag of the same name in kebab case (PORT is --port). A flag wins over its variable. An empty variable counts as unset. Invalid values stop startup with exit code 1 and one message naming every bad setting.',
      '',
    ),
    '',
    '  -h, --help',
    '      Print this text and exit.',
  ];
  let group: Group | undefined;
  for (const key of SETTING_KEYS) {
    const setting: Setting<unknown> = SETTINGS[key];
    if (setting.group !== group) {
      group = setting.group;
      lines.push('', `${group}:`);
    }
    lines.push(
      `  ${flagName(key)} ${setting.kind.placeholder}  (${envName(key)}; default: ${defaultText(setting)})`,
      ...wrap(setting.doc, '      '),
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The settings for the startup log line, with secrets hidden: the admin token, the JWT secret,
 * and the password (and password-like query parameters) of the Redis URL. The public key is
 * shown as its SHA-256 fingerprint, which is enough to tell which key a replica runs with.
 *
 * @param c - Resolved settings.
 * @returns A new plain object, safe to log.
 */
export function describeConfig(c: GatewayConfig): Record<string, unknown> {
  return {
    ...c,
    redisUrl: c.redisUrl === undefined ? undefined : redactUrl(c.redisUrl),
    auth: describeAuth(c.auth),
    adminToken: c.adminToken === undefined ? undefined : REDACTED,
  };
}

function describeAuth(auth: AuthConfig): Record<string, unknown> {
  switch (auth.kind) {
    case 'none':
    case 'jwks':
      return { ...auth };
    case 'secret':
      return { kind: 'secret', secret: REDACTED };
    case 'publicKey': {
      const der = createPublicKey(auth.pem).export({ type: 'spki', format: 'der' });
      return { kind: 'publicKey', sha256: createHash('sha256').update(der).digest('hex') };
    }
  }
}
