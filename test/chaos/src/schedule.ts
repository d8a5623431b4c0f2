/**
 * The nemesis's plan: which faults happen when, drawn from a seeded {@link Rng} before the run
 * starts, so one seed always gives the same plan. Faults run in two lanes so that a Redis-side
 * fault and a network- or gateway-side fault can overlap (a gateway restarting while Redis is
 * down is a case of its own); within a lane they are sequential.
 */
import type { Rng } from './prng.js';
import type { TopologyKind } from './topology.js';

/** Every kind of fault the nemesis knows. */
export const FAULT_KINDS = [
  'redis-kill',
  'redis-pause',
  'client-kill-pubsub',
  'client-kill-normal',
  'debug-sleep',
  'proxy-cut',
  'proxy-blackhole',
  'proxy-delay',
  'proxy-throttle',
  'gateway-kill',
  'gateway-term',
  'malformed',
  'sentinel-failover',
  'failover-behind',
  'cluster-failover',
  'redis-restart',
  'proxy-stall-then-cut',
] as const;

/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Lane 0 hurts Redis itself; lane 1 the network and the gateways. */
export function laneOf(kind: FaultKind): 0 | 1 {
  switch (kind) {
    case 'redis-kill':
    case 'redis-restart':
    case 'redis-pause':
    case 'client-kill-pubsub':
    case 'client-kill-normal':
    case 'debug-sleep':
    case 'sentinel-failover':
    case 'failover-behind':
    case 'cluster-failover':
      return 0;
    case 'proxy-cut':
    case 'proxy-stall-then-cut':
    case 'proxy-blackhole':
    case 'proxy-delay':
    case 'proxy-throttle':
    case 'gateway-kill':
    case 'gateway-term':
    case 'malformed':
      return 1;
  }
}

/**
 * Kinds a seeded plan draws only when named (`--faults`, or an explicit plan): drawing them by
 * default would change the plan of every seed recorded so far.
 */
export const OPT_IN_FAULTS: readonly FaultKind[] = ['redis-restart', 'proxy-stall-then-cut'];

/** Every kind a topology supports: {@link faultsFor} and the {@link OPT_IN_FAULTS}. */
export function supportedFaults(kind: TopologyKind): FaultKind[] {
  return [...faultsFor(kind), ...OPT_IN_FAULTS];
}

/** The faults a seeded plan draws from on a topology by default. */
export function faultsFor(kind: TopologyKind): FaultKind[] {
  const common: FaultKind[] = [
    'redis-kill',
    'redis-pause',
    'client-kill-pubsub',
    'client-kill-normal',
    'debug-sleep',
    'proxy-cut',
    'proxy-blackhole',
    'proxy-delay',
    'proxy-throttle',
    'gateway-kill',
    'gateway-term',
    'malformed',
  ];
  switch (kind) {
    case 'standalone':
      return common;
    case 'sentinel':
      return [...common, 'sentinel-failover', 'failover-behind'];
    case 'cluster':
      return [...common, 'cluster-failover'];
  }
}

/**
 * Number of `malformed` variants: 8 message shapes times 3 channels (shard 0's `sub:t`, `all`
 * and `t:t/a`).
 */
export const MALFORMED_VARIANTS = 24;

/** One planned fault. Targets are resolved when it runs (`target` modulo the candidates). */
export interface PlannedFault {
  /** Planned start, ms after the workload started. */
  readonly at: number;
  readonly lane: 0 | 1;
  readonly kind: FaultKind;
  /** A draw that picks the node, proxy or gateway among the candidates at run time. */
  readonly target: number;
  /** How long the fault lasts before it is healed (ms; 0 for instant faults). */
  readonly holdMs: number;
  /**
   * A kind-specific choice: for `proxy-blackhole` 0 resumes and 1 cuts at the end; for
   * `proxy-stall-then-cut` 0 stalls and cuts every connection, 1 only the gateways' relay
   * subscriber connections; for `failover-behind` 1 keeps the gateways away from the new master
   * until it has accepted a publish on every shard (0: no wait); for `proxy-delay` the added
   * latency (ms); for `proxy-throttle` the bytes/s; for `malformed` the message shape
   * (variant % 8) and the channel (variant / 8).
   */
  readonly variant: number;
}

/** Options of {@link planFaults}. */
export interface PlanOptions {
  /** Kinds to draw from (already filtered by topology and `--faults`). */
  readonly kinds: readonly FaultKind[];
  /** Length of the faulty phase, in ms; no fault is planned to start after it. */
  readonly durationMs: number;
  /** Pause between two faults of a lane, in ms. @defaultValue [500, 3000] */
  readonly gapMs?: readonly [number, number];
}

function holdFor(kind: FaultKind, rng: Rng): number {
  switch (kind) {
    case 'redis-kill':
    case 'redis-restart':
      return rng.int(200, 3000);
    case 'proxy-stall-then-cut':
      return rng.int(100, 1000);
    case 'redis-pause':
      return rng.int(500, 3000);
    case 'debug-sleep':
      return rng.int(500, 2500);
    case 'proxy-blackhole':
      return rng.int(300, 4000);
    case 'proxy-delay':
    case 'proxy-throttle':
      return rng.int(1000, 5000);
    case 'gateway-kill':
    case 'gateway-term':
      return rng.int(200, 2000);
    case 'failover-behind':
      return rng.int(800, 2500);
    case 'client-kill-pubsub':
    case 'client-kill-normal':
    case 'proxy-cut':
    case 'malformed':
    case 'sentinel-failover':
    case 'cluster-failover':
      return 0;
  }
}

function variantFor(kind: FaultKind, rng: Rng): number {
  switch (kind) {
    case 'proxy-blackhole':
    case 'proxy-stall-then-cut':
      return rng.int(0, 1);
    case 'proxy-delay':
      return rng.int(20, 500);
    case 'proxy-throttle':
      return rng.int(2_000, 50_000);
    case 'malformed':
      return rng.int(0, MALFORMED_VARIANTS - 1);
    case 'redis-kill':
    case 'redis-restart':
    case 'redis-pause':
    case 'client-kill-pubsub':
    case 'client-kill-normal':
    case 'debug-sleep':
    case 'proxy-cut':
    case 'gateway-kill':
    case 'gateway-term':
    case 'sentinel-failover':
    case 'failover-behind':
    case 'cluster-failover':
      return 0;
  }
}

/**
 * Draws the plan. Each lane starts after one gap and then alternates a fault (its hold time)
 * and a gap, until `durationMs`. The same `rng` state gives the same plan.
 */
export function planFaults(rng: Rng, options: PlanOptions): PlannedFault[] {
  const [gapMin, gapMax] = options.gapMs ?? [500, 3000];
  const plan: PlannedFault[] = [];
  for (const lane of [0, 1] as const) {
    const kinds = options.kinds.filter((k) => laneOf(k) === lane);
    const laneRng = rng.fork();
    if (kinds.length === 0) continue;
    let at = laneRng.int(gapMin, gapMax);
    while (at < options.durationMs) {
      const kind = laneRng.pick(kinds);
      const holdMs = holdFor(kind, laneRng);
      plan.push({
        at,
        lane,
        kind,
        target: laneRng.int(0, 1_000_000),
        holdMs,
        variant: variantFor(kind, laneRng),
      });
      at += holdMs + laneRng.int(gapMin, gapMax);
    }
  }
  return plan.sort((a, b) => a.at - b.at || a.lane - b.lane);
}
