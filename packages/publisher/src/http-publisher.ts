/**
 * `createHttpPublisher`: the same API as `createPublisher`, through a gateway's publish routes
 * (`POST <url>/publish`) for a service that cannot reach Redis. The closing and in-flight
 * bookkeeping is `lifecycle.ts`'s, retries are `retry.ts`'s, and the breaker is
 * `@ssehub/redis-client`'s; what is here is the request, its answer, and which answers are
 * outages.
 */
import { isBreakerOpen, type Breaker } from '@ssehub/redis-client';
import { publisherBreaker } from './breaker.js';
import { PublisherError, type PublisherErrorCode } from './errors.js';
import { PublisherLifecycle } from './lifecycle.js';
import type {
  BreakerState,
  PublishInput,
  PublishOptions,
  Publisher,
  PublisherBreakerOptions,
} from './types.js';
import { checkRetry, withKeys, withRetry, type RetryOptions, type RetryPolicy } from './retry.js';
import { prepareEvent, type PreparedEvent } from './validate.js';

/** Most events in one `POST /publish` batch (SPEC.md section 7; more is 413 `BATCH_TOO_LARGE`). */
export const MAX_BATCH_EVENTS = 1000;

/** Options of {@link createHttpPublisher}. */
export interface HttpPublisherOptions {
  /**
   * Base URL of a gateway's publish routes: the admin port (default 9090, for example
   * `http://ssehub-gateway:9090`), or the public port with a JWT whose `publish` claim covers the
   * topics. The publisher posts to `<url>/publish`; a path in the URL is kept (for a gateway
   * behind a path prefix).
   */
  readonly url: string | URL;
  /**
   * Sent as `Authorization: Bearer <token>`: the gateway's `ADMIN_TOKEN` on the admin port, or a
   * JWT on the public port.
   * @defaultValue none: no `Authorization` header
   */
  readonly token?: string;
  /**
   * How long one request may take, in milliseconds, from sending it to reading the whole answer,
   * before the publish rejects with `TIMEOUT` (outcome unknown: retry with the same idempotency
   * key).
   * @defaultValue 5000
   */
  readonly timeoutMs?: number;
  /**
   * Circuit breaker around the requests. Only failures that say the gateway or its Redis is down
   * count (503, other 5xx, no connection, `TIMEOUT`); a 4xx answer never opens it.
   * @defaultValue `{ errorThresholdPercentage: 50, resetTimeoutMs: 5000, volumeThreshold: 10 }`
   */
  readonly breaker?: PublisherBreakerOptions;
  /**
   * Called on every change of {@link Publisher.state}, for logs and metrics. An exception
   * thrown here is ignored.
   * @defaultValue none
   */
  readonly onStateChange?: (state: BreakerState) => void;
  /**
   * The `fetch` implementation, for a custom undici dispatcher (proxy, TLS settings, pool size)
   * or instrumentation. It must honour `signal` (the timeout).
   * @defaultValue the global `fetch` (undici, with keep-alive connection reuse)
   */
  readonly fetch?: typeof fetch;
  /**
   * Retries after `BROKER_UNAVAILABLE` or `TIMEOUT` (never after another code, nor while the
   * circuit breaker is open), with exponential backoff and full jitter. With retries on, an event
   * without an idempotency key gets a generated one (a UUID), so a retried publish is stored once.
   * The gateway's `IDEMPOTENCY_TTL_MS` (default 300000) must exceed the retry window;
   * `attempts × maxDelayMs` of 300000 or more is refused with `INVALID_OPTIONS`.
   * @defaultValue `{ attempts: 0, baseDelayMs: 100, maxDelayMs: 2000 }`: no retries
   */
  readonly retry?: RetryOptions;
}

/** The gateway's error body (SPEC.md section 7). */
interface GatewayErrorBody {
  readonly error?: { readonly code?: unknown; readonly message?: unknown };
  readonly ids?: unknown;
}

/** 4xx codes the gateway sends that keep their name as the PublisherError code. */
const GATEWAY_CODES: ReadonlySet<string> = new Set<PublisherErrorCode>([
  'INVALID_TOPIC',
  'INVALID_EVENT_NAME',
  'EVENT_TOO_LARGE',
  'INVALID_DATA',
  'IDEMPOTENCY_CONFLICT',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'INVALID_BODY',
  'BATCH_TOO_LARGE',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
]);

/** What to do after each code, appended to the gateway's own message. */
const ADVICE: Partial<Record<PublisherErrorCode, string>> = {
  UNAUTHORIZED:
    'Pass the token option: the gateway ADMIN_TOKEN on the admin port, or a valid JWT on the public port.',
  FORBIDDEN:
    "The token does not allow this publish: use a token whose ssehub.publish claim covers the topic, or the gateway's admin port.",
  IDEMPOTENCY_CONFLICT:
    'Reuse a key only to retry the very same event; use a new key for a new event.',
  EVENT_TOO_LARGE: 'Send a smaller event, for example an id the client fetches.',
  BODY_TOO_LARGE: "Split the batch: the request is larger than the gateway's MAX_BODY_BYTES.",
};

function invalidOptions(message: string): PublisherError {
  return new PublisherError('INVALID_OPTIONS', message);
}

function publishUrl(url: unknown): string {
  let parsed: URL;
  try {
    parsed = new URL(url instanceof URL ? url.href : String(url));
  } catch (err) {
    throw new PublisherError(
      'INVALID_OPTIONS',
      `url is "${String(url)}", which is not a URL. Pass the gateway's base URL, for example http://ssehub-gateway:9090.`,
      { cause: err },
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw invalidOptions(
      `url must be an http:// or https:// URL of the gateway, not ${parsed.protocol}//; for example http://ssehub-gateway:9090.`,
    );
  }
  if (parsed.search !== '' || parsed.hash !== '') {
    throw invalidOptions(
      'url must be the gateway base URL without a query or fragment, for example http://ssehub-gateway:9090.',
    );
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}/publish`;
}

function checkToken(token: unknown): string | undefined {
  if (token === undefined) return undefined;
  if (typeof token !== 'string' || token === '' || !/^[\x21-\x7e]+$/.test(token)) {
    throw invalidOptions(
      'token must be a non-empty string of printable ASCII characters without spaces (the gateway ADMIN_TOKEN or a JWT), or left out.',
    );
  }
  return token;
}

function isIdList(value: unknown): value is (string | null)[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' || v === null);
}

/** Failures that say the gateway (or its Redis) is down: the breaker counts only these. */
function isOutage(err: unknown): boolean {
  return (
    !(err instanceof PublisherError) ||
    err.code === 'BROKER_UNAVAILABLE' ||
    err.code === 'TIMEOUT' ||
    err.code === 'UNEXPECTED_RESPONSE'
  );
}

function isTimeoutError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
}

/** One request to send: the JSON body, its headers, and how many ids to expect. */
interface Request {
  readonly body: string;
  readonly idempotencyKey: string | undefined;
  readonly count: number;
  readonly single: boolean;
}

class HttpPublisher implements Publisher {
  readonly #url: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #breaker: Breaker<[Request], string[]>;
  readonly #life = new PublisherLifecycle();
  readonly #retry: RetryPolicy;

  constructor(options: HttpPublisherOptions) {
    // JavaScript callers can pass anything; the type says an object.
    const given: unknown = options;
    if (typeof given !== 'object' || given === null) {
      throw invalidOptions('createHttpPublisher takes { url, token?, timeoutMs? }.');
    }
    this.#url = publishUrl(options.url);
    this.#token = checkToken(options.token);
    const timeout = options.timeoutMs ?? 5000;
    if (!Number.isInteger(timeout) || timeout <= 0) {
      throw invalidOptions(`timeoutMs is ${String(timeout)}; pass a positive integer.`);
    }
    this.#timeoutMs = timeout;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#retry = checkRetry(options.retry);
    this.#breaker = publisherBreaker((request: Request) => this.#send(request), {
      name: 'ssehub-http-publisher',
      breaker: options.breaker,
      onStateChange: options.onStateChange,
      // A 4xx is the caller's problem, not an outage.
      isCallerError: (err) => !isOutage(err),
    });
  }

  get state(): BreakerState {
    return this.#breaker.state;
  }

  async publish(topic: string, data: unknown, options: PublishOptions = {}): Promise<string> {
    this.#life.checkOpen('publish()');
    const [input] = withKeys(this.#retry, [{ ...options, topic, data }]);
    const e = prepareEvent(input ?? { topic, data }, 'publish()');
    const body = JSON.stringify(
      e.event === ''
        ? { topic: e.topic, data: e.data }
        : { topic: e.topic, event: e.event, data: e.data },
    );
    const [id] = await this.#attempts('publish()', {
      body,
      idempotencyKey: e.idempotencyKey,
      count: 1,
      single: true,
    });
    if (id === undefined) throw new Error('the gateway returned no id');
    return id;
  }

  async publishMany(events: readonly PublishInput[]): Promise<string[]> {
    this.#life.checkOpen('publishMany()');
    const given: unknown = events;
    if (!Array.isArray(given)) {
      throw invalidOptions(
        'publishMany() takes an array of { topic, data, event?, idempotencyKey? }.',
      );
    }
    if (events.length > MAX_BATCH_EVENTS) {
      throw new PublisherError(
        'BATCH_TOO_LARGE',
        `publishMany() got ${events.length} events; a gateway takes at most ${MAX_BATCH_EVENTS} per request. Split the batch.`,
      );
    }
    // Validate the whole batch before any request.
    const prepared = withKeys(this.#retry, events).map((e, i) =>
      prepareEvent(e, `publishMany() event ${i}`),
    );
    if (prepared.length === 0) return [];
    const body = JSON.stringify({ events: prepared.map(toWire) });
    return this.#attempts('publishMany()', {
      body,
      idempotencyKey: undefined,
      count: prepared.length,
      single: false,
    });
  }

  async close(): Promise<void> {
    return this.#life.close(() => {
      this.#breaker.shutdown();
    });
  }

  /** The request, retried per the `retry` option; a retry after close() rejects with CLOSED. */
  async #attempts(what: string, request: Request): Promise<string[]> {
    let first = true;
    return withRetry(this.#retry, () => {
      if (!first) this.#life.checkOpen(what);
      first = false;
      return this.#life.track(this.#fire(request));
    });
  }

  async #fire(request: Request): Promise<string[]> {
    try {
      return await this.#breaker.fire(request);
    } catch (err) {
      if (isBreakerOpen(err)) {
        throw new PublisherError(
          'BROKER_UNAVAILABLE',
          'The gateway is failing, so the circuit breaker is open and publishes fail fast; nothing was sent. Retry after a few seconds.',
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** One POST; resolves to the ids, or rejects with a PublisherError. */
  async #send(request: Request): Promise<string[]> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
    let status: number;
    let text: string;
    try {
      const response = await this.#fetch(this.#url, {
        method: 'POST',
        headers,
        body: request.body,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = response.status;
      // Read the whole body, even of an error: undici reuses the connection only then.
      text = await response.text();
      // undici hands the body over before it marks the connection idle; a publish sent in the
      // same tick would find it busy and open a second connection. One turn of the event loop
      // lets sequential publishes share one keep-alive connection (test/http-publisher).
      await new Promise(setImmediate);
    } catch (err) {
      if (isTimeoutError(err)) {
        throw new PublisherError(
          'TIMEOUT',
          `The gateway did not answer within ${this.#timeoutMs} ms (timeoutMs), so the outcome is unknown. Retry with the same idempotency key; without one, the retry may store the event twice.`,
          { cause: err },
        );
      }
      throw new PublisherError(
        'BROKER_UNAVAILABLE',
        `Could not reach the gateway at ${this.#url} (${describe(err)}). Check the url option and that the gateway is up, then retry with the same idempotency key.`,
        { cause: err },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (status === 200) {
      const ok = body as { id?: unknown; ids?: unknown } | undefined;
      if (request.single && typeof ok?.id === 'string') return [ok.id];
      if (
        !request.single &&
        isIdList(ok?.ids) &&
        ok.ids.length === request.count &&
        ok.ids.every((id) => id !== null)
      ) {
        return ok.ids;
      }
      throw new PublisherError(
        'UNEXPECTED_RESPONSE',
        `The answer of ${this.#url} (200) is not a gateway's publish answer (${request.single ? '{"id"}' : '{"ids"}'} expected); the outcome is unknown. Check that url is the gateway's base URL.`,
      );
    }
    throw this.#errorOf(status, body as GatewayErrorBody | undefined);
  }

  #errorOf(status: number, body: GatewayErrorBody | undefined): PublisherError {
    const rawCode = body?.error?.code;
    const rawMessage = body?.error?.message;
    const ids = isIdList(body?.ids) ? body.ids : undefined;
    const gatewayMessage =
      typeof rawMessage === 'string' && rawMessage !== '' ? rawMessage : `HTTP ${status}`;
    let code: PublisherErrorCode;
    if (status === 401) code = 'UNAUTHORIZED';
    else if (status === 403) code = 'FORBIDDEN';
    else if (
      status >= 400 &&
      status < 500 &&
      typeof rawCode === 'string' &&
      GATEWAY_CODES.has(rawCode)
    ) {
      code = rawCode as PublisherErrorCode;
    } else if (status === 503) code = 'BROKER_UNAVAILABLE';
    else code = 'UNEXPECTED_RESPONSE';
    let message: string;
    if (code === 'BROKER_UNAVAILABLE') {
      message = `The gateway could not store the event (${gatewayMessage}). Retry shortly with the same idempotency key: nothing was stored, unless the gateway's broker timed out, when the outcome is unknown.`;
    } else if (code === 'UNEXPECTED_RESPONSE') {
      message = `${this.#url} answered ${status}${typeof rawCode === 'string' ? ` ${rawCode}` : ''} (${gatewayMessage}), which is not a publish answer; the outcome is unknown. Check that url is the gateway's base URL (admin port, default 9090), then retry with the same idempotency key.`;
    } else {
      message = `The gateway refused the publish: ${gatewayMessage}${/[.!?]$/.test(gatewayMessage) ? '' : '.'} Nothing was stored.${ADVICE[code] === undefined ? '' : ` ${ADVICE[code]}`}`;
    }
    if (ids !== undefined && ids.some((id) => id !== null)) {
      message +=
        ' Part of the batch was stored: error.ids holds the id of each stored event and null for the others; retry only those.';
      return new PublisherError(code, message, { ids });
    }
    return new PublisherError(code, message);
  }
}

/** One batch event as `POST /publish` takes it. */
function toWire(e: PreparedEvent): Record<string, string> {
  const wire: Record<string, string> = { topic: e.topic, data: e.data };
  if (e.event !== '') wire['event'] = e.event;
  if (e.idempotencyKey !== undefined) wire['idempotencyKey'] = e.idempotencyKey;
  return wire;
}

/**
 * Creates a publisher that goes through a gateway's publish routes (`POST <url>/publish`, SPEC.md
 * section 7) instead of Redis: for a service that cannot reach the deployment's Redis. Same API
 * as `createPublisher`. Requests use the global `fetch` (undici), which keeps connections
 * alive and reuses them. Nothing is sent until the first publish.
 *
 * @example
 * ```ts
 * const publisher = createHttpPublisher({
 *   url: 'http://ssehub-gateway:9090',
 *   token: process.env.SSEHUB_ADMIN_TOKEN,
 * });
 * const id = await publisher.publish('orders/42', { status: 'shipped' }, { event: 'status' });
 * ```
 * @throws {@link PublisherError} `INVALID_OPTIONS` for a bad url, token or timeoutMs.
 */
export function createHttpPublisher(options: HttpPublisherOptions): Publisher {
  return new HttpPublisher(options);
}
