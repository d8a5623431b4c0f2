/**
 * `@ssehub/gateway` as a library (SPEC 12): `createGateway(options)` and the types around it.
 */
export { createGateway } from './gateway.js';
export type {
  Gateway,
  GatewayInjections,
  MiddlewareOptions,
  PublishOptions,
  RequestHandler,
  StatsView,
} from './gateway.js';
export { ConfigError, loadConfig, resolveConfig } from './config/index.js';
export type { GatewayConfig, GatewayOptions } from './config/index.js';
export { GatewayError, ERROR_STATUS } from './errors.js';
export type { ErrorCode } from './errors.js';
export type {
  Broker,
  BrokerCounters,
  BrokerEvent,
  BrokerSink,
  HistoryPage,
  Interest,
  PublishInput,
  PublishResult,
  ReadStart,
  ReplicaRegistry,
  ReplicaStats,
  PresenceEntry,
  ReplicaPresence,
} from './broker/broker.js';
export { EmbeddedBroker } from './broker/embedded-broker.js';
export type { EmbeddedBrokerOptions } from './broker/embedded-broker.js';
export type { Authenticator, Principal, Credentials } from './auth/authenticator.js';
export { DeploymentMismatchError } from './broker/redis/redis-broker.js';
