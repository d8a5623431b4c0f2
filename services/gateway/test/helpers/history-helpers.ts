/**
 * Small helpers for the history, resume and wire-format suites: batch publishing over the admin
 * port, and slicing the raw SSE body around the opening block.
 */

export interface BatchEvent {
  readonly topic: string;
  readonly data: string;
  readonly event?: string;
}

/** SPEC 7: at most 1000 events per `POST /publish` batch. */
const MAX_BATCH = 1000;

/** Publishes events in order through `POST /publish` batches; resolves to their ids. */
export async function publishBatch(
  adminUrl: string,
  events: readonly BatchEvent[],
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < events.length; start += MAX_BATCH) {
    const res = await fetch(`${adminUrl}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: events.slice(start, start + MAX_BATCH) }),
    });
    const body = (await res.json()) as { ids?: string[] };
    if (res.status !== 200 || body.ids === undefined) {
      throw new Error(`batch publish answered ${res.status}: ${JSON.stringify(body)}`);
    }
    ids.push(...body.ids);
  }
  return ids;
}

/** `count` events on `topic` with data `${prefix}${i}`. */
export function numbered(topic: string, count: number, prefix = 'e'): BatchEvent[] {
  return Array.from({ length: count }, (_, i) => ({ topic, data: `${prefix}${i}` }));
}

/** The first block of the body (`: ok`, `retry:`, maybe `id:`), with its blank line. */
export function openingBlock(raw: string): string {
  const end = raw.indexOf('\n\n');
  return end < 0 ? raw : raw.slice(0, end + 2);
}

/** The body after the opening block. */
export function afterOpening(raw: string): string {
  return raw.slice(openingBlock(raw).length);
}
