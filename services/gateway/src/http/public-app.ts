/**
 * The public port's Koa app (SPEC 3, 6, 7): CORS, subscribe, and publish for tokens that allow it.
 * No compression middleware anywhere near the stream routes ("what to avoid" 4).
 */
import Koa from 'koa';
import type { Logger } from 'pino';
import { cors } from './middleware/cors.js';
import { errorHandler, notFound } from './middleware/error-handler.js';

export function createPublicApp(
  corsOrigins: '*' | readonly string[],
  routes: readonly Koa.Middleware[],
  log: Logger,
): Koa {
  const app = new Koa();
  app.silent = true; // errors are logged by the error funnel, not by Koa's default handler
  app.use(errorHandler(log));
  app.use(cors(corsOrigins));
  for (const route of routes) app.use(route);
  app.use(notFound);
  return app;
}
