/**
 * The gateway's one error type (STYLE.md A10): a SPEC code, the HTTP status it maps to, and
 * whether the message may be shown to the client. Every error the HTTP layer answers with goes
 * through {@link toGatewayError}, so unknown values never leak their text.
 */
import { ProtocolError, type ProtocolErrorCode } from '@ssehub/protocol';

/** Every error code of SPEC sections 3 and 7, with its HTTP status. */
export const ERROR_STATUS = {
  INVALID_TOPIC: 400,
  TOO_MANY_PATTERNS: 400,
  INVALID_LAST_EVENT_ID: 400,
  INVALID_EVENT_NAME: 400,
  INVALID_BODY: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  IDEMPOTENCY_CONFLICT: 409,
  EVENT_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 413,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_CONNECTIONS: 429,
  INTERNAL: 500,
  NOT_READY: 503,
  BROKER_UNAVAILABLE: 503,
} as const;

/** A SPEC error code (SPEC 3 and 7), the `code` of every error body the gateway answers with. */
export type ErrorCode = keyof typeof ERROR_STATUS;

export interface GatewayErrorOptions extends ErrorOptions {
  /**
   * For a batch that spans shards and partly failed (SPEC 7): per event, the id it was stored
   * under, or null when it was not stored.
   */
  readonly ids?: readonly (string | null)[];
}

/**
 * An error the gateway answers with: a SPEC {@link ErrorCode}, the HTTP status it maps to
 * ({@link ERROR_STATUS}), and whether the message may be shown to the client.
 *
 * @example
 * throw new GatewayError('INVALID_BODY', 'The "data" field is missing.');
 */
export class GatewayError extends Error {
  /** The HTTP status of {@link GatewayError.code}, from {@link ERROR_STATUS}. */
  readonly status: number;
  /** True for 4xx: the message is written for the client. 5xx messages stay in the logs. */
  readonly expose: boolean;
  /** For a partly stored batch: per event, its id or null (see {@link GatewayErrorOptions.ids}). */
  readonly ids: readonly (string | null)[] | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: GatewayErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
    this.status = ERROR_STATUS[code];
    this.expose = this.status < 500 || code === 'NOT_READY' || code === 'BROKER_UNAVAILABLE';
    this.ids = options?.ids;
  }
}

/** Normalises anything thrown into a GatewayError; unknown values become INTERNAL. */
export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  return new GatewayError('INTERNAL', 'Internal error', { cause: e });
}

/** The JSON body of every error answer (SPEC 3): `{"error":{"code","message"}}`, plus `ids` for partial batches. */
export function errorBody(e: GatewayError): Record<string, unknown> {
  const body: Record<string, unknown> = {
    error: { code: e.code, message: e.expose ? e.message : 'Internal error' },
  };
  if (e.ids !== undefined) body['ids'] = e.ids;
  return body;
}

/** The {@link ProtocolError} codes that are about a client's input: those SPEC also names. */
type ClientInputCode = Extract<ProtocolErrorCode, ErrorCode>;

function isClientInputCode(code: ProtocolErrorCode): code is ClientInputCode {
  return code in ERROR_STATUS;
}

/**
 * Runs a `@ssehub/protocol` parser on a client's input and answers a refusal as the
 * {@link GatewayError} with the same SPEC code (a 400), the protocol's message kept: it is
 * written for the client. The one place a `ProtocolError` becomes a `GatewayError`.
 *
 * `INVALID_FIELD` and anything else are rethrown as they are: they are programming errors, not
 * the client's, and {@link toGatewayError} answers them as INTERNAL.
 *
 * @param parse - The parser call, e.g. `() => parseTopic(raw)`.
 * @param where - Optional prefix naming the input in a body (`"events[2].topic"`), joined to the
 *   message with `": "`. Default: none.
 * @returns What `parse` returned.
 * @example
 * const topic = parseClientInput(() => parseTopic(decoded));
 */
export function parseClientInput<T>(parse: () => T, where?: string): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ProtocolError && isClientInputCode(err.code)) {
      const message = where === undefined ? err.message : `${where}: ${err.message}`;
      throw new GatewayError(err.code, message, { cause: err });
    }
    throw err;
  }
}
