/**
 * Publish-side helpers for tests: JSON publishes and the publish counters read from `/metrics`.
 * Requests `fetch` cannot make (a raw, un-normalized path such as `/publish/pets/..`, or a body
 * with no content-length) are `rawRequest` in http-client.ts.
 */
import type { JsonResponse } from './http-client.js';
import { request } from './http-client.js';
import { scrape } from './metrics.js';

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
  const metrics = await scrape(adminUrl, headers);
  const sample = (name: string): number => {
    const value = metrics.find(name);
    if (value === undefined) throw new Error(`no sample ${name} in /metrics`);
    return value;
  };
  return {
    history: sample('ssehub_history_events'),
    published: sample('ssehub_events_published_total'),
  };
}
