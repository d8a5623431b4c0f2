/**
 * Thousands of SSE clients in a child process (storm-clients.mjs), for the replica-kill test:
 * they open on one replica, and when it dies resume on the others like an EventSource does. A
 * child keeps their sockets out of the test runner's file descriptors (20 000 per process here)
 * and off its event loop.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./storm-clients.mjs', import.meta.url));

export interface StormOptions {
  /** Public URL the clients open on first, then the URLs they resume on, alternating. */
  readonly urls: readonly [string, string, string];
  readonly clients: number;
  /** Client `i` subscribes to `/subscribe/<topics[i % topics.length]>`. */
  readonly topics: readonly string[];
  /**
   * Pause before a reconnect, in ms. @defaultValue the last `retry:` received, like an
   * EventSource (the gateway sends 2000 to 3000 ms, random per stream)
   */
  readonly reconnectDelayMs?: number;
  /** Connections opening at once on the first URL. @defaultValue 200 */
  readonly concurrency?: number;
}

export interface StormProgress {
  readonly type: 'progress';
  /** Clients that got `: ok` on the first URL. */
  readonly openOnFirst: number;
  /** Clients whose current connection has its `: ok`. */
  readonly openNow: number;
  /** Clients whose current connection is open on a resume URL. */
  readonly resumedOpen: number;
  /** The same by URL index (0 stays 0). */
  readonly resumedBy: readonly number[];
  /** Clients whose Last-Event-ID is an `id:`-only block's (heartbeat), ahead of their last event. */
  readonly idOnlyAhead: number;
  /** Fewest events any client has received. */
  readonly minEvents: number;
  readonly problemCount: number;
}

export interface StormResult {
  readonly type: 'result';
  readonly clients: number;
  /** Events received over every client. */
  readonly delivered: number;
  /** (client, published event of its topic) pairs never received. */
  readonly lost: number;
  /** Events a client received more than once. */
  readonly repeated: number;
  /** Events whose id was not published on the client's topic. */
  readonly unexpected: number;
  /** Clients whose ids differ from the published ids of their topic (in order). */
  readonly clientsMismatched: number;
  /** Clients that got `: ok` on a resume URL at least once. */
  readonly resumedOnce: number;
  readonly resumedOpen: number;
  readonly resumedBy: readonly number[];
  /** Not-ready answers and failed connections while resuming. */
  readonly retries: number;
  /** Connection attempts whose Last-Event-ID came from an `id:`-only block (heartbeat). */
  readonly resumesFromIdOnly: number;
  readonly drainMs: number;
  /** Protocol problems (unexpected endings, wrong opening ids, resets…); the first 50 are listed. */
  readonly problemCount: number;
  readonly problems: readonly string[];
}

type FromChild =
  | StormProgress
  | StormResult
  | { readonly type: 'open' }
  | { readonly type: 'error'; readonly message: string };

export class StormClients {
  readonly #child: ChildProcess;
  readonly #waiters: { type: string; resolve: (m: FromChild) => void }[] = [];
  #failure: Error | undefined;
  readonly #exited: Promise<void>;

  private constructor(options: StormOptions) {
    this.#child = fork(SCRIPT, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#fail(new Error(`storm clients exited (code ${code}, signal ${signal})`));
        resolve();
      });
    });
    this.#child.on('message', (message: FromChild) => {
      if (message.type === 'error') {
        this.#fail(new Error(`storm clients: ${message.message}`));
        return;
      }
      const index = this.#waiters.findIndex((w) => w.type === message.type);
      if (index === -1) return;
      const [waiter] = this.#waiters.splice(index, 1);
      waiter?.resolve(message);
    });
    this.#child.send({ type: 'start', concurrency: 200, ...options });
  }

  /** Forks the clients; they start opening at once. */
  static start(options: StormOptions): StormClients {
    return new StormClients(options);
  }

  /** Resolves once every client has its `: ok` on the first URL. */
  async opened(timeoutMs: number): Promise<void> {
    await this.#next('open', timeoutMs);
  }

  async progress(): Promise<StormProgress> {
    this.#child.send({ type: 'progress' });
    return (await this.#next('progress', 10_000)) as StormProgress;
  }

  /** Tells the clients that their streams on the first URL may end from now on. */
  killing(): void {
    this.#child.send({ type: 'killing' });
  }

  /**
   * Waits (up to `drainMs`) until every client has as many events as were published on its
   * topic, then compares them with `published` (topic → ids in publish order).
   */
  async finish(published: Readonly<Record<string, readonly string[]>>, drainMs: number) {
    this.#child.send({ type: 'finish', published, drainMs });
    return (await this.#next('result', drainMs + 30_000)) as StormResult;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      if (this.#child.connected) this.#child.send({ type: 'stop' });
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
      await this.#exited;
      clearTimeout(timer);
    }
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ type: 'error', message: '' });
  }

  #next(type: FromChild['type'], timeoutMs: number): Promise<FromChild> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`storm clients: no ${type} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push({
        type,
        resolve: (message) => {
          clearTimeout(timer);
          if (message.type === 'error') reject(this.#failure ?? new Error('storm clients failed'));
          else resolve(message);
        },
      });
    });
  }
}
