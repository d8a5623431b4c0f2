/**
 * Resolution, shared by the environment and the library path: validates every given setting,
 * applies the defaults, checks the rules between settings and builds the frozen
 * {@link GatewayConfig}. Every problem is collected and thrown together in one
 * {@link ConfigError}, so an operator fixes a deployment in one round.
 */
import { ConfigError, type AuthConfig, type GatewayConfig } from './types.js';
import {
  SETTING_KEYS,
  SETTINGS,
  type FlatConfig,
  type Resolve,
  type Setting,
  type SettingKey,
} from './settings.js';

/** A value given for one setting and the name it was given under. */
interface Given {
  readonly input: unknown;
  /** `PORT`, `--port` or `port`: how problem lines name the setting. */
  readonly label: string;
  /** Text from a variable or flag (coerced) rather than a typed option. */
  readonly isText: boolean;
}

/** What was given, by setting; a setting not given is absent. */
export type GivenSettings = { [K in SettingKey]?: Given };

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
export function build(
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

  return deepFreeze(configOf(resolve));
}

/** The table's three auth variables: one `auth` field of {@link GatewayConfig}, not three. */
const AUTH_VARIABLES: ReadonlySet<SettingKey> = new Set([
  'authJwtSecret',
  'authJwtPublicKey',
  'authJwksUrl',
]);

/**
 * Every setting's resolved value under its key, in table order, with `auth` built from the auth
 * variables where the first of them stands (the order the settings log line shows).
 */
function configOf(resolve: Resolve): GatewayConfig {
  const entries = SETTING_KEYS.flatMap((key): [string, unknown][] => {
    if (key === 'authJwtSecret') return [['auth', authOf(resolve)]];
    return AUTH_VARIABLES.has(key) ? [] : [[key, resolve(key)]];
  });
  // fromEntries cannot type its result by key. Every key of GatewayConfig is written: SETTINGS
  // is typed to have every key of FlatConfig, which is GatewayConfig with auth as its variables.
  return Object.fromEntries(entries) as unknown as GatewayConfig;
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
