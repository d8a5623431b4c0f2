/**
 * Why a value was refused by the protocol package. Each code maps to one SPEC.md error code or,
 * for `INVALID_FIELD`, to a programming error in the caller (a value that never comes from a
 * client, such as a Redis prefix or a frame field):
 *
 * - `INVALID_TOPIC`: a topic or pattern outside the SPEC.md section 2 grammar (HTTP 400).
 * - `INVALID_EVENT_NAME`: an event name outside the SPEC.md section 4 rule (HTTP 400).
 * - `INVALID_LAST_EVENT_ID`: an event id that ssehub could not have issued (SPEC.md section 5).
 * - `INVALID_FIELD`: any other value that cannot be encoded (frame fields, stream ids, key parts).
 */
export type ProtocolErrorCode =
  'INVALID_TOPIC' | 'INVALID_EVENT_NAME' | 'INVALID_LAST_EVENT_ID' | 'INVALID_FIELD';

/**
 * The one error class thrown by `@ssehub/protocol`. Callers branch on {@link ProtocolError.code},
 * never on the message; the message is a full sentence that says what is wrong and what is
 * allowed, safe to show to the client that sent the value.
 */
export class ProtocolError extends Error {
  /** Machine-readable reason; stable across releases. */
  readonly code: ProtocolErrorCode;

  /**
   * @param code - Machine-readable reason.
   * @param message - Full sentence naming the problem and the rule it broke.
   * @param options - Standard `ErrorOptions`; pass `cause` when wrapping another error.
   */
  constructor(code: ProtocolErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    // Set explicitly (not from new.target) so the name survives minification and subclassing.
    this.name = 'ProtocolError';
    this.code = code;
  }
}
