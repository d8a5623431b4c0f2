/**
 * The relay's state machine on its own, with a scripted history and connection, so each rule of
 * DESIGN.md "Relay recovery" fails with a message that names it. The same rules are exercised
 * against a real Redis by test/integration/redis-*.int.test.ts and by the fault-injection suite
 * (test/chaos).
 */
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { Cursor } from '@ssehub/protocol';
import type { BrokerEvent, HistoryPage } from '../broker.js';
import { PROBE_INTERVAL_MS, Relay, RelayNotLiveError, type PositionVerdict } from './relay.js';

const EPOCH = 'AbCd';
const at = (seq: number, epoch = EPOCH): Cursor => ({
  epoch,
  shard: 0,
  position: { ms: 1_000, seq },
});
const raw = (seq: number, epoch = EPOCH): string =>
  `1\n${epoch}\n1000-${String(seq)}\nt\n\ne${String(seq)}`;
const event = (seq: number): BrokerEvent => ({
  topic: 't',
  event: undefined,
  data: `e${String(seq)}`,
  publishedAt: 1_000,
  cursor: at(seq),
});

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A history of events 1..newest and a connection whose answers the test controls. */
function setup(options: { newest?: number; check?: PositionVerdict } = {}) {
  let newest = options.newest ?? 0;
  let check: PositionVerdict = options.check ?? 'ok';
  const delivered: string[] = [];
  const gaps: number[] = [];
  const retired: string[] = [];
  let epoch = EPOCH;
  let pings: Deferred<undefined>[] = [];
  let resubscribes: Deferred<undefined>[] = [];
  let reconnects = 0;
  /** Which server each connection reaches (a failover can split them). */
  const server = { commands: 'run-1', subscriber: 'run-1' };
  const relay = new Relay({
    shardCount: 1,
    shardOf: () => 0,
    log: pino({ level: 'silent' }),
    history: {
      head: () => Promise.resolve(at(newest, epoch)),
      check: (_shard, seen) => {
        const verdict = seen.epoch === epoch ? check : 'epoch';
        return Promise.resolve(
          verdict === 'ok' ? { verdict, newest: at(newest, epoch) } : { verdict },
        );
      },
      readAfter: (_shard, after, limit): Promise<HistoryPage> => {
        const events: BrokerEvent[] = [];
        for (let s = after.position.seq + 1; s <= newest && events.length < limit; s++) {
          events.push(event(s));
        }
        return Promise.resolve({
          verdict: 'ok',
          events,
          done: events.at(-1)?.cursor.position.seq === newest || events.length === 0,
        });
      },
      recordPast: () => Promise.resolve(),
      serverId: () => Promise.resolve(server.commands),
      retire: (_shard, old) => {
        // As BUMP_EPOCH_SCRIPT: only the current epoch can be retired.
        if (old === epoch) {
          retired.push(old);
          epoch = `NeW${String(retired.length)}`;
        }
        return Promise.resolve(undefined);
      },
    },
    connection: {
      resubscribe: () => {
        const d = deferred<undefined>();
        resubscribes.push(d);
        return d.promise;
      },
      ping: () => {
        const d = deferred<undefined>();
        pings.push(d);
        return d.promise;
      },
      reconnect: () => {
        reconnects += 1;
      },
      serverId: () => Promise.resolve(server.subscriber),
    },
    output: {
      onEvent: (e) => delivered.push(e.data),
      onUp: () => undefined,
      onDown: () => undefined,
      onGap: (shard) => gaps.push(shard),
      onSkipped: () => undefined,
    },
  });
  return {
    relay,
    delivered,
    gaps,
    retired,
    get reconnects() {
      return reconnects;
    },
    server,
    publish(count: number): void {
      newest += count;
    },
    setCheck(verdict: PositionVerdict): void {
      check = verdict;
    },
    /** The shard's epoch on the server reached now (a failover to another dataset). */
    setEpoch(value: string): void {
      epoch = value;
    },
    takePing(): Deferred<undefined> {
      const d = pings.shift();
      if (d === undefined) throw new Error('no PING was sent');
      return d;
    },
    takeResubscribe(): Deferred<undefined> {
      const d = resubscribes.shift();
      if (d === undefined) throw new Error('no resubscribe was asked');
      return d;
    },
    clear(): void {
      pings = [];
      resubscribes = [];
    },
  };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve(undefined);
};

async function goLive(t: ReturnType<typeof setup>): Promise<void> {
  t.relay.connected();
  await settle();
  t.takeResubscribe().resolve(undefined);
  await t.relay.whenLive();
}

describe('Relay: the recovery state machine (#10)', () => {
  it('goes live on the first connect, following each shard from its head', async () => {
    const t = setup({ newest: 5 });
    await goLive(t);
    expect(t.relay.state).toBe('live');
    t.relay.message('ch', raw(6));
    expect(t.delivered).toEqual(['e6']);
  });

  it('holds messages while backfilling, then releases them in order without repeating what the backfill sent', async () => {
    const t = setup({ newest: 2 });
    await goLive(t);
    t.relay.disconnected();
    t.publish(3); // events 3..5 published while down
    t.relay.connected();
    await settle();
    // Subscribed again: 5 and 6 arrive live before the backfill read, 6 is newer than history.
    t.relay.message('ch', raw(5));
    t.publish(1);
    t.relay.message('ch', raw(6));
    t.takeResubscribe().resolve(undefined);
    await t.relay.whenLive();
    await settle();
    expect(t.delivered).toEqual(['e3', 'e4', 'e5', 'e6']);
  });

  it('drops a PONG from before a reconnect: a stale sync point never moves the position', async () => {
    const t = setup({ newest: 1 });
    await goLive(t);
    const sync = t.relay.syncPoint(0);
    await settle();
    const ping = t.takePing();
    t.relay.disconnected(); // the cut: events 2..3 are missed
    t.publish(2);
    t.relay.connected();
    await settle();
    ping.resolve(undefined); // answered after the reconnect, as ioredis would with resent commands
    await expect(sync).rejects.toBeInstanceOf(RelayNotLiveError);
    t.takeResubscribe().resolve(undefined);
    await settle();
    expect(t.delivered).toEqual(['e2', 'e3']);
  });

  it('never runs two recoveries at once: a reconnect during a recovery supersedes it', async () => {
    const t = setup({ newest: 0 });
    await goLive(t);
    t.relay.disconnected();
    t.publish(2);
    t.relay.connected();
    await settle();
    const first = t.takeResubscribe();
    t.relay.disconnected();
    t.relay.connected();
    first.resolve(undefined); // the first generation's reply comes late
    await settle();
    const second = t.takeResubscribe();
    second.resolve(undefined);
    await settle();
    expect(t.relay.state).toBe('live');
    expect(t.delivered).toEqual(['e1', 'e2']);
  });

  it('retires the epoch and signals a gap when history went backwards', async () => {
    const t = setup({ newest: 4 });
    await goLive(t);
    t.relay.message('ch', raw(5));
    t.relay.disconnected();
    t.setCheck('backwards');
    t.relay.connected();
    await settle();
    t.takeResubscribe().resolve(undefined);
    await settle();
    expect(t.retired).toEqual([EPOCH]);
    expect(t.gaps).toEqual([0]);
    // A message of the retired epoch still in flight is stale; the new epoch's are delivered.
    t.relay.message('ch', raw(9));
    t.relay.message('ch', raw(7, 'NeW1'));
    expect(t.delivered).toEqual(['e5', 'e7']);
  });

  it('retires again an epoch it left that comes back (a failover lost the retirement) and signals a gap', async () => {
    const t = setup({ newest: 4 });
    await goLive(t);
    const recover = async (): Promise<void> => {
      t.relay.disconnected();
      t.relay.connected();
      await settle();
      t.takeResubscribe().resolve(undefined);
      await settle();
    };
    t.setCheck('backwards');
    await recover();
    expect(t.retired).toEqual([EPOCH]);
    t.setCheck('ok');
    t.publish(1);
    t.relay.message('ch', raw(5, 'NeW1'));
    // A failover to a server that never received the retirement: EPOCH is current again.
    t.setEpoch(EPOCH);
    await recover();
    expect(t.retired).toEqual([EPOCH, EPOCH]);
    expect(t.gaps).toEqual([0, 0]);
    // Messages of both epochs left behind are stale; the newest epoch's are delivered.
    t.publish(1);
    t.relay.message('ch', raw(6));
    t.relay.message('ch', raw(6, 'NeW1'));
    t.relay.message('ch', raw(6, 'NeW2'));
    expect(t.delivered).toEqual(['e5', 'e6']);
  });

  it('a sync point that finds the shard back in an epoch it left rechecks, and the recovery retires it', async () => {
    const t = setup({ newest: 2 });
    await goLive(t);
    t.relay.disconnected();
    t.setCheck('backwards');
    t.relay.connected();
    await settle();
    t.takeResubscribe().resolve(undefined);
    await t.relay.whenLive();
    t.setCheck('ok');
    t.setEpoch(EPOCH); // no reconnect told the relay
    const sync = t.relay.syncPoint(0);
    await settle();
    t.takePing().resolve(undefined);
    await expect(sync).rejects.toBeInstanceOf(RelayNotLiveError);
    await settle();
    t.takeResubscribe().resolve(undefined);
    await settle();
    expect(t.relay.state).toBe('live');
    expect(t.retired).toEqual([EPOCH, EPOCH]);
    expect(t.gaps).toEqual([0, 0]);
  });

  it('the live probe notices a shard in another epoch than the one followed and rechecks', async () => {
    vi.useFakeTimers();
    try {
      const t = setup({ newest: 2 });
      await goLive(t);
      t.setEpoch('ZyXw'); // Redis lost its data and a publisher's script recreated the shard
      await vi.advanceTimersByTimeAsync(PROBE_INTERVAL_MS);
      expect(t.relay.state).toBe('subscribing');
      t.takeResubscribe().resolve(undefined);
      await vi.advanceTimersByTimeAsync(0);
      expect(t.relay.state).toBe('live');
      expect(t.gaps).toEqual([0]);
      t.relay.message('ch', raw(3, 'ZyXw'));
      expect(t.delivered).toEqual(['e3']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failed backfill is retried from the same position, not skipped', async () => {
    const t = setup({ newest: 1 });
    await goLive(t);
    t.relay.disconnected();
    t.publish(2);
    t.setCheck('ok');
    t.relay.connected();
    await settle();
    t.takeResubscribe().reject(new Error('SUBSCRIBE timed out'));
    await settle();
    expect(t.relay.state).toBe('subscribing');
    await new Promise((resolve) => setTimeout(resolve, 200)); // first retry after ~100 ms
    expect(t.reconnects).toBe(1);
    t.relay.disconnected();
    t.relay.connected();
    await settle();
    t.takeResubscribe().resolve(undefined);
    await settle();
    expect(t.delivered).toEqual(['e2', 'e3']);
  });

  it("does not take another epoch on a message's word: a forged one is dropped and the shard keeps flowing", async () => {
    const t = setup({ newest: 3 });
    await goLive(t);
    t.relay.message('ch', raw(4));
    t.relay.message('ch', raw(1, 'ZZZZ')); // not ssehub's: the position check says `ok`
    await settle();
    t.takeResubscribe().resolve(undefined);
    await t.relay.whenLive();
    await settle();
    t.publish(2);
    t.relay.message('ch', raw(5));
    t.relay.message('ch', raw(6));
    expect(t.delivered).toEqual(['e4', 'e5', 'e6']);
    expect(t.gaps).toEqual([]);
  });

  it("does not move a position to the far future on a message's word", async () => {
    const t = setup({ newest: 1 });
    await goLive(t);
    const farAhead = Date.now() + 3_600_000;
    t.relay.message('ch', `1\n${EPOCH}\n${String(farAhead)}-0\nt\n\nforged`);
    await settle();
    t.takeResubscribe().resolve(undefined);
    await settle();
    t.relay.message('ch', raw(2));
    expect(t.delivered).toEqual(['e2']);
  });

  it('backfills only once both connections reach the same server, and takes no sync point across servers', async () => {
    const t = setup({ newest: 1 });
    await goLive(t);
    t.relay.disconnected();
    t.publish(2);
    t.server.subscriber = 'run-2'; // the subscriber reached the new master first
    t.relay.connected();
    await settle();
    t.takeResubscribe().resolve(undefined);
    await settle();
    expect(t.delivered).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the retry reconnects
    expect(t.reconnects).toBe(1);
    t.server.commands = 'run-2';
    t.relay.disconnected();
    t.relay.connected();
    await settle();
    t.takeResubscribe().resolve(undefined);
    await t.relay.whenLive();
    await settle();
    expect(t.delivered).toEqual(['e2', 'e3']);
    t.server.commands = 'run-3';
    await expect(t.relay.syncPoint(0)).rejects.toBeInstanceOf(RelayNotLiveError);
  });

  it('skips a malformed message and keeps delivering', async () => {
    const t = setup({ newest: 0 });
    await goLive(t);
    t.relay.message('ch', '1\nXX\n1-1\na\n\nx');
    t.relay.message('ch', '1\nAbCd\n123456789012345678901-0\na\n\nx');
    t.relay.message('ch', raw(1));
    expect(t.delivered).toEqual(['e1']);
  });
});
