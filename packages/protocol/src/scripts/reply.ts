/**
 * Checked reads of a script's reply. ioredis gives a Lua table as an array, a Lua string as a
 * string, a Lua number as an integer and `false` (nil) as `null`; anything else is refused with
 * a {@link ScriptReplyError} naming the script and the shape it should have had.
 */
import { ScriptReplyError } from './script.js';

/** A reader of one reply: the script's name and expected shape go into every error. */
export class ReplyReader {
  readonly #script: string;
  readonly #expected: string;
  readonly #reply: unknown;

  /**
   * @param script - The script's name, for messages.
   * @param expected - The shapes the script documents, for messages.
   * @param reply - The reply as received.
   */
  constructor(script: string, expected: string, reply: unknown) {
    this.#script = script;
    this.#expected = expected;
    this.#reply = reply;
  }

  /** The error for this reply. */
  fail(): ScriptReplyError {
    return new ScriptReplyError(this.#script, this.#reply, this.#expected);
  }

  /** The reply as an array of at least `min` items. */
  array(min = 0): readonly unknown[] {
    const reply = this.#reply;
    if (!Array.isArray(reply) || reply.length < min) throw this.fail();
    return reply as readonly unknown[];
  }

  /** The reply itself as a string, or null for nil. */
  nullableString(): string | null {
    const reply = this.#reply;
    if (reply === null || typeof reply === 'string') return reply;
    throw this.fail();
  }

  /** `items[index]`, which must be a string. */
  string(items: readonly unknown[], index: number): string {
    const value = items[index];
    if (typeof value !== 'string') throw this.fail();
    return value;
  }

  /** `items[index]`, which must be a string or nil. */
  stringOrNull(items: readonly unknown[], index: number): string | null {
    const value = items[index];
    if (value === null || typeof value === 'string') return value;
    throw this.fail();
  }

  /** `items[index]`, which must be an integer. */
  integer(items: readonly unknown[], index: number): number {
    const value = items[index];
    if (typeof value !== 'number' || !Number.isInteger(value)) throw this.fail();
    return value;
  }

  /** Every item from `start` on, each of which must be a string. */
  strings(items: readonly unknown[], start: number): string[] {
    const out: string[] = [];
    for (let i = start; i < items.length; i++) out.push(this.string(items, i));
    return out;
  }
}
