/**
 * Every reason a publisher call can fail (SPEC.md sections 7 and 8). Branch on the code, never on
 * the message:
 *
 * - `INVALID_TOPIC`: the topic breaks the SPEC.md section 2 grammar. Nothing was sent.
 * - `INVALID_EVENT_NAME`: the event name breaks the SPEC.md section 4 rule. Nothing was sent.
 * - `EVENT_TOO_LARGE`: the data is larger than the deployment's `MAX_EVENT_BYTES`. Nothing was
 *   stored.
 * - `INVALID_DATA`: the data cannot be serialized to JSON, or is a string that is not valid
 *   Unicode. Nothing was sent.
 * - `IDEMPOTENCY_CONFLICT`: the idempotency key was already used, within `IDEMPOTENCY_TTL_MS`,
 *   for an event with other content. Nothing was stored on that shard.
 * - `BROKER_UNAVAILABLE`: Redis failed or the circuit breaker is open (over HTTP: the gateway
 *   answered 503, or could not be reached). Nothing was stored.
 * - `TIMEOUT`: Redis (or the gateway) did not answer in time; the outcome is unknown. Retry with
 *   the same idempotency key.
 * - `CLOSED`: the publisher was closed.
 * - `CONFIG_MISMATCH`: the deployment's Redis has another shard count or protocol version.
 * - `NOT_INITIALIZED`: the deployment's Redis has no meta hash (no gateway has run on it yet, or
 *   it lost its data) and the publisher has no `settings` of its own to create it with; it
 *   waited `commandTimeoutMs` for a gateway to create it. Nothing was stored. Start a gateway, or
 *   pass `settings`.
 * - `INVALID_OPTIONS`: a bad option to `createPublisher` or `publish` (prefix, shards, a client
 *   with `keyPrefix`, an idempotency key).
 *
 * Only from `createHttpPublisher` (the gateway's answers, SPEC.md section 7):
 *
 * - `UNAUTHORIZED`: 401, the gateway needs a (valid) token. Nothing was stored.
 * - `FORBIDDEN`: 403, the token does not allow publishing to the topic, or the route is closed.
 *   Nothing was stored.
 * - `INVALID_BODY`: 400, the gateway refused the request body. Nothing was stored.
 * - `BATCH_TOO_LARGE`: more than 1000 events in one `publishMany`. Nothing was sent.
 * - `BODY_TOO_LARGE`: 413, the request is larger than the gateway's `MAX_BODY_BYTES`. Nothing
 *   was stored.
 * - `UNSUPPORTED_MEDIA_TYPE`: 415, the gateway refused the content type. Nothing was stored.
 * - `UNEXPECTED_RESPONSE`: an answer that is not the gateway's (a wrong URL, a proxy's error
 *   page, another 4xx or 5xx code). The outcome is unknown.
 */
export type PublisherErrorCode =
  | 'INVALID_TOPIC'
  | 'INVALID_EVENT_NAME'
  | 'EVENT_TOO_LARGE'
  | 'INVALID_DATA'
  | 'IDEMPOTENCY_CONFLICT'
  | 'BROKER_UNAVAILABLE'
  | 'TIMEOUT'
  | 'CLOSED'
  | 'CONFIG_MISMATCH'
  | 'NOT_INITIALIZED'
  | 'INVALID_OPTIONS'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'INVALID_BODY'
  | 'BATCH_TOO_LARGE'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'UNEXPECTED_RESPONSE';

/** Options of a {@link PublisherError}: the standard `cause`, plus the ids of a partial batch. */
export interface PublisherErrorOptions extends ErrorOptions {
  /**
   * For a `publishMany` batch that spans shards and partly failed: per event, its id when its
   * shard stored it, or `null` when it was not stored.
   */
  readonly ids?: readonly (string | null)[];
}

/**
 * The one error class of `@ssehub/publisher`. The message is a full sentence that says what went
 * wrong and what to do (STYLE.md A23); `cause` keeps the underlying error.
 */
export class PublisherError extends Error {
  /** Machine-readable reason; stable across releases. */
  readonly code: PublisherErrorCode;
  /**
   * Only on a `publishMany` that spans shards and partly failed: the id of each event its shard
   * stored, `null` for the others. Retry the `null` ones (with their idempotency keys).
   */
  readonly ids: readonly (string | null)[] | undefined;

  /**
   * @param code - Machine-readable reason.
   * @param message - Full sentence naming the problem and what to do.
   * @param options - `cause` when wrapping another error; `ids` for a partly stored batch.
   */
  constructor(code: PublisherErrorCode, message: string, options?: PublisherErrorOptions) {
    super(message, options);
    // Set explicitly (not from new.target) so the name survives minification.
    this.name = 'PublisherError';
    this.code = code;
    this.ids = options?.ids;
  }
}
