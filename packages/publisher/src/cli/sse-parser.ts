/**
 * The event-stream parser `ssehub subscribe` reads a gateway's stream with, so it prints what an
 * `EventSource` would dispatch.
 */

/** One event as an `EventSource` dispatches it. */
export interface SseEvent {
  readonly id: string;
  readonly event: string;
  readonly data: string;
}

/**
 * The SSE parser of the HTML standard ("Interpreting an event stream"): any line end, comments,
 * `data` joined with `\n`, `id` kept across events (and set by an `id:`-only block), `retry`.
 */
export class SseParser {
  #buffer = '';
  #skipLf = false;
  #started = false;
  #data = '';
  #event = '';
  #idBuffer = '';
  /** The last event ID string, sent as `Last-Event-ID` on a reconnect. */
  lastEventId = '';

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onRetry: (ms: number) => void,
  ) {}

  push(chunk: string): void {
    let text = chunk;
    if (!this.#started && text !== '') {
      this.#started = true;
      if (text.startsWith('\ufeff')) text = text.slice(1);
    }
    let start = 0;
    if (this.#skipLf && text.startsWith('\n')) start = 1;
    this.#skipLf = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.#buffer + text.slice(start, i);
      this.#buffer = '';
      if (c === 13) {
        if (i + 1 === text.length) this.#skipLf = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      this.#line(line);
    }
    this.#buffer += text.slice(start);
  }

  /** A new connection: an unfinished line or event of the old one is dropped. */
  reset(): void {
    this.#buffer = '';
    this.#skipLf = false;
    this.#started = false;
    this.#data = '';
    this.#event = '';
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data += `${value}\n`;
        break;
      case 'id':
        if (!value.includes('\0')) this.#idBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.onRetry(Number(value));
        break;
      default:
        break;
    }
  }

  #dispatch(): void {
    this.lastEventId = this.#idBuffer;
    if (this.#data === '') {
      this.#event = '';
      return;
    }
    const data = this.#data.slice(0, -1);
    const event = this.#event === '' ? 'message' : this.#event;
    this.#data = '';
    this.#event = '';
    this.onEvent({ id: this.lastEventId, event, data });
  }
}
