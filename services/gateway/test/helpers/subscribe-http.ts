/**
 * Helpers for the subscribe-route suites (subscribe, cors-limits): raw HTTP requests whose path
 * is sent byte for byte (fetch and `http.get(url)` normalise `..`, `%2e` and friends away),
 * Prometheus scraping, polling, and the standalone `dist/main.js` process for tests that need the
 * real server settings (keep-alive timeout).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

export interface RawResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface RawRequestOptions {
  /** @defaultValue 'GET' */
  readonly method?: string;
  /** Sent as given; no `Accept` is added unless listed. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Rejects when the response has not ended by then (a stream that should have been refused). @defaultValue 5000 */
  readonly timeoutMs?: number;
}

/**
 * Sends one request with `path` exactly as given and reads the whole response. Only for answers
 * that end (errors, the not-ready answer, preflights): a live stream would time out.
 */
export function rawRequest(
  baseUrl: string,
  path: string,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(
        new Error(
          `${options.method ?? 'GET'} ${path} did not end within ${options.timeoutMs ?? 5000} ms`,
        ),
      );
    }, options.timeoutMs ?? 5000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/**
 * Sends one request (path and headers exactly as given, so no `Accept` unless listed), reads
 * until the first blank line of the body (or its end), then drops the connection. For streams
 * whose opening is all a test needs.
 */
export function readOpening(
  baseUrl: string,
  path: string,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: hostname,
        port,
        path,
        method: options.method ?? 'GET',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        const done = (): void => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.includes('\n\n')) done();
        });
        res.on('end', done);
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${path} sent no complete block within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** The `{"error":{"code","message"}}` body of an error answer, checked for shape. */
export function errorOf(res: RawResponse): { code: string; message: string } {
  const parsed = JSON.parse(res.body) as unknown;
  if (typeof parsed !== 'object' || parsed === null || !('error' in parsed)) {
    throw new Error(`not an error body: ${res.body}`);
  }
  const error = parsed.error as { code?: unknown; message?: unknown };
  if (typeof error.code !== 'string' || typeof error.message !== 'string') {
    throw new Error(`error body without string code and message: ${res.body}`);
  }
  return { code: error.code, message: error.message };
}

/**
 * One sample of the admin port's `/metrics`, e.g. `metricValue(adminUrl, 'ssehub_connections')`
 * or with labels `{ code: 'INVALID_TOPIC' }`; undefined when the series is absent.
 */
export async function metricValue(
  adminUrl: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number | undefined> {
  const res = await fetch(`${adminUrl}/metrics`);
  const text = await res.text();
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  const series = wanted === '' ? name : `${name}{${wanted}}`;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** Polls `probe` until it returns `expected` (deep equality by JSON), or rejects with the last value. */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  expected: T,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (JSON.stringify(last) !== JSON.stringify(expected)) {
    if (Date.now() > deadline) {
      throw new Error(
        `expected ${JSON.stringify(expected)}, still ${JSON.stringify(last)} after ${timeoutMs} ms`,
      );
    }
    await sleep(20);
    last = await probe();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface StandaloneGateway {
  readonly publicUrl: string;
  readonly adminUrl: string;
  /** Every stdout line so far (pino JSON). */
  readonly output: string[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/**
 * Runs the built service (`dist/main.js`, rebuild with `npx tsc -p tsconfig.build.json`) on
 * ephemeral loopback ports, with only the given settings in its environment, and resolves once
 * it logs its addresses. Stopped with SIGINT (no drain wait), SIGKILL if it hangs.
 */
export async function startStandalone(
  env: Readonly<Record<string, string>>,
): Promise<StandaloneGateway> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const urls = await new Promise<{ publicUrl: string; adminUrl: string }>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => {
      reject(new Error(`dist/main.js did not log its addresses within 10 s; stderr:\n${stderr}`));
    }, 10_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch {
          continue;
        }
        const rec = parsed as { public?: unknown; admin?: unknown };
        if (typeof rec.public === 'string' && typeof rec.admin === 'string') {
          clearTimeout(timer);
          resolve({ publicUrl: rec.public, adminUrl: rec.admin });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`dist/main.js exited with ${String(code)} before listening; stderr:\n${stderr}`),
      );
    });
  });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  return { ...urls, output, close, [Symbol.asyncDispose]: close };
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
