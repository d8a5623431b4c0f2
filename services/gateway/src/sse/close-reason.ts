/** Why a stream ended (STYLE.md A16: a closed union, used as a metric label and in the close log line). */
export type CloseReason =
  | 'client_closed'
  | 'slow_consumer'
  | 'total_buffer_exceeded'
  | 'send_failed'
  | 'shutdown'
  | 'max_age'
  | 'broker_gap'
  | 'replay_failed';

/** Closes the server chose to make so the client reconnects elsewhere (SPEC 10: end with `connection: close`). */
export const SERVER_CLOSE_REASONS: readonly CloseReason[] = [
  'slow_consumer',
  'total_buffer_exceeded',
  'send_failed',
  'shutdown',
  'max_age',
  'broker_gap',
  'replay_failed',
];
