/**
 * The two ways settings come in: the environment and command-line flags ({@link loadConfig}, the
 * standalone service) and `createGateway()` options ({@link resolveConfig}, the library). Both
 * turn what they were given into the same `GivenSettings` and hand it to `build()`.
 */
import { got } from './kinds.js';
import { build, type GivenSettings } from './resolve.js';
import {
  FLAG_KEYS,
  SETTING_KEYS,
  SETTINGS,
  envName,
  flagName,
  isSettingKey,
  suggestion,
  type SettingKey,
} from './settings.js';
import { ConfigError, HelpRequested, type GatewayConfig, type GatewayOptions } from './types.js';

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
