#!/usr/bin/env node
/**
 * The `ssehub` CLI for operators (SPEC.md section 8): `ssehub publish` through Redis or a
 * gateway's publish route, and `ssehub subscribe`, which prints a gateway's stream the way an
 * `EventSource` receives it. This is the process entry point, so it alone reads `process`.
 *
 * Exit codes: 0 success (and Ctrl-C on `subscribe`), 1 failure, 2 usage error.
 */
import http from 'node:http';
import https from 'node:https';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { PublisherError } from './errors.js';
import { createHttpPublisher } from './http-publisher.js';
import { createPublisher } from './publisher.js';
import type { Publisher } from './types.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

const MAIN_HELP = `Usage: ssehub <command> [options]

Commands:
  publish <topic> <data>   Publish one event; prints its id.
  subscribe <pattern>...   Print a gateway's events as they arrive, until Ctrl-C.

Run "ssehub <command> --help" for a command's options.
`;

const PUBLISH_HELP = `Usage: ssehub publish <topic> <data> [options]

Publishes one event and prints its id. <data> is sent verbatim as the event's text; "-" reads
it from stdin. For data that starts with "-", put the options first and "--" before the data:
  ssehub publish --url http://localhost:9090 counters/a -- -1

Straight to the deployment's Redis (the default):
  --redis-url URL           Redis URL (default: $REDIS_URL, else redis://localhost:6379)
  --prefix P                The deployment's REDIS_PREFIX (default: $REDIS_PREFIX, else ssehub)
  --shards N                The deployment's REDIS_SHARDS (default: $REDIS_SHARDS, else 1)

Through a gateway's publish route (POST <url>/publish):
  --url URL                 Gateway admin URL, for example http://localhost:9090
  --token T                 Bearer token: ADMIN_TOKEN or a JWT (default: $SSEHUB_TOKEN)

Event:
  --event NAME              SSE event name (default: none, browsers see "message")
  --idempotency-key KEY     A repeat with the same key stores nothing and prints the first id

  -h, --help                Show this help

Examples:
  ssehub publish orders/42 '{"status":"shipped"}' --event status
  ssehub publish news/today 'Hello' --url http://localhost:9090 --token "$ADMIN_TOKEN"
`;

const SUBSCRIBE_HELP = `Usage: ssehub subscribe <pattern>... [options]

Opens GET <url>/subscribe?topic=<pattern> and prints each event on one line:
  <id> <event name> <data>
with "\\n", "\\r" and "\\\\" escaped in the data. Reconnects like EventSource (after the
server's retry: delay, sending Last-Event-ID) until Ctrl-C.

Options:
  --url URL                 Gateway public URL (default: http://localhost:8080)
  --last-event-id ID        Resume after this id ("earliest" replays the retained history)
  --token T                 Bearer token, a JWT (default: $SSEHUB_TOKEN)
  --json                    One JSON object per line: {"id","event","data"}
  -h, --help                Show this help

Examples:
  ssehub subscribe 'pets/**'
  ssehub subscribe orders/42 --url https://sse.example.com --json
`;

class UsageError extends Error {
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

function parse(
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  help: string,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    return { values, positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), help);
  }
}

function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function publish(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      event: { type: 'string' },
      'idempotency-key': { type: 'string' },
      'redis-url': { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      prefix: { type: 'string' },
      shards: { type: 'string' },
    },
    PUBLISH_HELP,
  );
  if (values['help'] === true) {
    process.stdout.write(PUBLISH_HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new UsageError(
      `publish takes a topic and the data (got ${positionals.length} arguments).`,
      PUBLISH_HELP,
    );
  }
  const [topic = '', rawData = ''] = positionals;
  const url = str(values['url']);
  const redisUrl = str(values['redis-url']);
  if (url !== undefined && redisUrl !== undefined) {
    throw new UsageError(
      'Pass either --redis-url (straight to Redis) or --url (through a gateway), not both.',
      PUBLISH_HELP,
    );
  }
  const prefix = str(values['prefix']);
  const shardsText = str(values['shards']);
  if (url !== undefined && (prefix !== undefined || shardsText !== undefined)) {
    throw new UsageError(
      '--prefix and --shards apply to Redis only; the gateway knows its own.',
      PUBLISH_HELP,
    );
  }
  const token = str(values['token']) ?? process.env['SSEHUB_TOKEN'];
  if (url === undefined && str(values['token']) !== undefined) {
    throw new UsageError('--token applies to --url (a gateway) only.', PUBLISH_HELP);
  }
  let shards: number | undefined;
  const shardsValue = shardsText ?? process.env['REDIS_SHARDS'];
  if (shardsValue !== undefined && shardsValue !== '') {
    shards = Number(shardsValue);
    if (!/^\d+$/.test(shardsValue)) {
      throw new UsageError(
        `--shards is "${shardsValue}"; pass an integer from 1 to 16.`,
        PUBLISH_HELP,
      );
    }
  }
  const data = rawData === '-' ? await readStdin() : rawData;
  let publisher: Publisher;
  if (url !== undefined) {
    publisher = createHttpPublisher({ url, token: token === '' ? undefined : token });
  } else {
    const envPrefix = process.env['REDIS_PREFIX'];
    publisher = createPublisher({
      redis: redisUrl ?? process.env['REDIS_URL'] ?? 'redis://localhost:6379',
      prefix: prefix ?? (envPrefix === '' ? undefined : envPrefix),
      shards,
    });
  }
  try {
    const id = await publisher.publish(topic, data, {
      event: str(values['event']),
      idempotencyKey: str(values['idempotency-key']),
    });
    process.stdout.write(`${id}\n`);
    return 0;
  } finally {
    await publisher.close();
  }
}

/** One event as an `EventSource` dispatches it. */
interface SseEvent {
  readonly id: string;
  readonly event: string;
  readonly data: string;
}

/**
 * The SSE parser of the HTML standard ("Interpreting an event stream"): any line end, comments,
 * `data` joined with `\n`, `id` kept across events (and set by an `id:`-only block), `retry`.
 */
class SseParser {
  #buffer = '';
  #skipLf = false;
  #started = false;
  #data = '';
  #event = '';
  #idBuffer = '';
  /** The last event ID string, sent as `Last-Event-ID` on a reconnect. */
  lastEventId = '';

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly onRetry: (ms: number) => void,
  ) {}

  push(chunk: string): void {
    let text = chunk;
    if (!this.#started && text !== '') {
      this.#started = true;
      if (text.startsWith('\ufeff')) text = text.slice(1);
    }
    let start = 0;
    if (this.#skipLf && text.startsWith('\n')) start = 1;
    this.#skipLf = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.#buffer + text.slice(start, i);
      this.#buffer = '';
      if (c === 13) {
        if (i + 1 === text.length) this.#skipLf = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      this.#line(line);
    }
    this.#buffer += text.slice(start);
  }

  /** A new connection: an unfinished line or event of the old one is dropped. */
  reset(): void {
    this.#buffer = '';
    this.#skipLf = false;
    this.#started = false;
    this.#data = '';
    this.#event = '';
  }

  #line(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data += `${value}\n`;
        break;
      case 'id':
        if (!value.includes('\0')) this.#idBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.onRetry(Number(value));
        break;
      default:
        break;
    }
  }

  #dispatch(): void {
    this.lastEventId = this.#idBuffer;
    if (this.#data === '') {
      this.#event = '';
      return;
    }
    const data = this.#data.slice(0, -1);
    const event = this.#event === '' ? 'message' : this.#event;
    this.#data = '';
    this.#event = '';
    this.onEvent({ id: this.lastEventId, event, data });
  }
}

function escapeData(data: string): string {
  return data.replace(/[\\\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : '\\r'));
}

function subscribeUrl(base: string, patterns: readonly string[], lastEventId?: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(
      `--url is "${base}", which is not a URL; for example http://localhost:8080.`,
      SUBSCRIBE_HELP,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url must be an http:// or https:// URL.`, SUBSCRIBE_HELP);
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/subscribe`;
  for (const p of patterns) url.searchParams.append('topic', p);
  if (lastEventId !== undefined) url.searchParams.set('lastEventId', lastEventId);
  return url;
}

/** Why one connection ended. */
type Ended =
  { kind: 'ended' } | { kind: 'retry'; reason: string } | { kind: 'fatal'; reason: string };

async function subscribe(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      url: { type: 'string' },
      'last-event-id': { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
    },
    SUBSCRIBE_HELP,
  );
  if (values['help'] === true) {
    process.stdout.write(SUBSCRIBE_HELP);
    return 0;
  }
  if (positionals.length === 0) {
    throw new UsageError('subscribe takes at least one topic pattern.', SUBSCRIBE_HELP);
  }
  const url = subscribeUrl(
    str(values['url']) ?? 'http://localhost:8080',
    positionals,
    str(values['last-event-id']),
  );
  const token = str(values['token']) ?? process.env['SSEHUB_TOKEN'];
  const json = values['json'] === true;

  let retryMs = 3000;
  // An object, not a let: the signal handlers set it while the loop awaits.
  const run = { stopped: false };
  const isStopped = (): boolean => run.stopped;
  let current: http.ClientRequest | undefined;
  let currentRes: http.IncomingMessage | undefined;
  let wake = (): void => undefined;
  const stop = (): void => {
    run.stopped = true;
    current?.destroy();
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // `ssehub subscribe … | head`: a closed stdout ends the command quietly.
  process.stdout.on('error', stop);

  const parser = new SseParser(
    (e) => {
      const line = json
        ? JSON.stringify(e)
        : `${e.id === '' ? '-' : e.id} ${e.event} ${escapeData(e.data)}`;
      // Backpressure: a slow reader (a pipe) pauses the stream instead of buffering it all.
      const res = currentRes;
      if (!process.stdout.write(`${line}\n`) && res !== undefined) {
        res.pause();
        process.stdout.once('drain', () => {
          res.resume();
        });
      }
    },
    (ms) => {
      retryMs = ms;
    },
  );

  const connect = (): Promise<Ended> =>
    new Promise<Ended>((resolve) => {
      const headers: Record<string, string> = {
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
      };
      if (parser.lastEventId !== '') headers['last-event-id'] = parser.lastEventId;
      if (token !== undefined && token !== '') headers['authorization'] = `Bearer ${token}`;
      const transport = url.protocol === 'https:' ? https : http;
      parser.reset();
      const req = transport.request(url, { headers, agent: false });
      current = req;
      req.on('error', (err) => {
        resolve({ kind: 'retry', reason: err.message });
      });
      req.on('response', (res) => {
        const type = res.headers['content-type'] ?? '';
        if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (body.length < 4096) body += chunk;
          });
          res.on('end', () => {
            resolve({ kind: 'fatal', reason: describeRefusal(res.statusCode ?? 0, type, body) });
          });
          res.on('error', (err) => {
            resolve({ kind: 'fatal', reason: `HTTP ${res.statusCode ?? 0}: ${err.message}` });
          });
          return;
        }
        currentRes = res;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          parser.push(chunk);
        });
        res.on('end', () => {
          resolve({ kind: 'ended' });
        });
        res.on('error', (err) => {
          resolve({ kind: 'retry', reason: err.message });
        });
        res.on('close', () => {
          resolve({ kind: 'retry', reason: 'the connection closed' });
        });
      });
      req.end();
    });

  try {
    while (!isStopped()) {
      const ended = await connect();
      current = undefined;
      currentRes = undefined;
      if (isStopped()) break;
      if (ended.kind === 'fatal') {
        process.stderr.write(`ssehub: subscribe failed: ${ended.reason}\n`);
        return EXIT_FAILURE;
      }
      const why = ended.kind === 'ended' ? 'the server ended the stream' : ended.reason;
      process.stderr.write(`ssehub: ${why}; reconnecting in ${retryMs} ms\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => undefined;
    }
    return 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stdout.off('error', stop);
  }
}

function describeRefusal(status: number, type: string, body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const code = parsed.error?.code;
    const message = parsed.error?.message;
    if (typeof code === 'string') {
      return `HTTP ${status} ${code}${typeof message === 'string' ? `: ${message}` : ''}`;
    }
  } catch {
    // Not the gateway's JSON error: described below.
  }
  if (status === 200) {
    return `the answer is ${type === '' ? 'not typed' : type}, not text/event-stream; check that --url is the gateway's public URL`;
  }
  return `HTTP ${status}${body === '' ? '' : `: ${body.slice(0, 200)}`}`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'publish':
        return await publish(rest);
      case 'subscribe':
        return await subscribe(rest);
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(MAIN_HELP);
        return 0;
      case undefined:
        throw new UsageError('a command is required.', MAIN_HELP);
      default:
        throw new UsageError(`unknown command "${command}".`, MAIN_HELP);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ssehub: ${err.message}\n\n${err.help}`);
      return EXIT_USAGE;
    }
    if (err instanceof PublisherError) {
      process.stderr.write(`ssehub: ${err.code}: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    process.stderr.write(`ssehub: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}

process.exitCode = await main(process.argv.slice(2));
