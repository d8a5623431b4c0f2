/**
 * `ssehub subscribe <pattern>...`: prints a gateway's events as an `EventSource` receives them,
 * reconnecting with the last event id like one, until Ctrl-C.
 */
import http from 'node:http';
import https from 'node:https';
import { SseParser } from './sse-parser.js';
import { EXIT_FAILURE, UsageError, parse, str } from './usage.js';

/** `ssehub subscribe --help`. */
export const SUBSCRIBE_HELP = `Usage: ssehub subscribe <pattern>... [options]

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

/** Runs `ssehub subscribe`; resolves to the exit code (0 on Ctrl-C). */
export async function subscribe(args: string[]): Promise<number> {
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
