/**
 * Relayed messages a replica skipped, by reason (SPEC 9, 10: a message that does not parse is
 * skipped and counted in `ssehub_relay_messages_skipped_total{reason}`; it never stops a
 * replica). Also the guard around dispatching one relayed event: whatever it throws is caught
 * and counted as `dispatch`, so one bad event cannot take the process (and every other stream)
 * down. Logs at most one line per interval, with the count since the last line: a foreign
 * writer can publish thousands of messages a second, and a log line each would be the outage.
 */
import {
  RELAY_SKIP_REASONS,
  parseRelayedMessage,
  type RelaySkipReason,
  type RelayedMessage,
} from '@ssehub/protocol';
import type { Logger } from 'pino';

/** Why a relayed message was skipped: it did not parse, or dispatching it threw. */
export type SkipReason = RelaySkipReason | 'dispatch';

/** Every {@link SkipReason}, for metrics that expose each one (at 0 until it happens). */
export const SKIP_REASONS: readonly SkipReason[] = Object.freeze([
  ...RELAY_SKIP_REASONS,
  'dispatch',
]);

/** Where a skipped message came from, for the log line. */
export interface SkipDetail {
  /** The Redis channel it arrived on. */
  readonly channel?: string;
  /** What dispatching it threw. */
  readonly err?: unknown;
}

/** Counts skipped relayed messages and logs them, rate limited. */
export class RelaySkips {
  readonly #counts = new Map<SkipReason, number>();
  #lastLogAt = Number.NEGATIVE_INFINITY;
  /** Skips since the last log line (the first of them was logged, or is about to be). */
  #sinceLog = 0;

  /**
   * @param log - Where the rate-limited warning goes.
   * @param logIntervalMs - Least time between two log lines, in ms. @defaultValue 5000
   * @param now - Clock, in ms; for tests. @defaultValue `Date.now`
   */
  constructor(
    private readonly log: Logger,
    private readonly logIntervalMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one skipped message. */
  count(reason: SkipReason, detail: SkipDetail = {}): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
    this.#sinceLog += 1;
    const at = this.now();
    if (at - this.#lastLogAt < this.logIntervalMs) return;
    this.#lastLogAt = at;
    const skipped = this.#sinceLog;
    this.#sinceLog = 0;
    this.log.warn(
      { reason, channel: detail.channel, err: detail.err, skipped },
      reason === 'dispatch'
        ? 'dispatching a relayed event failed; skipped it (counted in ssehub_relay_messages_skipped_total)'
        : 'skipped a message on an ssehub channel that ssehub did not write (counted in ssehub_relay_messages_skipped_total)',
    );
  }

  /**
   * Parses a message received on `channel`; one that does not parse is counted under its
   * reason and comes back as undefined (skip it).
   */
  parse(channel: string, raw: string): RelayedMessage | undefined {
    const parsed = parseRelayedMessage(raw);
    if (parsed.ok) return parsed.message;
    this.count(parsed.reason, { channel });
    return undefined;
  }

  /** Runs `dispatch`; anything it throws is counted as `dispatch` and logged, never rethrown. */
  guard(dispatch: () => void): void {
    try {
      dispatch();
    } catch (err) {
      this.count('dispatch', { err });
    }
  }

  /** Skipped messages since start, by reason (reasons never seen are left out). */
  counts(): Readonly<Partial<Record<SkipReason, number>>> {
    return Object.fromEntries(this.#counts);
  }
}
