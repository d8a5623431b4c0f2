/**
 * What every script module of this folder exports: the Lua source, a pure builder of the call's
 * KEYS and ARGV from typed input, and a parser that checks the reply's shape at run time. A
 * script's arguments then change in two places only: its `.lua` file and its module here.
 */

/** The KEYS and ARGV of one script call, in the order EVALSHA takes them. */
export interface ScriptCall {
  /** `KEYS[1..]`: every key the script touches (all on one shard's hash tag). */
  readonly keys: readonly string[];
  /** `ARGV[1..]`, as strings. */
  readonly args: readonly string[];
}

/** One Lua script of the ssehub protocol. */
export interface Script<TInput, TReply> {
  /** The script's file name without `.lua` (`publish`), for messages. */
  readonly name: string;
  /** The Lua source sent with EVAL; its SHA1 is its EVALSHA name. */
  readonly source: string;
  /** The call for `input`. Pure: no I/O, no clock, no randomness (pass those in `input`). */
  call(input: TInput): ScriptCall;
  /**
   * The reply as a typed value.
   * @throws {@link ScriptReplyError} when the reply has another shape than the script's header
   *   documents.
   */
  parse(reply: unknown): TReply;
}

/** The reply of a script that found the shard's meta hash missing (Redis lost its data). */
export interface NoMetaReply {
  readonly kind: 'nometa';
}

/**
 * A script replied with a shape it never sends: another program wrote the keys, or this Redis
 * runs another version of the scripts. Thrown instead of trusting the reply.
 */
export class ScriptReplyError extends Error {
  /** The script's name (`publish`). */
  readonly script: string;
  /** The reply as received. */
  readonly reply: unknown;

  /**
   * @param script - The script's name.
   * @param reply - The reply as received.
   * @param expected - What the reply should have been, for the message.
   */
  constructor(script: string, reply: unknown, expected: string) {
    super(
      `unexpected reply from the ${script} script: ${describe(reply)}; expected ${expected}. Another program or ssehub version may be writing this Redis.`,
    );
    // Set explicitly (not from new.target) so the name survives minification.
    this.name = 'ScriptReplyError';
    this.script = script;
    this.reply = reply;
  }
}

/** A short, safe rendering of a reply for the message (replies can hold event data). */
function describe(reply: unknown): string {
  let text: string;
  try {
    // JSON.stringify gives undefined (whatever its declared type) for undefined, a function or
    // a symbol; String() renders those.
    text =
      reply === undefined || typeof reply === 'function' || typeof reply === 'symbol'
        ? String(reply)
        : JSON.stringify(reply);
  } catch {
    text = String(reply);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
