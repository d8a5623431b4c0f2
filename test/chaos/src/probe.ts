/**
 * One-off probes of a gateway for tests that look beyond the recorded history: a metric read
 * from its admin port's `/metrics`, and a raw subscribe request (not an EventSource: no retry,
 * no `Accept: text/event-stream`, so a refusal is a plain status code) that can be left open,
 * abandoned before its answer, or closed.
 */
import http from 'node:http';

/**
 * The value of an unlabelled metric in the Prometheus text at `<adminUrl>/metrics`.
 * @returns The value, or `undefined` when the endpoint does not answer or has no such metric.
 */
export async function readMetric(
  adminUrl: string,
  name: string,
  timeoutMs = 2000,
): Promise<number | undefined> {
  try {
    const res = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    for (const line of text.split('\n')) {
      const [metric, value] = line.trim().split(/\s+/);
      if (metric === name && value !== undefined) return Number(value);
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** How a raw subscribe request was answered. */
export interface RawAnswer {
  /**
   * `open`: a 200 event stream that sent its opening `id:`; `refused`: any other status
   * (`status` and `body` say which); `error`: the connection failed or was closed first.
   */
  readonly kind: 'open' | 'refused' | 'error';
  readonly status: number;
  readonly body: string;
  /** Milliseconds from the request to the answer. */
  readonly afterMs: number;
}

/** A raw subscribe request in flight (or a stream it opened). */
export interface RawStream {
  /** Settles once with the answer; a request closed before it settles as `error`. */
  readonly answer: Promise<RawAnswer>;
  /** True once an answer came. */
  readonly answered: () => boolean;
  /** Aborts the request, or closes the stream it opened (the client leaves). */
  close(): void;
}

/** Sends `GET <publicUrl><path>` and reports its answer; see {@link RawStream}. */
export function openRawStream(publicUrl: string, path: string): RawStream {
  const started = Date.now();
  let settled = false;
  let settle: (answer: RawAnswer) => void = () => undefined;
  const answer = new Promise<RawAnswer>((resolve) => {
    settle = (a): void => {
      if (settled) return;
      settled = true;
      resolve(a);
    };
  });
  const done = (kind: RawAnswer['kind'], status: number, body: string): void => {
    settle({ kind, status, body, afterMs: Date.now() - started });
  };
  const req = http.get(`${publicUrl}${path}`, { agent: false }, (res) => {
    const status = res.statusCode ?? 0;
    const streaming =
      status === 200 && (res.headers['content-type'] ?? '').startsWith('text/event-stream');
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (body.length < 4000) body += chunk;
      if (streaming && /(^|\n)id:/.test(body)) done('open', status, body);
    });
    res.on('end', () => {
      done(streaming ? 'error' : 'refused', status, body);
    });
    res.on('close', () => {
      done(streaming ? 'error' : 'refused', status, body);
    });
    res.on('error', () => undefined);
  });
  req.on('error', (err) => {
    done('error', 0, err.message);
  });
  return {
    answer,
    answered: () => settled,
    close: () => {
      req.destroy();
    },
  };
}
