/**
 * The admin port's Koa app (SPEC 7, 10): publishing and operations, for the cluster network only.
 */
import Koa from 'koa';
import type Router from '@koa/router';
import type { Logger } from 'pino';
import { errorHandler, notFound } from './middleware/error-handler.js';

export function createAdminApp(
  router: Router,
  routes: readonly Koa.Middleware[],
  log: Logger,
): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(errorHandler(log));
  app.use(router.routes());
  app.use(router.allowedMethods());
  for (const route of routes) app.use(route);
  app.use(notFound);
  return app;
}
