/**
 * `pnpm bench`: publish throughput of `@ssehub/publisher` to one local Redis, against a baseline
 * measured in the same run: raw ioredis `XADD` + `PUBLISH`, pipelined in batches of 100 (what
 * Redis itself takes here, with none of the publisher's work: no script, no validation, no
 * breaker, no idempotency, no ids). Absolute numbers depend on this shared 2-core machine, where
 * Node and redis-server compete for the same cores; the ratios say more.
 *
 * Scenarios: (a) `publishMany` in batches of 100 from one process; (b) single `publish` with 64
 * concurrent callers; (c) the baseline. Targets (the issue): (a) >= 50,000 events/s, (b) >= 15,000.
 *
 * Settings (environment): BENCH_SECONDS (measured seconds per scenario, default 4),
 * BENCH_WARMUP_SECONDS (default 1), BENCH_INFLIGHT (batches in flight in (a) and (c), default 4),
 * BENCH_PAYLOAD_BYTES (default 100).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisServer } from '@ssehub/local-redis';
import { createPublisher, type PublishInput, type Publisher } from '../src/index.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4);
const WARMUP_SECONDS = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 1);
const INFLIGHT = Number(process.env['BENCH_INFLIGHT'] ?? 4);
const PAYLOAD_BYTES = Number(process.env['BENCH_PAYLOAD_BYTES'] ?? 100);
const BATCH = 100;
const CALLERS = 64;
const TOPIC = 'bench/throughput';
const TARGET_MANY = 50_000;
const TARGET_SINGLE = 15_000;

/** A JSON object of about PAYLOAD_BYTES once serialized. */
const DATA = { kind: 'tick', seq: 0, pad: 'x'.repeat(Math.max(0, PAYLOAD_BYTES - 30)) };

/**
 * Runs `workers` loops of `step` (each resolving to the events it did) for `seconds`; returns
 * events per second over the measured span.
 */
async function measure(
  workers: number,
  seconds: number,
  step: () => Promise<number>,
): Promise<number> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let events = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < end) {
        // Not `events += await step()`: that reads `events` before the await and loses updates.
        const done = await step();
        events += done;
      }
    }),
  );
  return events / ((performance.now() - start) / 1000);
}

interface Scenario {
  readonly name: string;
  readonly workers: number;
  readonly step: () => Promise<number>;
}

function scenarios(publisher: Publisher, raw: Redis, prefix: string): Scenario[] {
  const batch: PublishInput[] = Array.from({ length: BATCH }, (_, i) => ({
    topic: TOPIC,
    data: { ...DATA, seq: i },
  }));
  const stream = `${prefix}:baseline:stream`;
  const channel = `${prefix}:baseline:t:${TOPIC}`;
  const payloads = batch.map((e) => JSON.stringify(e.data));
  return [
    {
      name: 'publishMany (batches of 100)',
      workers: INFLIGHT,
      step: async () => (await publisher.publishMany(batch)).length,
    },
    {
      name: `publish (${CALLERS} concurrent callers)`,
      workers: CALLERS,
      step: async () => {
        await publisher.publish(TOPIC, DATA);
        return 1;
      },
    },
    {
      name: 'baseline: raw XADD + PUBLISH, pipelined by 100',
      workers: INFLIGHT,
      step: async () => {
        const pipeline = raw.pipeline();
        for (const data of payloads) {
          pipeline.xadd(stream, 'MAXLEN', '~', '10001', '*', 't', TOPIC, 'e', '', 'd', data);
          pipeline.publish(channel, data);
        }
        const replies = await pipeline.exec();
        const failed = replies?.find(([err]) => err !== null);
        if (failed !== undefined) throw failed[0] ?? new Error('pipeline failed');
        return BATCH;
      },
    },
  ];
}

function format(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  // No persistence (the kit's default); waitForPing: measure only once it answers commands.
  const redis = await RedisServer.start({ args: ['--loglevel', 'warning'], waitForPing: true });
  const { url } = redis;
  // Ctrl-C or a kill must not leave redis-server behind.
  const onSignal = (signal: NodeJS.Signals): void => {
    redis.child?.kill('SIGKILL');
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const prefix = `bench${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  // No gateway runs here to create the meta hash, so the publisher may, with the gateway defaults.
  const publisher = createPublisher({ redis: url, prefix, settings: {} });
  const raw = new Redis(url, { connectionName: 'bench-baseline' });
  try {
    const results: { name: string; eventsPerSec: number }[] = [];
    for (const s of scenarios(publisher, raw, prefix)) {
      await measure(s.workers, WARMUP_SECONDS, s.step);
      const eventsPerSec = await measure(s.workers, SECONDS, s.step);
      results.push({ name: s.name, eventsPerSec });
      console.log(`${s.name.padEnd(48)} ${format(eventsPerSec).padStart(10)} events/s`);
    }
    const [many, single, baseline] = results.map((r) => r.eventsPerSec) as [number, number, number];
    console.log('');
    console.log(
      `publishMany: ${(many / baseline).toFixed(2)} x baseline, target ${format(TARGET_MANY)} events/s ${many >= TARGET_MANY ? 'met' : 'MISSED'}`,
    );
    console.log(
      `publish x${CALLERS}: ${(single / baseline).toFixed(2)} x baseline, target ${format(TARGET_SINGLE)} events/s ${single >= TARGET_SINGLE ? 'met' : 'MISSED'}`,
    );
    console.log(
      JSON.stringify({
        bench: 'publish-throughput',
        seconds: SECONDS,
        batch: BATCH,
        inflight: INFLIGHT,
        callers: CALLERS,
        payloadBytes: JSON.stringify(DATA).length,
        publishManyPerSec: Math.round(many),
        publishPerSec: Math.round(single),
        baselinePerSec: Math.round(baseline),
        publishManyRatio: Number((many / baseline).toFixed(3)),
        publishRatio: Number((single / baseline).toFixed(3)),
        publishManyTargetMet: many >= TARGET_MANY,
        publishTargetMet: single >= TARGET_SINGLE,
      }),
    );
  } finally {
    raw.disconnect();
    await publisher.close().catch(() => undefined);
    await redis.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
