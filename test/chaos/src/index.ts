/**
 * `@ssehub/chaos`: the fault-injection suite for ssehub's delivery promise (docs/reliability.md).
 *
 * @packageDocumentation
 */
export { check } from './checker.js';
export type {
  FatalAnswer,
  LostEvent,
  OutOfOrderEvent,
  PhantomEvent,
  RepeatedEvent,
  SubscriberVerdict,
  Verdict,
} from './verdict.js';
export type {
  FaultRecord,
  Frame,
  HeldEntry,
  History,
  PublishRecord,
  PublishStatus,
  ShardState,
  SubscriberRecord,
} from './history.js';
export { Rng } from './prng.js';
export {
  FAULT_KINDS,
  OPT_IN_FAULTS,
  faultsFor,
  laneOf,
  planFaults,
  supportedFaults,
} from './schedule.js';
export type { FaultKind, PlannedFault, PlanOptions } from './schedule.js';
export { formatSummary } from './report.js';
export { runChaos } from './run.js';
export type { ChaosOptions, ChaosResult, RunContext } from './run.js';
export { openRawStream, readMetric } from './probe.js';
export type { RawAnswer, RawStream } from './probe.js';
export { TcpProxy } from './proxy.js';
export type { HoldScope } from './proxy.js';
export { SUBSCRIPTIONS } from './subscriber.js';
export type { SubscriptionSpec } from './subscriber.js';
export { EventSourceClient } from './sse-client.js';
export type { TopologyKind } from './topology.js';
