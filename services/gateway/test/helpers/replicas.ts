/**
 * Several gateway processes on one Redis, for the multi-replica end-to-end tests (SPEC 9): start
 * them together, publish over their admin ports, open streams the way a browser does (retrying
 * the not-ready answer), close every stream a test opened, and ask Redis with `redis-cli`.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { GatewayProcess } from './gateway-process.js';
import { errorCode, request } from './http-client.js';
import { SseStream, type OpenOptions } from './sse-client.js';
import { NOT_READY_BODY } from './subscribe-http.js';
import { sleep } from './timing.js';

const run = promisify(execFile);

/** A REDIS_PREFIX no other test uses (1 to 64 characters from `A-Za-z0-9_.-`). */
export function uniquePrefix(): string {
  return `e2e${randomUUID().replaceAll('-', '')}`;
}

/**
 * Starts `count` gateways at once on `redisUrl` with `REDIS_PREFIX=prefix` and `env`; if one
 * fails to become ready, stops the others and rethrows.
 */
export async function startReplicas(
  count: number,
  redisUrl: string,
  prefix: string,
  env: Readonly<Record<string, string>> = {},
): Promise<GatewayProcess[]> {
  const settled = await Promise.allSettled(
    Array.from({ length: count }, () =>
      GatewayProcess.start({
        env: { REDIS_URL: redisUrl, REDIS_PREFIX: prefix, LOG_LEVEL: 'warn', ...env },
      }),
    ),
  );
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    await stopReplicas(started);
    throw failed.reason;
  }
  return started;
}

export async function stopReplicas(procs: readonly GatewayProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p[Symbol.asyncDispose]()));
}

/** True while the process has not exited. */
export function isAlive(proc: GatewayProcess): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

export interface PublishAnswer {
  readonly status: number;
  /** The id of a 200 answer. */
  readonly id: string | undefined;
  /** The `error.code` of an error answer. */
  readonly code: string | undefined;
  readonly text: string;
}

export interface PublishOptions {
  readonly event?: string;
  readonly idempotencyKey?: string;
}

/** `POST /publish/<topic>` on an admin port with `data` as the raw body. */
export async function publish(
  adminUrl: string,
  topic: string,
  data: string,
  options: PublishOptions = {},
): Promise<PublishAnswer> {
  const query = options.event === undefined ? '' : `?event=${encodeURIComponent(options.event)}`;
  const headers: Record<string, string> = { 'content-type': 'text/plain' };
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  const res = await request(`${adminUrl}/publish/${topic}${query}`, {
    method: 'POST',
    headers,
    body: data,
  });
  const id = (res.body as { id?: unknown } | undefined)?.id;
  return {
    status: res.status,
    id: typeof id === 'string' ? id : undefined,
    code: errorCode(res),
    text: res.text,
  };
}

/** Publishes and returns the id; throws unless the answer is 200. */
export async function publishOk(
  adminUrl: string,
  topic: string,
  data: string,
  options: PublishOptions = {},
): Promise<string> {
  const answer = await publish(adminUrl, topic, data, options);
  if (answer.status !== 200 || answer.id === undefined) {
    throw new Error(`publish ${topic} answered ${answer.status}: ${answer.text}`);
  }
  return answer.id;
}

export interface AcceptedPublish {
  readonly id: string;
  /** The non-200 answers before the 200 (each must be 503 BROKER_UNAVAILABLE to be retried). */
  readonly refusals: readonly PublishAnswer[];
}

export interface RetryOptions {
  /** Gives up after this long. @defaultValue 20000 */
  readonly timeoutMs?: number;
  /** Called at each 503 BROKER_UNAVAILABLE, as it happens. */
  readonly onRefusal?: (answer: PublishAnswer) => void;
}

/**
 * Publishes with an idempotency key (so a retry after an unknown outcome cannot store the event
 * twice, SPEC 7), retrying 503 BROKER_UNAVAILABLE until a 200; throws on any other answer or
 * after `timeoutMs`.
 */
export async function publishUntilAccepted(
  adminUrl: string,
  topic: string,
  data: string,
  idempotencyKey: string,
  { timeoutMs = 20_000, onRefusal }: RetryOptions = {},
): Promise<AcceptedPublish> {
  const refusals: PublishAnswer[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await publish(adminUrl, topic, data, { idempotencyKey });
    if (answer.status === 200 && answer.id !== undefined) return { id: answer.id, refusals };
    if (answer.status !== 503 || answer.code !== 'BROKER_UNAVAILABLE') {
      throw new Error(`publish ${topic} answered ${answer.status}: ${answer.text}`);
    }
    refusals.push(answer);
    onRefusal?.(answer);
    if (Date.now() > deadline) {
      throw new Error(`publish ${topic} was still refused after ${timeoutMs} ms: ${answer.text}`);
    }
    await sleep(50);
  }
}

/**
 * `redis-cli -u <url> <args…>`: the reply's non-empty lines (off a TTY redis-cli prints one
 * element per line, and a blank line for an empty array).
 */
export async function redisCli(url: string, ...args: string[]): Promise<string[]> {
  const { stdout } = await run('redis-cli', ['-u', url, ...args]);
  return stdout.split('\n').filter((line) => line !== '');
}

/**
 * The streams a test opened, so an `afterEach` closes every one (a stream left open would keep
 * its Redis channels subscribed and mislead a later test).
 */
export class StreamPool {
  readonly #open = new Set<SseStream>();

  /** Opens a stream and waits for `: ok`; fails if the answer is anything else. */
  async subscribe(url: string, options: OpenOptions = {}): Promise<SseStream> {
    const stream = await this.#track(url, options);
    if (stream.status !== 200)
      throw new Error(`subscribe answered ${stream.status}: ${stream.raw}`);
    await stream.opened();
    return stream;
  }

  /**
   * Opens a stream like a browser's EventSource does: on the not-ready answer (SPEC 3) it tries
   * again after a short pause, until `: ok` arrives or `timeoutMs` passes.
   */
  async subscribeWhenReady(
    url: string,
    options: OpenOptions = {},
    timeoutMs = 15_000,
  ): Promise<SseStream> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stream = await this.#track(url, options);
      if (stream.status !== 200) {
        throw new Error(`subscribe answered ${stream.status}: ${stream.raw}`);
      }
      await stream.waitFor(
        () => stream.raw.includes('\n\n') || stream.ended,
        5000,
        'the first block',
      );
      if (stream.raw.startsWith(': ok\n')) return stream;
      await stream.waitForEnd();
      stream.close();
      this.#open.delete(stream);
      if (!NOT_READY_BODY.test(stream.raw)) {
        throw new Error(`neither a stream nor the not-ready answer: ${JSON.stringify(stream.raw)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`still not ready after ${timeoutMs} ms: ${url}`);
      }
      await sleep(100);
    }
  }

  closeAll(): void {
    for (const stream of this.#open) stream.close();
    this.#open.clear();
  }

  async #track(url: string, options: OpenOptions): Promise<SseStream> {
    const stream = await SseStream.open(url, options);
    this.#open.add(stream);
    return stream;
  }
}
