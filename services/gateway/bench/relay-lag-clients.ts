/**
 * Subscriber side of the relay-lag bench (relay-lag.ts), run as its own process so the clients
 * do not share an event loop with the publisher. Opens `perUrl` SSE streams on each URL, and for
 * every `data: <sentAt>:<seq>` line records `now - sentAt` (both wall-clock milliseconds with
 * microsecond resolution, `performance.timeOrigin + performance.now()`, comparable across
 * processes on one machine) and which `seq` each stream got. Data whose seq is not a number
 * (warm-up events) is ignored. One receipt time is taken per chunk read from the socket.
 *
 * The streams are plain TCP sockets with a hand-written `GET`, scanned as bytes for `data: `
 * (the chunked-encoding lines in between never contain it): one process has to keep up with
 * every delivery of the run, so it skips Node's HTTP client and stream layers. Its event-loop
 * utilization is reported, to tell a lag of the clients from a lag of the gateway.
 *
 * Protocol (IPC): parent sends `start`; child answers `open` once every stream has its `: ok`.
 * Parent may send `count`; child answers `count` with the warm-up deliveries so far. Parent sends
 * `mark` when the measured phase starts.
 * Parent sends `finish` with how many events were published; child waits until every stream has
 * every accepted event (or `drainMs` passes) and answers `result`.
 */
import net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface ClientsStart {
  readonly type: 'start';
  readonly urls: readonly string[];
  readonly perUrl: number;
  /** Expected number of measured events (sizes the buffers; more is handled). */
  readonly expectedEvents: number;
  /** Publish rate: seq / rate is the second of the run an event belongs to. */
  readonly rate: number;
}

export interface ClientsFinish {
  readonly type: 'finish';
  /** Seqs 0 to published - 1 were sent. */
  readonly published: number;
  /** Seqs whose publish failed (not expected at the clients). */
  readonly failed: readonly number[];
  /** How long to wait for stragglers, in ms. */
  readonly drainMs: number;
}

export interface LagSummary {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export interface ClientsResult {
  readonly type: 'result';
  readonly subscribers: number;
  /** Accepted events × subscribers. */
  readonly expected: number;
  /** Distinct (subscriber, accepted event) pairs received. */
  readonly received: number;
  readonly missed: number;
  /** Subscribers that missed at least one event. */
  readonly subscribersMissing: number;
  readonly duplicates: number;
  /** Streams that ended or failed during the run. */
  readonly streamsClosed: number;
  /** Time the drain took after `finish`, in ms. */
  readonly drainMs: number;
  /** End-to-end lag (publish call to receipt) in ms, over every delivery of a measured event. */
  readonly lag: LagSummary;
  /** The same per replica (index of `urls`). */
  readonly lagByReplica: readonly LagSummary[];
  /** The same per second of the run (by publish time), to tell a steady lag from a growing one. */
  readonly lagBySecond: readonly LagSummary[];
  /** This process's event loop over the measured phase (`mark` to `finish`); delay in ms. */
  readonly eventLoop: { readonly utilization: number; readonly delayP99Ms: number };
}

const STATUS_OK = Buffer.from('HTTP/1.1 200 ');
const OK = Buffer.from(': ok\n');
/** Only `data:` lines hold this (ids, comments and chunk sizes cannot), so no newline is needed. */
const DATA = Buffer.from('data: ');
const NL = 0x0a;
const COLON = 0x3a;
const DOT = 0x2e;

function send(message: Record<string, unknown>): void {
  process.send?.(message);
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Growable sample buffer. */
class Samples {
  #values: Float64Array;
  #length = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(Math.max(1024, capacity));
  }

  push(value: number): void {
    if (this.#length === this.#values.length) {
      const bigger = new Float64Array(this.#values.length * 2);
      bigger.set(this.#values);
      this.#values = bigger;
    }
    this.#values[this.#length++] = value;
  }

  summary(): LagSummary {
    const sorted = this.#values.subarray(0, this.#length).sort();
    const n = sorted.length;
    const at = (q: number): number => (n === 0 ? NaN : (sorted[Math.ceil(q * n) - 1] ?? NaN));
    let sum = 0;
    for (const v of sorted) sum += v;
    const round = (v: number): number => Math.round(v * 1000) / 1000;
    return {
      count: n,
      mean: round(n === 0 ? NaN : sum / n),
      p50: round(at(0.5)),
      p90: round(at(0.9)),
      p99: round(at(0.99)),
      p999: round(at(0.999)),
      max: round(n === 0 ? NaN : (sorted[n - 1] ?? NaN)),
    };
  }
}

class Subscriber {
  seen: Uint8Array;
  distinct = 0;
  duplicates = 0;

  constructor(
    readonly replica: number,
    capacity: number,
  ) {
    this.seen = new Uint8Array(capacity);
  }

  mark(seq: number): void {
    if (seq >= this.seen.length) {
      const bigger = new Uint8Array(Math.max(seq + 1, this.seen.length * 2));
      bigger.set(this.seen);
      this.seen = bigger;
    }
    if (this.seen[seq] === 1) {
      this.duplicates += 1;
      return;
    }
    this.seen[seq] = 1;
    this.distinct += 1;
  }
}

/**
 * Parses `<sentAt>:<seq>` from bytes[start, end): sentAt a decimal with an optional fraction,
 * seq a non-negative integer. Returns seq -1 when the seq part is not a number (warm-up).
 */
function parseData(bytes: Buffer, start: number, end: number): { sentAt: number; seq: number } {
  let i = start;
  let whole = 0;
  for (; i < end && bytes[i] !== DOT && bytes[i] !== COLON; i++)
    whole = whole * 10 + (bytes[i] ?? 0) - 48;
  let fraction = 0;
  let scale = 1;
  if (bytes[i] === DOT) {
    for (i++; i < end && bytes[i] !== COLON; i++) {
      fraction = fraction * 10 + (bytes[i] ?? 0) - 48;
      scale *= 10;
    }
  }
  i++; // the colon
  let seq = i < end ? 0 : -1;
  for (; i < end; i++) {
    const d = (bytes[i] ?? 0) - 48;
    if (d < 0 || d > 9) return { sentAt: 0, seq: -1 };
    seq = seq * 10 + d;
  }
  return { sentAt: whole + fraction / scale, seq };
}

/** Where the unparsed tail of a fully scanned chunk starts: at a split `data: ` marker, or the end. */
function tailStart(bytes: Buffer): number {
  for (let k = DATA.length - 1; k > 0; k--) {
    if (bytes.length >= k && bytes.subarray(bytes.length - k).equals(DATA.subarray(0, k))) {
      return bytes.length - k;
    }
  }
  return bytes.length;
}

function run(start: ClientsStart): void {
  const total = start.urls.length * start.perUrl;
  const capacity = start.expectedEvents + 1;
  const all = new Samples(total * start.expectedEvents);
  const byReplica = start.urls.map(() => new Samples(start.perUrl * start.expectedEvents));
  const bySecond: Samples[] = [];
  const subscribers: Subscriber[] = [];
  let open = 0;
  let streamsClosed = 0;
  let warmUpDeliveries = 0;

  const onData = (sub: Subscriber, bytes: Buffer, receivedAt: number): number => {
    // Returns where the unparsed tail starts (an unfinished data line, or a possible split marker).
    let index = bytes.indexOf(DATA);
    while (index !== -1) {
      const lineStart = index + DATA.length;
      const lineEnd = bytes.indexOf(NL, lineStart);
      if (lineEnd === -1) return index;
      const { sentAt, seq } = parseData(bytes, lineStart, lineEnd);
      if (seq < 0) warmUpDeliveries += 1;
      else {
        const lag = receivedAt - sentAt;
        all.push(lag);
        byReplica[sub.replica]?.push(lag);
        const second = Math.floor(seq / start.rate);
        for (let k = bySecond.length; k <= second; k++)
          bySecond.push(new Samples(total * start.rate));
        bySecond[second]?.push(lag);
        sub.mark(seq);
      }
      index = bytes.indexOf(DATA, lineEnd);
    }
    return tailStart(bytes);
  };

  for (let r = 0; r < start.urls.length; r++) {
    const url = new URL(start.urls[r] ?? '');
    const request = Buffer.from(
      `GET ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n` +
        'accept: text/event-stream\r\n\r\n',
    );
    for (let i = 0; i < start.perUrl; i++) {
      const sub = new Subscriber(r, capacity);
      subscribers.push(sub);
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.setNoDelay(true);
        socket.write(request);
      });
      let isOpen = false;
      // Bytes kept from the previous chunk: an unfinished data line or a split marker.
      let carry: Buffer | undefined;
      socket.on('data', (chunk: Buffer) => {
        const receivedAt = nowMs();
        const bytes = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
        if (!isOpen) {
          if (bytes.length < STATUS_OK.length) {
            carry = bytes;
            return;
          }
          if (!bytes.subarray(0, STATUS_OK.length).equals(STATUS_OK)) {
            const status = bytes.toString('latin1', 0, bytes.indexOf('\r'));
            send({ type: 'error', message: `subscribe ${url.href} answered ${status}` });
            socket.destroy();
            return;
          }
          if (!bytes.includes(OK)) {
            carry = bytes;
            return;
          }
          isOpen = true;
          open += 1;
          if (open === total) send({ type: 'open' });
        }
        const tail = onData(sub, bytes, receivedAt);
        carry = tail === bytes.length ? undefined : bytes.subarray(tail);
      });
      socket.on('close', () => {
        streamsClosed += 1;
      });
      socket.on('error', (err) => {
        send({ type: 'error', message: `subscribe ${url.href}: ${err.message}` });
      });
    }
  }

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let eluStart = performance.eventLoopUtilization();

  process.on('message', (message: { readonly type?: unknown }) => {
    if (message.type === 'count') send({ type: 'count', warmUpDeliveries });
    if (message.type === 'mark') {
      delay.reset();
      eluStart = performance.eventLoopUtilization();
    }
    if (message.type !== 'finish') return;
    const m = message as ClientsFinish;
    const failed = new Set(m.failed);
    const accepted = m.published - failed.size;
    const started = Date.now();
    const eventLoop = {
      utilization: Math.round(performance.eventLoopUtilization(eluStart).utilization * 100) / 100,
      // The histogram holds whole 10 ms sampling intervals: the delay is what exceeds one.
      delayP99Ms: Math.round(Math.max(0, delay.percentile(99) / 1e6 - 10) * 100) / 100,
    };
    const check = (): void => {
      const complete = subscribers.every((s) => s.distinct >= accepted);
      if (!complete && Date.now() - started < m.drainMs) {
        setTimeout(check, 20);
        return;
      }
      let received = 0;
      let subscribersMissing = 0;
      for (const s of subscribers) {
        let got = 0;
        for (let seq = 0; seq < m.published; seq++) {
          if (s.seen[seq] === 1 && !failed.has(seq)) got += 1;
        }
        received += got;
        if (got < accepted) subscribersMissing += 1;
      }
      const result: ClientsResult = {
        type: 'result',
        subscribers: total,
        expected: accepted * total,
        received,
        missed: accepted * total - received,
        subscribersMissing,
        duplicates: subscribers.reduce((n, s) => n + s.duplicates, 0),
        streamsClosed,
        drainMs: Date.now() - started,
        lag: all.summary(),
        lagByReplica: byReplica.map((s) => s.summary()),
        lagBySecond: bySecond.map((s) => s.summary()),
        eventLoop,
      };
      send({ ...result });
    };
    check();
  });
}

process.once('message', (m: ClientsStart) => {
  run(m);
});
