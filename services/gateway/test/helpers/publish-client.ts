/**
 * Publish-side helpers for tests: requests `fetch` cannot make (a raw, un-normalized path such as
 * `/publish/pets/..`, or a body with no content-length), JSON publishes, and the publish counters
 * read from `/metrics`.
 */
import http from 'node:http';
import type { JsonResponse } from './http-client.js';
import { request } from './http-client.js';

export interface RawRequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Written one by one; without a content-length header the body goes out chunked. */
  readonly chunks?: readonly (string | Uint8Array)[];
}

/** One request over a fresh socket, with `path` sent exactly as given. */
export function rawRequest(
  baseUrl: string,
  path: string,
  options: RawRequestOptions = {},
): Promise<JsonResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname,
        port,
        path,
        method: options.method ?? 'POST',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let body: unknown;
          try {
            body = JSON.parse(text) as unknown;
          } catch {
            body = undefined;
          }
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') headers.set(name, value);
            else if (Array.isArray(value)) for (const v of value) headers.append(name, v);
          }
          resolve({ status: res.statusCode ?? 0, headers, body, text });
        });
      },
    );
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

/** `POST /publish` with a JSON body (a string is sent as it is, anything else stringified). */
export function postJson(
  baseUrl: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<JsonResponse> {
  return request(`${baseUrl}/publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface PublishCounters {
  /** `ssehub_history_events`: events retained in history. */
  readonly history: number;
  /** `ssehub_events_published_total`. */
  readonly published: number;
}

/** Reads the history gauge and the published counter from the admin port's `/metrics`. */
export async function publishCounters(
  adminUrl: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<PublishCounters> {
  const res = await request(`${adminUrl}/metrics`, { headers });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return {
    history: sample(res.text, 'ssehub_history_events'),
    published: sample(res.text, 'ssehub_events_published_total'),
  };
}

function sample(exposition: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(exposition);
  if (match?.[1] === undefined) throw new Error(`no sample ${name} in /metrics`);
  return Number(match[1]);
}
