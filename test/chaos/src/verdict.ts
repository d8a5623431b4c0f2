/**
 * What the checker reports ({@link check} in `checker.ts`): per subscriber and in total, each
 * kind of violation of the delivery promise, with enough detail to find it in `history.jsonl`.
 */
/** An expected event that never arrived and no reset excused. */
export interface LostEvent {
  readonly subscriber: string;
  readonly key: string;
  readonly topic: string;
  readonly id: string;
  readonly acceptedAt: number | undefined;
  /** True when the subscriber later moved past it on its shard (a silent gap, not a stall). */
  readonly skipped: boolean;
}

/** An event delivered more than once to one subscriber. */
export interface RepeatedEvent {
  readonly subscriber: string;
  readonly key: string;
  readonly times: number;
  /** Times (ms since start) of each delivery. */
  readonly at: readonly number[];
}

/** An event whose per-shard position did not increase over the previous delivery. */
export interface OutOfOrderEvent {
  readonly subscriber: string;
  readonly key: string;
  readonly id: string;
  readonly previousId: string;
  readonly at: number;
}

/** A delivery of something never published, or not matching the subscriber, or garbled. */
export interface PhantomEvent {
  readonly subscriber: string;
  readonly why: 'never-published' | 'rejected-publish' | 'not-matching' | 'garbled' | 'wrong-id';
  readonly detail: string;
  readonly at: number;
}

/** A non-200 answer: the subscriber's EventSource gave up for good. */
export interface FatalAnswer {
  readonly subscriber: string;
  readonly status: number;
  readonly body: string;
  readonly at: number;
}

/** Counts and details for one subscriber. */
export interface SubscriberVerdict {
  readonly name: string;
  readonly patterns: readonly string[];
  readonly connections: number;
  readonly expected: number;
  readonly delivered: number;
  readonly excused: number;
  readonly resets: number;
  readonly lost: readonly LostEvent[];
  /** Runs of lost events the subscriber moved past without a reset. */
  readonly gaps: number;
  readonly repeated: readonly RepeatedEvent[];
  readonly outOfOrder: readonly OutOfOrderEvent[];
  readonly phantom: readonly PhantomEvent[];
  readonly fatal: readonly FatalAnswer[];
  /** True when it never got a starting position (it checked nothing). */
  readonly neverStarted: boolean;
}

/** Totals over every subscriber, and the per-subscriber details. */
export interface Verdict {
  readonly ok: boolean;
  readonly accepted: number;
  readonly unknown: number;
  readonly rejected: number;
  /** Accepted events Redis no longer held at the end (a failover to a replica that was behind). */
  readonly notHeld: number;
  /** Keys answered with two different ids (a broken idempotency key: stored twice). */
  readonly storedTwice: readonly string[];
  /** Gateway processes that exited on their own ("nothing crashes", SPEC.md section 9). */
  readonly crashes: number;
  readonly totals: {
    readonly expected: number;
    readonly delivered: number;
    readonly excused: number;
    readonly resets: number;
    readonly lost: number;
    readonly gaps: number;
    readonly repeated: number;
    readonly outOfOrder: number;
    readonly phantom: number;
    readonly fatal: number;
  };
  readonly subscribers: readonly SubscriberVerdict[];
}
