/**
 * Heads and bodies that are written to the raw response rather than through Koa: the SSE head
 * and the not-ready answer (SPEC 3).
 */
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import { encodeFrame } from '@ssehub/protocol';

/** Block compression and proxy buffering; better-sse and nginx's documented header (SPEC 3). */
const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

/**
 * The head of an SSE response. On HTTP/1.1 it says `connection: close`: the socket serves this
 * one stream, so a reconnect opens a new connection through the load balancer. HTTP/2 forbids
 * connection-specific headers (a server close sends GOAWAY instead).
 */
export function sseHeaders(
  isHttp2: boolean,
  extra: Readonly<Record<string, string>>,
): Record<string, string> {
  const headers: Record<string, string> = { ...extra, ...SSE_HEADERS };
  if (!isHttp2) headers['connection'] = 'close';
  return headers;
}

/** True when the request comes from an EventSource: its `Accept` contains `text/event-stream`. */
export function wantsEventStream(accept: string | undefined): boolean {
  return accept !== undefined && accept.toLowerCase().includes('text/event-stream');
}

/** Random integer in [min, max]. */
function jitter(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** `retry:` ranges of the not-ready answer (SPEC 3), in ms. */
export const NOT_READY_RETRY_MS = { min: 1000, max: 5000 } as const;
export const OVER_LIMIT_RETRY_MS = { min: 5000, max: 10_000 } as const;

/**
 * The not-ready answer for an EventSource: 200 with the SSE head and `connection: close`, a
 * `retry:` with jitter, a `: not ready` comment, and the end. A non-200 would end the
 * EventSource for good; this makes the browser reconnect by itself on a new TCP connection,
 * usually through another replica.
 */
export function writeNotReady(
  res: ServerResponse | Http2ServerResponse,
  extraHeaders: Readonly<Record<string, string>>,
  retryRange: { readonly min: number; readonly max: number },
): void {
  const isHttp2 = 'stream' in res;
  const headers = sseHeaders(isHttp2, extraHeaders);
  res.writeHead(200, headers);
  res.end(
    `retry: ${jitter(retryRange.min, retryRange.max)}\n` + encodeFrame({ comment: 'not ready' }),
  );
  if (isHttp2) return;
  // Make sure this socket is not reused: the reconnect should go through the balancer again.
  res.shouldKeepAlive = false;
}
