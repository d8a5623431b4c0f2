/**
 * This replica's figures for `/admin/api/stats` (SPEC 10), sampled once a second so rates are
 * per-second averages over the last few seconds, and reported to the broker's registry so every
 * replica can list every other.
 */
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Broker, ReplicaStats } from '../broker/broker.js';
import type { ConnectionRegistry } from '../fanout/connection-registry.js';
import type { Dispatcher } from '../fanout/dispatcher.js';
import type { Metrics } from './metrics.js';

/** Rates are averaged over this many one-second samples. */
const RATE_WINDOW_SAMPLES = 5;
const SAMPLE_INTERVAL_MS = 1000;

interface Sample {
  readonly at: number;
  readonly eventsIn: number;
  readonly eventsOut: number;
}

export interface ReplicaStatsDeps {
  readonly broker: Broker;
  readonly dispatcher: Dispatcher;
  readonly registry: ConnectionRegistry;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export class ReplicaStatsCollector {
  readonly startedAt = new Date().toISOString();
  readonly #samples: Sample[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly replicaId: string,
    private readonly deps: ReplicaStatsDeps,
  ) {}

  start(): void {
    if (this.#timer !== undefined) return;
    void this.#sample();
    this.#timer = setInterval(() => void this.#sample(), SAMPLE_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  snapshot(): ReplicaStats {
    const { registry, dispatcher, broker } = this.deps;
    const first = this.#samples[0];
    const last = this.#samples.at(-1);
    const seconds = first !== undefined && last !== undefined ? (last.at - first.at) / 1000 : 0;
    const rate = (pick: (s: Sample) => number): number =>
      seconds > 0 && first !== undefined && last !== undefined
        ? Math.round(((pick(last) - pick(first)) / seconds) * 100) / 100
        : 0;
    return {
      id: this.replicaId,
      connections: registry.size,
      subscriptions: dispatcher.subscriptions,
      topics: registry.distinctPatterns(),
      eventsInPerSec: rate((s) => s.eventsIn),
      eventsOutPerSec: rate((s) => s.eventsOut),
      startedAt: this.startedAt,
      broker: broker.kind,
      brokerUp: broker.isUp(),
      pid: process.pid,
    };
  }

  async #sample(): Promise<void> {
    const { metrics, broker, registry, log } = this.deps;
    this.#samples.push({
      at: Date.now(),
      eventsIn: await counterValue(metrics.eventsReceived),
      eventsOut: await counterValue(metrics.eventsDelivered),
    });
    if (this.#samples.length > RATE_WINDOW_SAMPLES + 1) this.#samples.shift();
    try {
      await broker.registry.report(this.snapshot(), registry.presence());
    } catch (err) {
      log.debug({ err }, 'replica stats report failed; retrying next second');
    }
  }
}

async function counterValue(counter: Counter): Promise<number> {
  const { values } = await counter.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}
