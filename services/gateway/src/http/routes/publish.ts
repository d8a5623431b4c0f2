/**
 * `POST /publish/<topic>` (raw body, `?event=`) and `POST /publish` (JSON, one event or a batch)
 * (SPEC 7). The same handlers serve the admin port (gated by ADMIN_TOKEN) and the public port
 * (gated by the JWT `publish` claim, or PLAYGROUND=1 with auth off); only the access check differs.
 */
import type Koa from 'koa';
import { parseTopic } from '@ssehub/protocol';
import type { Broker, PublishInput } from '../../broker/broker.js';
import { GatewayError, parseClientInput } from '../../errors.js';
import type { Metrics } from '../../observability/metrics.js';
import {
  parseJsonPublish,
  validateEvent,
  validateKey,
  type PublishLimits,
} from '../../publish/publish-request.js';
import { readTextBody } from '../../publish/read-body.js';

/** Decides who may publish; throws 401/403 GatewayErrors. */
export interface PublishAccess {
  /** Runs before the body is read (401 when credentials are missing or wrong). */
  admit(ctx: Koa.Context): Promise<PublishGrant>;
}

/** What an admitted caller may publish to; throws 403 for a topic it may not. */
export interface PublishGrant {
  check(topic: string): void;
}

export interface PublishRouteDeps {
  readonly broker: Broker;
  readonly metrics: Metrics;
  readonly access: PublishAccess;
  readonly limits: PublishLimits & {
    /** Largest request body, in bytes (`MAX_BODY_BYTES`). */
    readonly maxBodyBytes: number;
  };
}

export function publishRoute(deps: PublishRouteDeps): Koa.Middleware {
  return async (ctx, next) => {
    const isJson = ctx.path === '/publish';
    const isRaw = ctx.path.startsWith('/publish/');
    if (!isJson && !isRaw) {
      await next();
      return;
    }
    if (ctx.method !== 'POST') {
      ctx.set('allow', 'POST, OPTIONS');
      if (ctx.method === 'OPTIONS') {
        // The public port's CORS middleware answers preflights first; this is the plain answer.
        ctx.status = 204;
        return;
      }
      throw new GatewayError(
        'METHOD_NOT_ALLOWED',
        `Publish with POST; ${ctx.method} is not allowed here.`,
      );
    }
    const grant = await deps.access.admit(ctx);
    const headerKey = ctx.get('idempotency-key') || undefined;
    let batch: boolean;
    let events: PublishInput[];
    if (isRaw) {
      const topic = decodeTopic(ctx.path.slice('/publish/'.length));
      grant.check(topic);
      const eventName = ctx.query['event'];
      if (Array.isArray(eventName)) {
        throw new GatewayError('INVALID_EVENT_NAME', 'Give ?event= at most once.');
      }
      validateKey(headerKey, 'Idempotency-Key');
      const data = await readTextBody(ctx.req, deps.limits.maxBodyBytes);
      batch = false;
      events = [
        validateEvent(
          {
            topic,
            event: eventName,
            data,
            idempotencyKey: headerKey,
            hasData: true,
          },
          deps.limits,
        ),
      ];
    } else {
      if (!isJsonContentType(ctx.get('content-type'))) {
        throw new GatewayError(
          'UNSUPPORTED_MEDIA_TYPE',
          'POST /publish takes application/json; for a raw body use POST /publish/<topic>.',
        );
      }
      const text = await readTextBody(ctx.req, deps.limits.maxBodyBytes);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (err) {
        throw new GatewayError('INVALID_BODY', 'The body is not valid JSON.', { cause: err });
      }
      ({ batch, events } = parseJsonPublish(body, headerKey, deps.limits));
      for (const e of events) grant.check(e.topic);
    }
    const { ids, stored } = await deps.broker.publish(events);
    deps.metrics.eventsPublished.inc(stored);
    ctx.status = 200;
    ctx.body = batch ? { ids } : { id: ids[0] };
  };
}

function decodeTopic(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new GatewayError('INVALID_TOPIC', 'The topic in the path is not valid percent-encoding.');
  }
  return parseClientInput(() => parseTopic(decoded));
}

/** `application/json`, or any `+json` type; no content type at all is read as JSON too. */
function isJsonContentType(value: string): boolean {
  if (value === '') return true;
  const type = (value.split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}
