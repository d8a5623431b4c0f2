/**
 * The single error funnel (STYLE.md A11): every thrown error becomes the SPEC JSON body with its
 * status. Once a stream has started, an error can no longer become a status: it is logged and
 * the stream's own close logic runs.
 */
import type Koa from 'koa';
import type { Logger } from 'pino';
import { GatewayError, errorBody, toGatewayError } from '../../errors.js';

export function errorHandler(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (cause) {
      const err = toGatewayError(cause);
      if (ctx.respond === false || ctx.headerSent) {
        log.warn({ err }, 'error after the response started');
        return;
      }
      if (!err.expose) log.error({ err: cause }, 'unhandled error');
      ctx.status = err.status;
      ctx.body = errorBody(err);
    }
  };
}

/** The last middleware of the gateway's own apps: anything unrouted is a JSON 404. */
export const notFound: Koa.Middleware = (ctx) => {
  throw new GatewayError('NOT_FOUND', `No route for ${ctx.method} ${ctx.path}.`);
};
