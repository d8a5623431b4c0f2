import { ProtocolError } from './errors.js';

export { utf8ByteLength } from './utf8.js';

/**
 * The fields of one SSE block (WHATWG HTML "Server-sent events", SPEC.md sections 3 and 4).
 * Every field is optional; an omitted field writes nothing.
 */
export interface FrameFields {
  /**
   * Comment text, written as `: <comment>` (or `:` when empty). Browsers ignore comments; they
   * keep proxies and load balancers from closing an idle stream.
   */
  comment?: string;
  /** Reconnection delay the browser should use, in milliseconds; a non-negative safe integer. */
  retryMs?: number;
  /** Event id; becomes the browser's `Last-Event-ID`. One line. */
  id?: string;
  /** Event name; the browser fires `message` when absent. One line. */
  event?: string;
  /** Event data; may hold `\r\n`, `\r` or `\n` line breaks, each becoming one `data:` line. */
  data?: string;
}

/** Line breaks of the SSE grammar: CRLF, lone CR, lone LF. */
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Splits text on every SSE line break: `\r\n`, `\r` and `\n` (in that order of precedence, so
 * `\r\n` is one break). `'a\r\nb\rc\nd'` gives `['a', 'b', 'c', 'd']`; `''` gives `['']`; a
 * trailing break gives a trailing `''`, which a browser turns back into the trailing `\n`.
 *
 * @param data - Any text.
 * @returns The lines, without their breaks; never empty.
 */
export function splitLines(data: string): string[] {
  // Most event data is one line: skip the regex (and its allocation) when there is no break.
  const hasCarriageReturn = data.includes('\r');
  if (!hasCarriageReturn) return data.includes('\n') ? data.split('\n') : [data];
  return data.split(LINE_BREAK);
}

/** Refuses a value that would end its line early and let the rest be read as other fields. */
function oneLine(field: 'comment' | 'id' | 'event', value: string): string {
  if (value.includes('\n') || value.includes('\r')) {
    throw new ProtocolError(
      'INVALID_FIELD',
      `The SSE ${field} field contains a line break; ${field} must be a single line without \\r or \\n.`,
    );
  }
  return value;
}

/**
 * Encodes one SSE block. Fields are written in this order, each only when given: `: <comment>`,
 * `retry: <retryMs>`, `id: <id>`, `event: <event>`, one `data: <line>` per line of `data` (see
 * {@link splitLines}; `''` writes one empty `data:` line), then the blank line that ends the
 * block. So `encodeFrame({})` is `'\n'`.
 *
 * Pure and called once per published event (not per recipient): the result is shared by every
 * connection that receives the event.
 *
 * @example
 * ```ts
 * encodeFrame({ id: '42', event: 'new-dog', data: 'Corgi\nPug' });
 * // 'id: 42\nevent: new-dog\ndata: Corgi\ndata: Pug\n\n'
 * ```
 * @throws {@link ProtocolError} `INVALID_FIELD` when `comment`, `id` or `event` holds `\r` or `\n`,
 *   or `retryMs` is not a non-negative safe integer.
 */
export function encodeFrame(f: FrameFields): string {
  let out = '';
  if (f.comment !== undefined)
    out += f.comment === '' ? ':\n' : `: ${oneLine('comment', f.comment)}\n`;
  if (f.retryMs !== undefined) {
    // Safe integers only: anything else would print as "1.5" or "1e+21", which browsers ignore.
    if (!Number.isSafeInteger(f.retryMs) || f.retryMs < 0) {
      throw new ProtocolError(
        'INVALID_FIELD',
        `The SSE retry field must be a non-negative integer number of milliseconds; got ${String(f.retryMs)}.`,
      );
    }
    out += `retry: ${f.retryMs}\n`;
  }
  if (f.id !== undefined) out += `id: ${oneLine('id', f.id)}\n`;
  if (f.event !== undefined) out += `event: ${oneLine('event', f.event)}\n`;
  if (f.data !== undefined) {
    for (const line of splitLines(f.data)) out += `data: ${line}\n`;
  }
  return `${out}\n`;
}
