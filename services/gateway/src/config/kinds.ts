/**
 * Kinds of setting: for each, a zod schema for typed values (library options) and one for text
 * (variables, flags), built so that both paths accept exactly the same settings and word their
 * problems the same way. The settings table (`settings.ts`) picks one kind per setting.
 */
import { createPublicKey } from 'node:crypto';
import { inspect } from 'node:util';
import { parsePattern, validatePrefix } from '@ssehub/protocol';
import { z } from 'zod';
import { LOG_LEVELS, type LogLevel, type RedisNode } from './types.js';

/**
 * How one setting is validated. `value` checks a typed value from `createGateway()` options;
 * `text` turns the (never empty) text of a variable or flag into a value and then applies the
 * same checks, so both paths accept exactly the same settings and report them the same way.
 */
export interface Kind<T> {
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

/** What a hidden secret is replaced with, in problem lines and in `describeConfig`. */
export const REDACTED = '[redacted]';

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
export const got = (input: unknown, isSecret = false): string =>
  isSecret ? '' : ` (got ${show(input)})`;

/**
 * Largest delay Node's timers honour: `setTimeout` turns anything above 2^31 - 1 ms (about 24.8
 * days) into 1 ms with a TimeoutOverflowWarning, which would turn a heartbeat or grace period
 * into a busy loop. Every millisecond setting is capped here.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Redis's largest string value (512 MiB); an event or body above it could never be stored. */
export const MAX_REDIS_STRING_BYTES = 536_870_912;

/**
 * A whole number in `[min, max]`. Text must be plain decimal digits: `1.5`, `1e3`, `-1`, `0x10`,
 * `1_000` and spaces are refused rather than guessed at.
 */
export function integer(min: number, max: number, placeholder: string): Kind<number> {
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
export function boolean(): Kind<boolean> {
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
export function string(placeholder: string, { isSecret = false } = {}): Kind<string> {
  const value = checked(z.unknown(), (input): Checked<string> =>
    typeof input === 'string' && input.trim() !== ''
      ? ok(input)
      : fail(`must be a non-empty string${got(input, isSecret)}`),
  );
  return { value, text: thenCheck(z.string(), value), placeholder };
}

/** A host name or address: non-empty, no whitespace. */
export function host(): Kind<string> {
  const value = checked(z.unknown(), (input): Checked<string> =>
    typeof input === 'string' && /^[^\s/]+$/.test(input)
      ? ok(input)
      : fail(`must be a host name or IP address such as 0.0.0.0, :: or localhost${got(input)}`),
  );
  return { value, text: thenCheck(z.string(), value), placeholder: '<address>' };
}

/** One of the pino levels; text in any case. */
export function logLevel(): Kind<LogLevel> {
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
export function redactUrl(url: string): string {
  const withoutPassword = url.replace(/^([^:/?#]+:\/\/[^:/?#@]*):[^/?#]*@/, `$1:${REDACTED}@`);
  return withoutPassword.replace(
    /([?&][^=&#]*(?:pass|secret|token|key)[^=&#]*=)[^&#]*/gi,
    `$1${REDACTED}`,
  );
}

/** An absolute URL whose scheme is one of `schemes` (with `:`), kept as given. */
export function url(schemes: readonly string[], { redact = false } = {}): Kind<string> {
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
export function redisPrefix(): Kind<string> {
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
export function publicKeyPem(): Kind<string> {
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
export function list<T>(
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
export function pattern(item: string): Checked<string> {
  try {
    return ok(parsePattern(item.trim()).source);
  } catch (error) {
    return fail(`${JSON.stringify(item)} is not a valid pattern: ${messageOf(error)}`);
  }
}

/** Drops repeated entries, keeping the first of each. */
export const dedupe = <T>(items: T[]): Checked<readonly T[]> => ok([...new Set(items)]);

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
export function corsOrigins(): Kind<'*' | readonly string[]> {
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
export function redisNodes(defaultPort: number): Kind<readonly RedisNode[]> {
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
export function trustProxy(): Kind<number> {
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
