/**
 * Gateway settings: the only reader of `process.env` in the gateway (STYLE.md A12, SPEC.md 10).
 *
 * One table, `SETTINGS` (settings.ts), holds every setting: the zod schema that validates it (and
 * turns the text of a variable or flag into a value), its default and its help text. The
 * environment variable, the CLI flag and the camelCase option are all derived from the table's
 * key (`heartbeatMs` ⇄ `HEARTBEAT_MS` ⇄ `--heartbeat-ms`), so the three names cannot drift, and
 * the table is typed against {@link GatewayConfig}, so a setting cannot be added to one and not
 * the other.
 *
 * Validation never falls back to a default: every bad value and every broken cross-field rule is
 * collected and thrown together in one {@link ConfigError}, so an operator fixes a deployment in
 * one round instead of one restart per typo.
 *
 * The modules, in the order a value passes through them:
 * - types.ts: the public types and errors;
 * - kinds.ts: how one value is checked (a zod schema for options, one for text);
 * - settings.ts: the table, and the names derived from its keys;
 * - sources.ts: the environment and flags (`loadConfig`), library options (`resolveConfig`);
 * - resolve.ts: defaults, rules between settings, the frozen result;
 * - broker.ts: the broker topology the settings select;
 * - help.ts, describe.ts: `--help` and the startup log line.
 * - configuration-doc.ts: docs/configuration.md, from the table and configuration.template.md.
 */
export {
  ConfigError,
  HelpRequested,
  LOG_LEVELS,
  type AuthConfig,
  type BrokerConfig,
  type BrokerKind,
  type GatewayConfig,
  type GatewayOptions,
  type LogLevel,
  type RedisNode,
} from './types.js';
export { loadConfig, resolveConfig } from './sources.js';
export { configHelp } from './help.js';
export { describeConfig } from './describe.js';
export { brokerOf, type BrokerSettings } from './broker.js';
