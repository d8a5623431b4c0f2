/**
 * Helpers for the subscribe-route suites (subscribe, cors-limits): the not-ready answer an
 * EventSource gets (SPEC 3), and a Node request handler (a gateway's `callback()`, a host Koa
 * app's) served on a loopback port. Raw requests are in http-client.ts.
 */
import http from 'node:http';
import { expect } from 'vitest';
import type { RawResponse } from './http-client.js';

/** The `Accept` header of an EventSource. */
export const EVENT_STREAM = { accept: 'text/event-stream' } as const;

/** The not-ready answer's whole body (SPEC 3). */
export const NOT_READY_BODY = /^retry: (\d+)\n: not ready\n\n$/;

/** Asserts the not-ready answer (head and whole body) and returns its retry value. */
export function expectNotReadyAnswer(res: RawResponse): number {
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-cache, no-transform');
  expect(res.headers['x-accel-buffering']).toBe('no');
  expect(res.headers['connection']).toBe('close');
  const m = NOT_READY_BODY.exec(res.body);
  expect(m, `not-ready body: ${JSON.stringify(res.body)}`).not.toBeNull();
  return Number(m?.[1]);
}

export interface Served {
  readonly url: string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Serves a Node request handler (a gateway's `callback()`, a host Koa app's) on a loopback port. */
export async function serve(handler: http.RequestListener): Promise<Served> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    server.closeAllConnections();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  };
  return { url: `http://127.0.0.1:${address.port}`, close, [Symbol.asyncDispose]: close };
}
