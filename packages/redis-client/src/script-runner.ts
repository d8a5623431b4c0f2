/**
 * Runs the protocol's Lua scripts by hash (EVALSHA), sending the source (EVAL) only when Redis
 * does not have it: a restarted or flushed Redis forgot its scripts and answers NOSCRIPT. One
 * runner per connection; it remembers each script's SHA1.
 */
import { createHash } from 'node:crypto';
import type { Script, ScriptCall } from '@ssehub/protocol/scripts';

/** What the runner needs of a Redis connection: an ioredis `Redis` or `Cluster` has both. */
export interface ScriptClient {
  /** `EVALSHA sha numKeys key... arg...`: rejects with a `NOSCRIPT` error when it is not cached. */
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  /** `EVAL source numKeys key... arg...`: runs the source, and caches it under its SHA1. */
  eval(source: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

/** EVALSHA with a NOSCRIPT fallback, on one connection. */
export class ScriptRunner {
  readonly #client: ScriptClient;
  /** SHA1 of each source, for EVALSHA. */
  readonly #shas = new Map<string, string>();

  /** @param client - The connection the scripts run on. */
  constructor(client: ScriptClient) {
    this.#client = client;
  }

  /**
   * Runs `source` with the call's keys and arguments and resolves to the raw reply. Errors are
   * Redis's (or the connection's), as they are; NOSCRIPT is handled here.
   */
  async evaluate(source: string, call: ScriptCall): Promise<unknown> {
    let sha = this.#shas.get(source);
    if (sha === undefined) {
      sha = createHash('sha1').update(source).digest('hex');
      this.#shas.set(source, sha);
    }
    try {
      return await this.#client.evalsha(sha, call.keys.length, ...call.keys, ...call.args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.#client.eval(source, call.keys.length, ...call.keys, ...call.args);
    }
  }

  /** Builds the script's call from `input`, runs it, and parses (checks) the reply. */
  async run<TInput, TReply>(script: Script<TInput, TReply>, input: TInput): Promise<TReply> {
    return script.parse(await this.evaluate(script.source, script.call(input)));
  }
}
