import { ProtocolError } from './errors.js';
import { quote } from './quote.js';

/**
 * Name of the event ssehub sends when it cannot resume a client from its `Last-Event-ID`
 * (SPEC.md section 5). Its data is `{"reason":"history_trimmed" | "unknown_id" | "history_lost"}`.
 * Publishers cannot use it: every name starting with `ssehub.` is reserved.
 */
export const RESET_EVENT = 'ssehub.reset';

/** 1 to 64 characters from `A-Z a-z 0-9 _ . : -` (SPEC.md section 4). */
const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Prefix reserved for events ssehub itself sends, such as {@link RESET_EVENT}. */
const RESERVED_PREFIX = 'ssehub.';

/** Why `name` is not a publishable event name, or `undefined`. */
function eventNameProblem(name: string): string | undefined {
  if (!EVENT_NAME.test(name)) {
    return `Event name ${quote(name)} is not allowed; an event name is 1 to 64 characters from A-Z a-z 0-9 _ . : -.`;
  }
  if (name.startsWith(RESERVED_PREFIX)) {
    return `Event name ${quote(name)} starts with "ssehub.", which is reserved for events ssehub sends itself; choose another name.`;
  }
  // An EventSource fires "error" and "open" for its own connection state; events with those
  // names would reach the page's connection handlers and be mistaken for them.
  if (name === 'error' || name === 'open') {
    return `Event name ${quote(name)} is refused because EventSource uses it for connection state; choose another name.`;
  }
  return undefined;
}

/**
 * Checks an event name for publishing (SPEC.md section 4): 1 to 64 characters from
 * `A-Z a-z 0-9 _ . : -`, not starting with `ssehub.`, and neither `error` nor `open`.
 * Case-sensitive: `Error` is allowed, since EventSource compares names exactly.
 *
 * @param name - Event name as received.
 * @returns `name`, unchanged.
 * @throws {@link ProtocolError} `INVALID_EVENT_NAME` with a sentence naming the rule that failed.
 */
export function parseEventName(name: string): string {
  const problem = eventNameProblem(name);
  if (problem !== undefined) throw new ProtocolError('INVALID_EVENT_NAME', problem);
  return name;
}

/**
 * Whether {@link parseEventName} would accept `name`.
 *
 * @param name - Event name as received.
 */
export function isValidEventName(name: string): boolean {
  return eventNameProblem(name) === undefined;
}
