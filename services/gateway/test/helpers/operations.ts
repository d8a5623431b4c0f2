/**
 * Helpers for the operations suites (SPEC 10): reading Prometheus text, polling, and an
 * injectable authenticator that takes the subject from a test header and remembers each
 * subscribe request's server-side socket (so a test can see how many bytes the gateway holds
 * for a client that does not read).
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Authenticator, Principal } from '../../src/index.js';

/** The header {@link HeaderAuthenticator} reads the subject from. */
export const TEST_SUB_HEADER = 'x-test-sub';

/**
 * Authentication for tests: a request with `x-test-sub: alice` is alice, one without is
 * anonymous; everything is public and allowed. Also records the server side of every
 * subscribe request by its path and query (`/subscribe/a`).
 */
export class HeaderAuthenticator implements Authenticator {
  readonly isEnabled = true;
  /** The server-side request of each subscribe request, by URL (the latest wins). */
  readonly requests = new Map<string, IncomingMessage>();

  authenticate({ req }: { req: IncomingMessage }): Promise<Principal | undefined> {
    if (req.url !== undefined) this.requests.set(req.url, req);
    const sub = req.headers[TEST_SUB_HEADER];
    if (typeof sub !== 'string' || sub === '') return Promise.resolve(undefined);
    return Promise.resolve({ sub, subscribe: undefined, publish: undefined });
  }

  isPublic(): boolean {
    return true;
  }

  maySubscribe(): boolean {
    return true;
  }

  mayPublish(): boolean {
    return false;
  }

  /** The server-side socket of the subscribe request to `url` (path and query). */
  socketOf(url: string): Socket {
    const req = this.requests.get(url);
    if (req === undefined) throw new Error(`no subscribe request to ${url} was seen`);
    return req.socket;
  }
}

/** One sample of a Prometheus text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus text format (the subset prom-client writes). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const [, name = '', labelText = '', valueText = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', value = ''] of labelText.matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    )) {
      labels[key] = value;
    }
    samples.push({ name, labels, value: Number(valueText) });
  }
  return samples;
}

/** The `# TYPE` of each metric family. */
export function metricTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const [, name = '', type = ''] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm))
    types.set(name, type);
  return types;
}

export interface Scrape {
  readonly text: string;
  readonly contentType: string | null;
  /** Sum of the samples of `name` whose labels include `labels` (0 when there is none). */
  value(name: string, labels?: Readonly<Record<string, string>>): number;
}

/** GET /metrics on the admin port. */
export async function scrape(adminUrl: string): Promise<Scrape> {
  const res = await fetch(`${adminUrl}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${text}`);
  const samples = parseMetrics(text);
  return {
    text,
    contentType: res.headers.get('content-type'),
    value(name, labels = {}) {
      return samples
        .filter(
          (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
        )
        .reduce((sum, s) => sum + s.value, 0);
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `probe` until `predicate` holds for its result and returns that result; a hang guard
 * (not a speed assertion) rejects after `timeoutMs` with the last value seen.
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  predicate: (value: T) => boolean,
  { timeoutMs = 10_000, intervalMs = 20, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (predicate(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(value)}`,
      );
    }
    await sleep(intervalMs);
  }
}
