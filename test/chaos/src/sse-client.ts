/**
 * An SSE client over node:http that behaves like a browser's `EventSource` (WHATWG HTML,
 * "Server-sent events"): it parses the stream line by line (CR, LF or CRLF), keeps the last event
 * ID buffer across events, lets an `id:`-only block set the last event ID without firing an
 * event, honours `retry:`, reconnects with `Last-Event-ID` whenever the stream ends or the
 * connection fails, and gives up for good on a non-200 status or a wrong content type. The npm
 * `eventsource` package ignores `id:`-only blocks, which is why this exists.
 */
import http from 'node:http';

/** A dispatched block: an event (data non-empty) or an id-only block. */
export interface SseBlock {
  /** The last event ID after this block (the browser's `lastEventId`). */
  readonly lastEventId: string;
  /** True when this block had an `id:` field. */
  readonly hadId: boolean;
  /** The event type (`message` when none was given); only for events. */
  readonly type: string;
  /** The data, or `undefined` for a block that fires no event. */
  readonly data: string | undefined;
}

/** What the client reports to its owner. */
export interface SseHandlers {
  /** A response with status 200 and `text/event-stream`. */
  onOpen(conn: number): void;
  /** A dispatched block (an event, or an `id:`-only block). */
  onBlock(conn: number, block: SseBlock): void;
  /** A comment line (`: ok`, `: not ready`, heartbeats), without the colon. */
  onComment(conn: number, text: string): void;
  /** The stream ended or the connection failed; a reconnect follows. */
  onClose(conn: number, reason: string): void;
  /** The client gave up for good (non-200 status or wrong content type). */
  onFatal(conn: number, status: number, body: string): void;
}

/** Options of {@link EventSourceClient}. */
export interface EventSourceOptions {
  /** Picks the URL (host, path and query) for each connection attempt, e.g. a random gateway. */
  readonly url: (attempt: number) => { readonly url: string; readonly gateway: number };
  readonly handlers: SseHandlers;
  /**
   * Reconnection time before the server sets one, in ms (browsers use about 3000).
   * @defaultValue 3000
   */
  readonly initialRetryMs?: number;
}

/** Splits text into lines on CR, LF or CRLF, remembering an unfinished line and a trailing CR. */
class LineSplitter {
  #buffer = '';
  #lastWasCr = false;

  /** The complete lines in `chunk` (and before it). */
  push(chunk: string): string[] {
    const lines: string[] = [];
    let start = 0;
    let text = chunk;
    if (this.#lastWasCr && text.startsWith('\n')) text = text.slice(1);
    this.#lastWasCr = false;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 || c === 13) {
        lines.push(this.#buffer + text.slice(start, i));
        this.#buffer = '';
        if (c === 13) {
          if (i + 1 < text.length) {
            if (text.charCodeAt(i + 1) === 10) i += 1;
          } else {
            this.#lastWasCr = true;
          }
        }
        start = i + 1;
      }
    }
    this.#buffer += text.slice(start);
    return lines;
  }
}

/** A browser-like EventSource. Call {@link EventSourceClient.close} to stop it. */
export class EventSourceClient {
  /** The browser's last event ID string, sent as `Last-Event-ID` on reconnect. */
  lastEventId = '';
  /** The reconnection time, in ms; `retry:` sets it. */
  retryMs: number;
  /** Connections attempted so far (the current one's number). */
  conn = 0;
  /** True after a non-200 answer: the client gave up. */
  failed = false;
  /** True while a response is streaming. */
  open = false;
  #closed = false;
  #req: http.ClientRequest | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #options: EventSourceOptions;

  constructor(options: EventSourceOptions) {
    this.#options = options;
    this.retryMs = options.initialRetryMs ?? 3000;
    this.#connect();
  }

  /** Stops for good: aborts the current request and cancels any reconnect. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#req?.destroy();
  }

  #connect(): void {
    if (this.#closed) return;
    this.conn += 1;
    const conn = this.conn;
    const { url } = this.#options.url(conn);
    const handlers = this.#options.handlers;
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      'cache-control': 'no-cache',
    };
    if (this.lastEventId !== '') headers['last-event-id'] = this.lastEventId;
    let ended = false;
    const end = (reason: string): void => {
      if (ended) return;
      ended = true;
      this.open = false;
      if (this.#closed || this.failed) return;
      handlers.onClose(conn, reason);
      this.#timer = setTimeout(() => {
        this.#connect();
      }, this.retryMs);
    };
    const req = http.get(url, { headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      const type = res.headers['content-type'] ?? '';
      if (status !== 200 || !type.startsWith('text/event-stream')) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < 2000) body += chunk;
        });
        const fail = (): void => {
          if (this.failed || this.#closed) return;
          this.failed = true;
          ended = true;
          handlers.onFatal(conn, status, body);
        };
        res.on('end', fail);
        res.on('error', fail);
        res.on('close', fail);
        return;
      }
      this.open = true;
      handlers.onOpen(conn);
      this.#read(res, conn);
      res.on('end', () => {
        end('end');
      });
      res.on('error', (err) => {
        end(`error: ${err.message}`);
      });
      res.on('close', () => {
        end('close');
      });
    });
    req.on('error', (err) => {
      end(`connect: ${err.message}`);
    });
    this.#req = req;
  }

  /** Parses the event stream of one response (WHATWG "interpret the event stream"). */
  #read(res: http.IncomingMessage, conn: number): void {
    const handlers = this.#options.handlers;
    const lines = new LineSplitter();
    let first = true;
    let data = '';
    let type = '';
    let hadId = false;
    // The last event ID buffer: browsers start it at the source's last event ID, and copy it to
    // the source only at a dispatch (a block cut off before its blank line changes nothing).
    let idBuffer = this.lastEventId;
    res.setEncoding('utf8');
    res.on('data', (raw: string) => {
      if (this.#closed) return;
      let chunk = raw;
      if (first) {
        first = false;
        if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      }
      for (const line of lines.push(chunk)) {
        if (line === '') {
          // Dispatch.
          this.lastEventId = idBuffer;
          if (data === '') {
            if (hadId) {
              handlers.onBlock(conn, {
                lastEventId: this.lastEventId,
                hadId,
                type: 'message',
                data: undefined,
              });
            }
          } else {
            handlers.onBlock(conn, {
              lastEventId: this.lastEventId,
              hadId,
              type: type === '' ? 'message' : type,
              data: data.endsWith('\n') ? data.slice(0, -1) : data,
            });
          }
          data = '';
          type = '';
          hadId = false;
          continue;
        }
        if (line.startsWith(':')) {
          handlers.onComment(conn, line.slice(1).trimStart());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        switch (field) {
          case 'event':
            type = value;
            break;
          case 'data':
            data += `${value}\n`;
            break;
          case 'id':
            if (!value.includes('\0')) {
              idBuffer = value;
              hadId = true;
            }
            break;
          case 'retry':
            if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
            break;
          default:
            break;
        }
      }
    });
  }
}
