/**
 * Plain HTTP requests for tests: `fetch` for everything that is not a stream, and raw requests
 * over a fresh socket for what fetch cannot send: a path byte for byte (fetch and
 * `http.get(url)` normalise `..`, `%2e` and friends away), exactly the headers given (no
 * `Accept` unless listed), or a body in chunks with no content-length.
 */
import http from 'node:http';

export interface JsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
}

/** `text` parsed as JSON, or undefined when it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export async function request(url: string, init: RequestInit = {}): Promise<JsonResponse> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: parseJson(text), text };
}

/** The `error.code` of a SPEC error body, or undefined. */
export function errorCode(r: JsonResponse): string | undefined {
  const body = r.body as { error?: { code?: string } } | undefined;
  return body?.error?.code;
}

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
  /** Written one by one; without a content-length header the body goes out chunked. */
  readonly chunks?: readonly (string | Uint8Array)[];
  /** Rejects when the response has not ended by then (a stream that should have been refused). @defaultValue 5000 */
  readonly timeoutMs?: number;
  /**
   * `'json'` answers like {@link request} (headers as `Headers`, the body parsed as JSON when it
   * is, the text besides); `'text'` gives the raw head and the body as text. @defaultValue 'text'
   */
  readonly as?: 'text' | 'json';
}

/**
 * Sends one request with `path` exactly as given and reads the whole response. Only for answers
 * that end (errors, the not-ready answer, preflights, publishes): a live stream would time out.
 */
export function rawRequest(
  baseUrl: string,
  path: string,
  options: RawRequestOptions & { readonly as: 'json' },
): Promise<JsonResponse>;
export function rawRequest(
  baseUrl: string,
  path: string,
  options?: RawRequestOptions & { readonly as?: 'text' },
): Promise<RawResponse>;
export async function rawRequest(
  baseUrl: string,
  path: string,
  options: RawRequestOptions = {},
): Promise<RawResponse | JsonResponse> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const raw = await exchange(baseUrl, path, options, {
    timeoutMessage: `${options.method ?? 'GET'} ${path} did not end within ${timeoutMs} ms`,
  });
  return options.as === 'json' ? asJson(raw) : raw;
}

/**
 * Sends one request (path and headers exactly as given, so no `Accept` unless listed), reads
 * until the first blank line of the body (or its end), then drops the connection. For streams
 * whose opening is all a test needs.
 */
export function readOpening(
  baseUrl: string,
  path: string,
  options: Omit<RawRequestOptions, 'as'> = {},
): Promise<RawResponse> {
  return exchange(baseUrl, path, options, {
    stopWhen: (body) => body.includes('\n\n'),
    timeoutMessage: `${path} sent no complete block within ${options.timeoutMs ?? 5000} ms`,
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

function asJson(raw: RawResponse): JsonResponse {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw.headers)) {
    if (typeof value === 'string') headers.set(name, value);
    else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
  }
  return { status: raw.status, headers, body: parseJson(raw.body), text: raw.body };
}

/**
 * One request over a fresh socket; resolves at the end of the response, or (with `stopWhen`) as
 * soon as the body so far satisfies it or ends, dropping the connection then.
 */
function exchange(
  baseUrl: string,
  path: string,
  options: RawRequestOptions,
  { stopWhen, timeoutMessage }: { stopWhen?: (body: string) => boolean; timeoutMessage: string },
): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname,
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
          if (stopWhen !== undefined) req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (stopWhen?.(body) === true) done();
        });
        res.on('end', done);
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(timeoutMessage));
    }, options.timeoutMs ?? 5000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}
