/**
 * Subscribers: browser-like EventSources with `envelope=1` on a set of pattern shapes (exact,
 * subtree route, wildcards, everything), each reconnecting to a random gateway as behind a load
 * balancer, recording every frame with its receive time and connection number.
 */
import { RESET_EVENT } from '@ssehub/protocol';
import type { Frame, SubscriberRecord } from './history.js';
import type { GatewayNode } from './gateway.js';
import type { Rng } from './prng.js';
import { EventSourceClient } from './sse-client.js';

/** A subscription shape: the request path and the patterns it stands for. */
export interface SubscriptionSpec {
  readonly name: string;
  /** Path and query, without `envelope=1`. */
  readonly path: string;
  readonly patterns: readonly string[];
}

/** The shapes every run uses (each matches some of {@link TOPICS}). */
export const SUBSCRIPTIONS: readonly SubscriptionSpec[] = [
  { name: 'exact', path: '/subscribe?topic=t/a', patterns: ['t/a'] },
  { name: 'subtree', path: '/subscribe/t', patterns: ['t/**'] },
  { name: 'wild', path: '/subscribe?topic=t/*&topic=u/**', patterns: ['t/*', 'u/**'] },
  { name: 'all', path: '/subscribe?topic=**', patterns: ['**'] },
  { name: 'mixed', path: '/subscribe?topic=w/*/s&topic=u/x', patterns: ['w/*/s', 'u/x'] },
  { name: 'deep', path: '/subscribe/u/y', patterns: ['u/y/**'] },
];

/** Options of {@link Subscriber}. */
export interface SubscriberOptions {
  readonly name: string;
  readonly spec: SubscriptionSpec;
  readonly gateways: readonly GatewayNode[];
  /** The gateway of the first connection (later ones are random). */
  readonly firstGateway: number;
  readonly rng: Rng;
  readonly now: () => number;
}

function withEnvelope(path: string): string {
  return path.includes('?') ? `${path}&envelope=1` : `${path}?envelope=1`;
}

/** One subscriber and its recorded frames. */
export class Subscriber {
  readonly record: SubscriberRecord;
  readonly #gatewayByConn = new Map<number, number>();
  readonly #client: EventSourceClient;

  constructor(options: SubscriberOptions) {
    const frames: Frame[] = [];
    this.record = { name: options.name, patterns: options.spec.patterns, frames };
    const { now, gateways, rng } = options;
    const path = withEnvelope(options.spec.path);
    this.#client = new EventSourceClient({
      url: (attempt) => {
        const index = attempt === 1 ? options.firstGateway : rng.int(0, gateways.length - 1);
        const gateway = gateways[index] ?? gateways[0];
        if (gateway === undefined) throw new Error('no gateways');
        this.#gatewayByConn.set(attempt, index);
        return { url: `${gateway.publicUrl}${path}`, gateway: index };
      },
      handlers: {
        onOpen: (conn) => {
          frames.push({ kind: 'open', t: now(), conn, gateway: this.#gatewayOf(conn) });
        },
        onComment: (conn, text) => {
          if (text.startsWith('not ready')) frames.push({ kind: 'not-ready', t: now(), conn });
        },
        onClose: (conn, reason) => {
          frames.push({ kind: 'close', t: now(), conn, reason });
        },
        onFatal: (conn, status, body) => {
          frames.push({ kind: 'fatal', t: now(), conn, status, body });
        },
        onBlock: (conn, block) => {
          const t = now();
          const id = block.lastEventId;
          if (block.data === undefined) {
            frames.push({ kind: 'id', t, conn, id });
            return;
          }
          const name = block.type === 'message' ? undefined : block.type;
          if (block.type === RESET_EVENT) {
            let reason = '?';
            try {
              const parsed = JSON.parse(block.data) as { reason?: unknown };
              if (typeof parsed.reason === 'string') reason = parsed.reason;
            } catch {
              reason = `unparsed: ${block.data.slice(0, 80)}`;
            }
            frames.push({ kind: 'reset', t, conn, id, reason });
            return;
          }
          try {
            const envelope = JSON.parse(block.data) as { topic?: unknown; data?: unknown };
            if (typeof envelope.topic === 'string' && typeof envelope.data === 'string') {
              frames.push({
                kind: 'event',
                t,
                conn,
                id,
                topic: envelope.topic,
                key: envelope.data,
                ...(name === undefined ? {} : { name }),
              });
              return;
            }
          } catch {
            // Not an envelope: recorded as garbled below.
          }
          frames.push({
            kind: 'garbled',
            t,
            conn,
            id,
            data: block.data,
            ...(name === undefined ? {} : { name }),
          });
        },
      },
    });
  }

  #gatewayOf(conn: number): number {
    return this.#gatewayByConn.get(conn) ?? -1;
  }

  /** The browser's last event id. */
  get lastEventId(): string {
    return this.#client.lastEventId;
  }

  /** True while a stream is open and it has received its opening id. */
  get live(): boolean {
    const frames = this.record.frames;
    const conn = this.#client.conn;
    return this.#client.open && frames.some((f) => f.conn === conn && f.kind === 'id');
  }

  /** True after a non-200 answer. */
  get failed(): boolean {
    return this.#client.failed;
  }

  /** Stops it. */
  close(): void {
    this.#client.close();
  }
}
