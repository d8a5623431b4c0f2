/**
 * Longest stretch of a refused value echoed into an error message. Values come from clients and
 * can be megabytes long; a message must stay readable and cheap to log.
 */
const MAX_QUOTED_CHARS = 40;

/**
 * Formats a refused value for an error message: JSON-quoted (so control characters and quotes are
 * visible and cannot break a log line) and cut to {@link MAX_QUOTED_CHARS} characters.
 *
 * @param value - The value as received.
 * @returns The value in double quotes, shortened with `…` when too long.
 * @internal
 */
export function quote(value: string): string {
  return JSON.stringify(
    value.length > MAX_QUOTED_CHARS ? `${value.slice(0, MAX_QUOTED_CHARS)}…` : value,
  );
}
