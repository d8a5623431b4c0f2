/**
 * `GET /subscribe/<topic>` and `GET /subscribe?topic=<pattern>…` (SPEC 3). Every check runs
 * before the first byte, in the fixed order 503 → 401 → 400 → 403 → 429; then the route hands
 * the raw response to the stream (STYLE.md A7).
 */
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Broker } from '../../broker/broker.js';
import { GatewayError, toGatewayError, type ErrorCode } from '../../errors.js';
import type { Readiness } from '../../lifecycle/readiness.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ConnectionLimits } from '../../sse/connection-limits.js';
import type { SseResponse } from '../../sse/sse-connection.js';
import type { StreamOpener } from '../../sse/stream-opener.js';
import { clientAddress } from '../request/client-address.js';
import {
  parseSubscription,
  requestedPatterns,
  type SubscriptionQuery,
} from '../request/parse-subscription.js';
import {
  NOT_READY_RETRY_MS,
  OVER_LIMIT_RETRY_MS,
  sseHeaders,
  wantsEventStream,
  writeNotReady,
} from '../../sse/sse-response.js';

export interface SubscribeRouteDeps {
  readonly readiness: Readiness;
  readonly broker: Broker;
  readonly auth: Authenticator;
  readonly limits: ConnectionLimits;
  readonly opener: StreamOpener;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Proxy hops trusted in X-Forwarded-For (`TRUST_PROXY`). */
  readonly trustProxy: number;
}

export function subscribeRoute(deps: SubscribeRouteDeps): Koa.Middleware {
  return async (ctx, next) => {
    const pathTopic = subscribePathTopic(ctx.path);
    if (pathTopic === undefined) {
      await next();
      return;
    }
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('allow', 'GET, OPTIONS');
      throw new GatewayError('METHOD_NOT_ALLOWED', 'Subscribe with GET.');
    }
    // Watch for the client leaving from the start: the checks below await (token verification,
    // the broker's confirmation, the first history reads), and a 'close' missed before the
    // listener existed would start a stream on a dead socket that nothing ever closes.
    let closed = false;
    const onClose = (): void => {
      closed = true;
    };
    ctx.res.once('close', onClose);
    try {
      await handle(ctx, pathTopic, () => closed || isGone(ctx.res));
    } finally {
      ctx.res.off('close', onClose);
    }
  };

  async function handle(
    ctx: Koa.Context,
    pathTopic: string | null,
    clientGone: () => boolean,
  ): Promise<void> {
    const isEventSource = wantsEventStream(ctx.get('accept') || undefined);
    const reject = (code: ErrorCode, message: string, cause?: unknown): void => {
      deps.metrics.connectionsRejected.inc({ code });
      const transient = code === 'NOT_READY' || code === 'TOO_MANY_CONNECTIONS';
      if (isEventSource && transient) {
        // A non-200 ends an EventSource for good: send the not-ready answer instead (SPEC 3).
        ctx.respond = false;
        writeNotReady(
          ctx.res,
          stringHeaders(ctx.response.headers),
          code === 'NOT_READY' ? NOT_READY_RETRY_MS : OVER_LIMIT_RETRY_MS,
        );
        return;
      }
      throw new GatewayError(code, message, { cause });
    };

    // 503: starting, draining, or this replica's broker connection down.
    if (!deps.readiness.isReady || !deps.broker.isUp()) {
      reject('NOT_READY', 'This replica is not accepting new streams right now; retry shortly.');
      return;
    }

    const query: SubscriptionQuery = {
      pathTopic: pathTopic === null ? undefined : pathTopic,
      topics: queryValues(ctx.query['topic']),
      lastEventIdHeader: ctx.get('last-event-id') || undefined,
      lastEventIdQuery: queryValues(ctx.query['lastEventId'])[0],
      envelope: queryValues(ctx.query['envelope'])[0],
    };

    // 401: a token is needed when auth is on and not every pattern is public.
    const principal = await deps.auth.authenticate({
      req: ctx.req,
      accessToken: queryValues(ctx.query['access_token'])[0],
    });
    if (principal === undefined && !deps.auth.isPublic(requestedPatterns(query))) {
      reject('UNAUTHORIZED', 'A valid token is needed for these topics.');
      return;
    }

    // 400
    const parsed = countRejection(deps.metrics, () => parseSubscription(query));

    // 403
    if (!deps.auth.maySubscribe(principal, parsed.patterns)) {
      reject('FORBIDDEN', 'The token does not allow subscribing to every requested pattern.');
      return;
    }

    // HEAD gets the head a GET would get, and holds no stream or slot.
    if (ctx.method === 'HEAD') {
      ctx.respond = false;
      ctx.res.writeHead(
        200,
        sseHeaders(ctx.req.httpVersionMajor >= 2, stringHeaders(ctx.response.headers)),
      );
      ctx.res.end();
      return;
    }

    // 429
    const ip = clientAddress(ctx.req, deps.trustProxy);
    const slot = deps.limits.tryAcquire(ip, principal?.sub);
    if (slot === undefined) {
      reject('TOO_MANY_CONNECTIONS', 'Too many open streams; close some or retry later.');
      return;
    }

    if (clientGone()) {
      // Left during the checks: nothing was acquired beyond the slot.
      slot.release();
      return;
    }
    let prepared;
    try {
      prepared = await deps.opener.prepare({
        patterns: parsed.patterns,
        start: parsed.start,
        envelope: parsed.envelope,
        ip,
        subject: principal?.sub,
        slot,
      });
    } catch (err) {
      slot.release();
      const e = toGatewayError(err);
      reject(e.code, e.message, err);
      return;
    }
    if (clientGone()) {
      prepared.cancel();
      return;
    }
    ctx.respond = false;
    const socket = ctx.req.socket;
    socket.setNoDelay(true);
    socket.setTimeout(0);
    prepared.start(
      ctx.res,
      sseHeaders(ctx.req.httpVersionMajor >= 2, stringHeaders(ctx.response.headers)),
    );
  }
}

/** True once the client's side of the response is gone (socket closed, or HTTP/2 stream closed). */
function isGone(res: SseResponse): boolean {
  return 'stream' in res ? res.stream.destroyed || res.stream.closed : res.destroyed;
}

/**
 * `'/subscribe'` → null (query form); `'/subscribe/<x>'` → `'<x>'` (still percent-encoded);
 * anything else → undefined.
 */
function subscribePathTopic(path: string): string | null | undefined {
  if (path === '/subscribe') return null;
  if (path.startsWith('/subscribe/')) return path.slice('/subscribe/'.length);
  return undefined;
}

function queryValues(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function countRejection<T>(metrics: Metrics, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    metrics.connectionsRejected.inc({ code: toGatewayError(err).code });
    throw err;
  }
}

/** Koa's header bag as plain strings (CORS headers set by the middleware, for the raw head). */
function stringHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') out[name] = value;
    else if (typeof value === 'number') out[name] = String(value);
    else if (Array.isArray(value)) out[name] = value.map(String).join(', ');
  }
  return out;
}
