/**
 * CORS for the public port (SPEC 6). `*` allows any origin without credentials; a list allows
 * those origins with credentials (cookies carry `ssehub_token`). Preflights allow the methods
 * and headers an EventSource or a publishing page needs.
 */
import type Koa from 'koa';

export const CORS_ALLOW_METHODS = 'GET, POST, OPTIONS';
export const CORS_ALLOW_HEADERS =
  'Last-Event-ID, Authorization, Cache-Control, Content-Type, Idempotency-Key';
/** How long a browser may cache a preflight, in seconds. */
export const CORS_MAX_AGE_S = 600;

/** The CORS response headers for a request's Origin, or none when it is not allowed. */
export function corsHeaders(
  allowed: '*' | readonly string[],
  origin: string | undefined,
): Record<string, string> {
  if (origin === undefined || origin === '') return {};
  if (allowed === '*') return { 'access-control-allow-origin': '*', vary: 'Origin' };
  if (!allowed.includes(origin)) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    vary: 'Origin',
  };
}

export function cors(allowed: '*' | readonly string[]): Koa.Middleware {
  return async (ctx, next) => {
    const headers = corsHeaders(allowed, ctx.get('origin') || undefined);
    ctx.set(headers);
    const isPreflight = ctx.method === 'OPTIONS';
    if (!isPreflight) {
      await next();
      return;
    }
    ctx.status = 204;
    if (headers['access-control-allow-origin'] !== undefined) {
      ctx.set({
        'access-control-allow-methods': CORS_ALLOW_METHODS,
        'access-control-allow-headers': CORS_ALLOW_HEADERS,
        'access-control-max-age': String(CORS_MAX_AGE_S),
      });
    }
  };
}
