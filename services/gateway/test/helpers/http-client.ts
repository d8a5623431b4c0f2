/** Plain HTTP requests for tests (fetch is fine for everything that is not a stream). */
export interface JsonResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
}

export async function request(url: string, init: RequestInit = {}): Promise<JsonResponse> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** The `error.code` of a SPEC error body, or undefined. */
export function errorCode(r: JsonResponse): string | undefined {
  const body = r.body as { error?: { code?: string } } | undefined;
  return body?.error?.code;
}
