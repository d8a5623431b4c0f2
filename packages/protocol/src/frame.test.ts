import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { encodeFrame, splitLines, utf8ByteLength, type FrameFields } from './frame.js';

function thrown(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, nothing was thrown');
}

interface ParsedEvent {
  id: string | undefined;
  event: string;
  data: string;
  retry: number | undefined;
  comments: string[];
}

/**
 * The event-stream interpretation of the WHATWG HTML standard ("Server-sent events", 9.2.6), as a
 * browser applies it to one block: what a page would see.
 */
function parseBlock(stream: string): ParsedEvent {
  const result: ParsedEvent = {
    id: undefined,
    event: 'message',
    data: '',
    retry: undefined,
    comments: [],
  };
  let data = '';
  const lines = stream.split(/\r\n|\r|\n/);
  // A block ends with an empty line; the split leaves a last '' after it.
  expect(lines.slice(-2)).toEqual(['', '']);
  for (const line of lines.slice(0, -2)) {
    if (line.startsWith(':')) {
      result.comments.push(line.slice(1).replace(/^ /, ''));
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data += `${value}\n`;
    else if (field === 'event') result.event = value;
    else if (field === 'id') result.id = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) result.retry = Number(value);
    else throw new Error(`unexpected field ${field}`);
  }
  result.data = data.endsWith('\n') ? data.slice(0, -1) : data;
  return result;
}

describe('splitLines', () => {
  it.each([
    ['', ['']],
    ['a', ['a']],
    ['a\nb', ['a', 'b']],
    ['a\r\nb\rc\nd', ['a', 'b', 'c', 'd']],
    ['a\n', ['a', '']],
    ['\n', ['', '']],
    ['\r\r\n\n', ['', '', '', '']],
    ['a\n\rb', ['a', '', 'b']],
    ['a\r', ['a', '']],
  ])('splits %j into %j', (data, lines) => {
    expect(splitLines(data)).toEqual(lines);
  });

  it('rejoined with "\\n", gives the text with every line end as "\\n"', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'é', '\r', '\n', ' ') }), (data) => {
        const lines = splitLines(data);
        expect(lines.join('\n')).toBe(data.replace(/\r\n|\r/g, '\n'));
        for (const line of lines) expect(line).not.toMatch(/[\r\n]/);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('encodeFrame', () => {
  it('writes an event with id, name and multi-line data', () => {
    expect(encodeFrame({ id: '42', event: 'new-dog', data: 'Corgi\nPug' })).toBe(
      'id: 42\nevent: new-dog\ndata: Corgi\ndata: Pug\n\n',
    );
  });

  it('writes the fields in the order comment, retry, id, event, data', () => {
    expect(encodeFrame({ data: 'd', event: 'e', id: 'i', retryMs: 2500, comment: 'ok' })).toBe(
      ': ok\nretry: 2500\nid: i\nevent: e\ndata: d\n\n',
    );
  });

  it('splits data on \\r\\n, \\r and \\n into one data line each', () => {
    expect(encodeFrame({ data: 'a\r\nb\rc\nd' })).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('writes one empty data line for empty data', () => {
    expect(encodeFrame({ data: '' })).toBe('data: \n\n');
  });

  it('writes only the blank line when every field is omitted', () => {
    expect(encodeFrame({})).toBe('\n');
  });

  it('writes ":" for an empty comment and ": text" otherwise', () => {
    expect(encodeFrame({ comment: '' })).toBe(':\n\n');
    expect(encodeFrame({ comment: 'not ready', retryMs: 1000 })).toBe(
      ': not ready\nretry: 1000\n\n',
    );
  });

  it('writes the opening block and an id-only heartbeat', () => {
    expect(encodeFrame({ comment: 'ok', retryMs: 2731, id: 'aB3x0V3GX3Am5' })).toBe(
      ': ok\nretry: 2731\nid: aB3x0V3GX3Am5\n\n',
    );
    expect(encodeFrame({ comment: '', id: 'x' })).toBe(':\nid: x\n\n');
  });

  it('writes an empty id and an empty event name as given', () => {
    expect(encodeFrame({ id: '', event: '' })).toBe('id: \nevent: \n\n');
  });

  it('keeps leading spaces of data lines (the browser strips only the one after the colon)', () => {
    expect(encodeFrame({ data: ' x\n  y' })).toBe('data:  x\ndata:   y\n\n');
    expect(parseBlock(encodeFrame({ data: ' x\n  y' })).data).toBe(' x\n  y');
  });

  it.each([
    [{ comment: 'a\nb' }, 'comment'],
    [{ comment: 'a\r' }, 'comment'],
    [{ id: '1\n2' }, 'id'],
    [{ id: '\r' }, 'id'],
    [{ event: 'a\r\nb' }, 'event'],
  ] as [FrameFields, string][])('refuses a line break in %j', (fields, field) => {
    const error = thrown(() => encodeFrame(fields));
    expect(error.code).toBe('INVALID_FIELD');
    expect(error.message).toContain(`The SSE ${field} field contains a line break`);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 1e21])(
    'refuses retryMs %d',
    (retryMs) => {
      const error = thrown(() => encodeFrame({ retryMs }));
      expect(error.code).toBe('INVALID_FIELD');
      expect(error.message).toMatch(/non-negative integer number of milliseconds/);
    },
  );

  it('accepts retryMs 0 and the largest safe integer', () => {
    expect(encodeFrame({ retryMs: 0 })).toBe('retry: 0\n\n');
    expect(encodeFrame({ retryMs: Number.MAX_SAFE_INTEGER })).toBe(
      `retry: ${Number.MAX_SAFE_INTEGER}\n\n`,
    );
  });

  it('is read back by the WHATWG event-stream rules as what was sent, with "\\n" line ends', () => {
    const oneLine = fc.string({ unit: fc.constantFrom('a', ':', ' ', 'é', '😀', '-') });
    const fieldsArb = fc.record(
      {
        comment: oneLine,
        retryMs: fc.nat(),
        id: oneLine,
        event: oneLine.filter((s) => s !== ''),
        data: fc.string({ unit: fc.constantFrom('a', ' ', ':', '\r', '\n', 'é', 'data: x') }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fieldsArb, (fields) => {
        const parsed = parseBlock(encodeFrame(fields));
        expect(parsed.id).toBe(fields.id);
        expect(parsed.event).toBe(fields.event ?? 'message');
        expect(parsed.retry).toBe(fields.retryMs);
        expect(parsed.comments).toEqual(fields.comment === undefined ? [] : [fields.comment]);
        expect(parsed.data).toBe(
          fields.data === undefined ? '' : fields.data.replace(/\r\n|\r/g, '\n'),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it('re-exports utf8ByteLength', () => {
    expect(utf8ByteLength('é')).toBe(2);
  });
});
