/**
 * A replica killed under 2,000 clients (SPEC 5 and 9): three real gateway processes on a Redis
 * of their own; 2,000 SSE clients (a child process, storm-clients.mjs) open on replica A while
 * events are published on B and C; A gets SIGKILL; every client resumes like an EventSource on
 * B or C with its Last-Event-ID, and must end with exactly the published events of its topic, in
 * order: none lost, none repeated. The Redis load of the resume storm (INFO commandstats and
 * stats) is printed; only correctness is asserted. Needs a build (`npx tsc -p tsconfig.build.json`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayProcess } from '../helpers/gateway-process.js';
import { metricValue } from '../helpers/metrics.js';
import { RedisServer } from '@ssehub/local-redis';
import {
  publishOk,
  redisCli,
  startReplicas,
  stopReplicas,
  uniquePrefix,
} from '../helpers/replicas.js';
import { StormClients, type StormProgress } from '../helpers/storm-clients.js';
import { eventually, sleep } from '../helpers/timing.js';

const CLIENTS = 2000;
/**
 * Four busy topics (12 events/s each) and a quiet one (1 event/s): with HEARTBEAT_MS=250 its
 * clients mostly resume from a heartbeat's `id:`-only block rather than an event's id.
 */
const TOPICS = ['storm/t0', 'storm/t1', 'storm/t2', 'storm/t3', 'storm/quiet'] as const;
const PUBLISH_INTERVAL_MS = 20; // 50 events/s

function topicOf(seq: number): string {
  return seq % 50 === 49 ? 'storm/quiet' : `storm/t${seq % 4}`;
}

interface CommandStat {
  readonly calls: number;
  readonly usec: number;
}

interface RedisLoad {
  readonly at: number;
  readonly totalCommands: number;
  readonly commands: ReadonlyMap<string, CommandStat>;
}

async function redisLoad(url: string): Promise<RedisLoad> {
  const commands = new Map<string, CommandStat>();
  for (const line of await redisCli(url, 'INFO', 'commandstats')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+),/.exec(line.trim());
    if (m !== null) commands.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  const stats = (await redisCli(url, 'INFO', 'stats')).map((l) => l.trim());
  const total = stats.find((l) => l.startsWith('total_commands_processed:'));
  return { at: Date.now(), totalCommands: Number(total?.split(':')[1]), commands };
}

interface LoadDelta {
  readonly seconds: number;
  readonly totalCommands: number;
  /** Per command: calls and usec in the window. */
  readonly commands: Record<string, CommandStat & { usecPerCall: number }>;
}

function delta(from: RedisLoad, to: RedisLoad): LoadDelta {
  const commands: LoadDelta['commands'] = {};
  for (const [name, stat] of to.commands) {
    const before = from.commands.get(name) ?? { calls: 0, usec: 0 };
    const calls = stat.calls - before.calls;
    const usec = stat.usec - before.usec;
    if (calls > 0) {
      commands[name] = { calls, usec, usecPerCall: Math.round((usec / calls) * 100) / 100 };
    }
  }
  return {
    seconds: (to.at - from.at) / 1000,
    totalCommands: to.totalCommands - from.totalCommands,
    commands,
  };
}

/** Publishes round-robin on `adminUrls` every PUBLISH_INTERVAL_MS until stopped. */
function startPublisher(adminUrls: readonly string[]): {
  readonly published: Record<string, string[]>;
  count(): number;
  stop(): Promise<void>;
} {
  const published: Record<string, string[]> = Object.fromEntries(TOPICS.map((t) => [t, []]));
  let seq = 0;
  let stopped = false;
  const loop = async (): Promise<void> => {
    const started = Date.now();
    while (!stopped) {
      const topic = topicOf(seq);
      const id = await publishOk(adminUrls[seq % adminUrls.length]!, topic, `${seq}`);
      published[topic]!.push(id);
      seq += 1;
      await sleep(Math.max(0, started + seq * PUBLISH_INTERVAL_MS - Date.now()));
    }
  };
  const running = loop();
  running.catch(() => undefined); // surfaced by stop()
  return {
    published,
    count: () => seq,
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

describe('a replica killed under 2,000 clients', () => {
  let redis: RedisServer | undefined;
  let replicas: GatewayProcess[] = [];
  let clients: StormClients | undefined;

  beforeAll(async () => {
    redis = await RedisServer.start();
    replicas = await startReplicas(3, redis.url, uniquePrefix(), {
      MAX_CONNECTIONS_PER_IP: '10000',
      HEARTBEAT_MS: '250',
    });
  });
  afterAll(async () => {
    await clients?.stop();
    await stopReplicas(replicas);
    await redis?.stop();
  });

  it('resumes all 2,000 on the other replicas with no event lost or repeated', async () => {
    const [a, b, c] = replicas as [GatewayProcess, GatewayProcess, GatewayProcess];
    const url = redis!.url;
    const t0 = Date.now();
    const storm = StormClients.start({
      urls: [a.publicUrl, b.publicUrl, c.publicUrl],
      clients: CLIENTS,
      topics: TOPICS,
    });
    clients = storm;
    await storm.opened(45_000);
    const openedMs = Date.now() - t0;

    const publisher = startPublisher([b.adminUrl, c.adminUrl]);
    const progress = (): Promise<StormProgress> => storm.progress();
    await eventually(progress, (p) => p.minEvents >= 2, {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'every client to receive some events on replica A',
    });

    // A window of the steady load (publishes, watermark syncs) to set the storm against.
    const beforeBaseline = await redisLoad(url);
    const publishedBeforeBaseline = publisher.count();
    await sleep(3000);
    const beforeKill = await redisLoad(url);
    const publishedBeforeKill = publisher.count();
    // Kill while the quiet topic's clients hold a heartbeat's id, ahead of their last event.
    await eventually(progress, (p) => p.idOnlyAhead === CLIENTS / TOPICS.length, {
      timeoutMs: 10_000,
      intervalMs: 20,
      what: 'the quiet clients to hold a heartbeat id',
    });

    storm.killing();
    a.kill('SIGKILL');
    await a.exited;
    const resumed = await eventually(progress, (p) => p.resumedOpen === CLIENTS, {
      timeoutMs: 40_000,
      intervalMs: 100,
      what: `all ${CLIENTS} clients to resume on B or C`,
    });
    const afterResume = await redisLoad(url);
    const publishedAfterResume = publisher.count();

    await sleep(2000); // and publishing goes on after the storm
    await publisher.stop();
    const result = await storm.finish(publisher.published, 30_000);

    const baseline = delta(beforeBaseline, beforeKill);
    const resume = delta(beforeKill, afterResume);
    const scale = resume.seconds / baseline.seconds;
    const evalsha = (d: LoadDelta): CommandStat & { usecPerCall: number } =>
      d.commands['evalsha'] ?? { calls: 0, usec: 0, usecPerCall: 0 };
    const replayed = await Promise.all(
      [b, c].map((r) => metricValue(r.adminUrl, 'ssehub_events_replayed_total')),
    );
    const report = {
      clients: CLIENTS,
      openOnAMs: openedMs,
      published: publisher.count(),
      resume: {
        seconds: resume.seconds,
        byReplica: { b: resumed.resumedBy[1], c: resumed.resumedBy[2] },
        retries: result.retries,
        fromHeartbeatId: result.resumesFromIdOnly,
        eventsReplayed: { b: replayed[0], c: replayed[1] },
      },
      redisBaseline: {
        seconds: baseline.seconds,
        publishes: publishedBeforeKill - publishedBeforeBaseline,
        totalCommands: baseline.totalCommands,
        evalsha: evalsha(baseline),
      },
      redisResumeStorm: {
        seconds: resume.seconds,
        publishes: publishedAfterResume - publishedBeforeKill,
        totalCommands: resume.totalCommands,
        evalsha: evalsha(resume),
        commands: resume.commands,
        // What the storm added over the steady load of a window as long.
        excessTotalCommands: Math.round(resume.totalCommands - baseline.totalCommands * scale),
        excessEvalshaCalls: Math.round(evalsha(resume).calls - evalsha(baseline).calls * scale),
        excessEvalshaUsec: Math.round(evalsha(resume).usec - evalsha(baseline).usec * scale),
      },
      delivery: {
        delivered: result.delivered,
        lost: result.lost,
        repeated: result.repeated,
        drainMs: result.drainMs,
      },
    };
    console.log(`replica-kill storm: ${JSON.stringify(report, null, 2)}`);

    expect(result.problems).toEqual([]);
    expect(result.problemCount).toBe(0);
    expect(result.resumedOnce).toBe(CLIENTS);
    expect(result.resumedOpen).toBe(CLIENTS);
    expect(result.resumedBy[1]! + result.resumedBy[2]!).toBe(CLIENTS);
    expect({
      lost: result.lost,
      repeated: result.repeated,
      unexpected: result.unexpected,
      clientsMismatched: result.clientsMismatched,
    }).toEqual({ lost: 0, repeated: 0, unexpected: 0, clientsMismatched: 0 });
    const expectedDeliveries = TOPICS.reduce(
      (n, topic, k) =>
        n +
        publisher.published[topic]!.length *
          Array.from({ length: CLIENTS }, (_, i) => i % TOPICS.length).filter((t) => t === k)
            .length,
      0,
    );
    expect(result.delivered).toBe(expectedDeliveries);
  }, 120_000);
});
