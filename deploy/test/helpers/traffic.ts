/**
 * Traffic for the stack's end-to-end tests: EventSource clients through the load balancer (the
 * `eventsource` package: a browser's reconnect rules, with `Last-Event-ID` on every reconnect),
 * and a publisher that publishes numbered events one at a time over the gateways' admin ports,
 * remembering which were accepted (answered 200).
 */
import { EventSource } from 'eventsource';

/** One EventSource client and what it got. */
export class Subscriber {
  /** The `data` of every event, in arrival order. */
  readonly received: string[] = [];
  /** How many times the stream opened: 1, plus one per reconnect. */
  opens = 0;
  readonly #source: EventSource;

  constructor(url: string) {
    this.#source = new EventSource(url);
    this.#source.onopen = () => {
      this.opens += 1;
    };
    this.#source.onmessage = (event) => {
      // The eventsource typings leave `data` untyped; a message event's data is always a string.
      const data: unknown = event.data;
      this.received.push(String(data));
    };
  }

  close(): void {
    this.#source.close();
  }
}

/** Polls `condition` every 50 ms; throws with `what` after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Publishes `0`, `1`, `2`, … to `topic`, one at a time (so acceptance order is history order),
 * cycling over the admin URLs that `targets()` returns at each step, until stopped.
 */
export class SequencePublisher {
  /** The data of every event answered 200, in order. */
  readonly accepted: string[] = [];
  /** Publishes that were not accepted (a gateway down or not ready): status or error text. */
  readonly refused: string[] = [];
  #stopped = false;
  readonly #done: Promise<void>;

  constructor(
    private readonly targets: () => readonly string[],
    private readonly topic: string,
    intervalMs = 20,
  ) {
    this.#done = this.#run(intervalMs);
  }

  async #run(intervalMs: number): Promise<void> {
    for (let seq = 0; !this.#stopped; seq++) {
      const urls = this.targets();
      const url = urls[seq % urls.length];
      if (url === undefined) throw new Error('no gateway to publish to');
      const data = String(seq);
      try {
        const res = await fetch(`${url}/publish/${this.topic}`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: data,
        });
        const text = await res.text();
        if (res.status === 200) this.accepted.push(data);
        else this.refused.push(`${res.status} ${text}`);
      } catch (err) {
        this.refused.push(String(err));
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Stops after the publish in flight; resolves once it has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

/** `replica.connections` of a gateway's `/admin/api/stats`. */
export async function connectionsOf(adminUrl: string): Promise<number> {
  const res = await fetch(`${adminUrl}/admin/api/stats`);
  const body = (await res.json()) as { replica: { connections: number } };
  return body.replica.connections;
}
