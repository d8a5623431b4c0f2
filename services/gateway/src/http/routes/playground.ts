/**
 * `GET /` on the public port serves the playground page when `PLAYGROUND=1` (the default unless
 * `NODE_ENV=production`, SPEC 10). Off, `/` is a 404 like any unknown route.
 */
import type Koa from 'koa';
import { PLAYGROUND_HTML } from '../pages/playground-page.js';

export function playgroundRoute(enabled: boolean): Koa.Middleware {
  return async (ctx, next) => {
    if (!enabled || ctx.path !== '/' || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      await next();
      return;
    }
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('cache-control', 'no-cache');
    ctx.body = PLAYGROUND_HTML;
  };
}
