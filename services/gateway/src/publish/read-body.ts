/**
 * Reads a request body up to a byte limit (raw-body, the reader koa-bodyparser uses), and
 * decodes it as strict UTF-8 (SPEC 7: invalid UTF-8 is INVALID_BODY, never silently replaced).
 */
import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { GatewayError } from '../errors.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads the whole body as UTF-8 text; 413 BODY_TOO_LARGE past `limitBytes` (`MAX_BODY_BYTES`). */
export async function readTextBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  let buffer: Buffer;
  try {
    buffer = await getRawBody(req, { limit: limitBytes });
  } catch (err) {
    if (isTooLarge(err)) {
      throw new GatewayError(
        'BODY_TOO_LARGE',
        `The request body is over ${limitBytes} bytes (MAX_BODY_BYTES).`,
        { cause: err },
      );
    }
    throw new GatewayError('INVALID_BODY', 'The request body could not be read.', { cause: err });
  }
  try {
    return strictUtf8.decode(buffer);
  } catch (err) {
    throw new GatewayError('INVALID_BODY', 'The request body is not valid UTF-8.', { cause: err });
  }
}

function isTooLarge(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && 'type' in err && err.type === 'entity.too.large'
  );
}
