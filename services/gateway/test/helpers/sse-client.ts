/**
 * A raw SSE client for tests: real HTTP over a real socket, events parsed by eventsource-parser,
 * plus the raw text and the WHATWG "last event ID" (which `id:`-only blocks set without firing an
 * event, something EventSource libraries for Node ignore).
 */
import http from 'node:http';
import { createParser } from 'eventsource-parser';

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
}

export interface OpenOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Pause reading right away (simulates a client that does not read). @defaultValue false */
  readonly paused?: boolean;
}

export class SseStream {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  /** Every byte of the body so far, as text. */
  raw = '';
  /** The browser's last event ID string, updated at each blank line after an `id:` field. */
  lastEventId: string | undefined;
  /** True once the server ended the response or the socket closed. */
  ended = false;
  readonly #waiters = new Set<() => void>();
  #pendingId: string | undefined;
  #lineBuffer = '';

  private constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    private readonly res: http.IncomingMessage,
    private readonly req: http.ClientRequest,
  ) {}

  static open(url: string, options: OpenOptions = {}): Promise<SseStream> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        url,
        { headers: { accept: 'text/event-stream', ...options.headers }, agent: false },
        (res) => {
          const stream = new SseStream(res.statusCode ?? 0, res.headers, res, req);
          const parser = createParser({
            onEvent: (e) => stream.events.push({ id: e.id, event: e.event, data: e.data }),
            onComment: (c) => stream.comments.push(c),
          });
          res.setEncoding('utf8');
          if (options.paused === true) res.pause();
          res.on('data', (chunk: string) => {
            stream.raw += chunk;
            stream.#trackIds(chunk);
            parser.feed(chunk);
            stream.#wake();
          });
          const end = (): void => {
            stream.ended = true;
            stream.#wake();
          };
          res.on('end', end);
          res.on('close', end);
          res.on('error', end);
          resolve(stream);
        },
      );
      req.on('error', reject);
    });
  }

  /** The body parsed as JSON (for error answers). */
  async json(): Promise<unknown> {
    await this.waitFor(() => this.ended);
    return JSON.parse(this.raw) as unknown;
  }

  /** Resolves once `predicate` holds, or rejects after `timeoutMs` with what was received. */
  waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; received:\n${this.raw.slice(-2000)}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  waitForEvents(count: number, timeoutMs = 5000): Promise<void> {
    return this.waitFor(() => this.events.length >= count, timeoutMs, `${count} events`);
  }

  /** Resolves once the opening comment `: ok` has arrived. */
  opened(timeoutMs = 5000): Promise<void> {
    return this.waitFor(
      () => this.raw.startsWith(': ok\n') && this.raw.includes('\n\n'),
      timeoutMs,
      ': ok',
    );
  }

  waitForEnd(timeoutMs = 5000): Promise<void> {
    return this.waitFor(() => this.ended, timeoutMs, 'the end of the stream');
  }

  resume(): void {
    this.res.resume();
  }

  close(): void {
    this.req.destroy();
    this.res.destroy();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** WHATWG: an `id` field sets the buffer; a blank line commits it, whether or not data came. */
  #trackIds(chunk: string): void {
    this.#lineBuffer += chunk;
    const lines = this.#lineBuffer.split(/\r\n|\r|\n/);
    this.#lineBuffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (this.#pendingId !== undefined) this.lastEventId = this.#pendingId;
      } else if (line.startsWith('id:')) {
        const value = line.slice(3).replace(/^ /, '');
        if (!value.includes('\0')) this.#pendingId = value;
      }
    }
  }
}

/** Opens a stream and waits for `: ok` (fails the test if the answer is not a live stream). */
export async function subscribe(url: string, options: OpenOptions = {}): Promise<SseStream> {
  const stream = await SseStream.open(url, options);
  if (stream.status !== 200) throw new Error(`subscribe answered ${stream.status}: ${stream.raw}`);
  await stream.opened();
  return stream;
}
