/**
 * The `ssehub` bin end to end: built with tsc, run with node as a user runs it, against the
 * shared redis-server and a fake gateway (test/helpers/fake-gateway.ts).
 */
import {
  spawn,
  execFileSync,
  type ChildProcess,
  type ChildProcessWithoutNullStreams,
} from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  ENSURE_META_SCRIPT,
  REDIS_PROTOCOL_VERSION,
  decodeEventId,
  isWellFormedEventId,
  metaKey,
  positionToStreamId,
  streamKey,
} from '@ssehub/protocol';
import { collectOutput, type ProcessResult } from '@ssehub/local-redis';
import { FakeGateway } from './helpers/fake-gateway.js';
import { childEnv } from './helpers/env.js';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(packageDir, 'dist', 'cli.js');
const redisUrl = inject('redisUrl');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment the CLI sees: none of the defaults it reads, so each test says what it uses. */
function cleanEnv(): NodeJS.ProcessEnv {
  return childEnv(['REDIS_URL', 'REDIS_PREFIX', 'REDIS_SHARDS', 'SSEHUB_TOKEN']);
}

function start(args: readonly string[]): ChildProcessWithoutNullStreams & {
  out: () => string;
  err: () => string;
  exited: Promise<ProcessResult>;
} {
  const child = spawn(process.execPath, [cli, ...args], { env: cleanEnv() });
  const { output, exited } = collectOutput(child);
  return Object.assign(child, { out: () => output.stdout, err: () => output.stderr, exited });
}

async function run(args: readonly string[], stdin?: string): Promise<Run> {
  const child = start(args);
  if (stdin !== undefined) child.stdin.end(stdin);
  // collectOutput waits for 'close' (not 'exit'), which comes after the last output.
  const { code } = await child.exited;
  return { code, stdout: child.out(), stderr: child.err() };
}

let gateway: FakeGateway;
let redis: Redis;
let prefix: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  // The bin is dist/cli.js: build it as `pnpm build` does.
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: packageDir,
    stdio: 'pipe',
  });
}, 180_000);

beforeEach(async () => {
  gateway = await FakeGateway.start();
  redis = new Redis(redisUrl);
  prefix = `cli${randomUUID().slice(0, 8)}`;
  // As a gateway does on start: the CLI's publisher has no settings and never creates the hash.
  await redis.eval(
    ENSURE_META_SCRIPT,
    1,
    metaKey({ prefix, shardCount: 1 }, 0),
    REDIS_PROTOCOL_VERSION,
    '1',
    'AbCd',
    '1',
    '10000',
    '3600000',
    '300000',
    '65536',
    '',
  );
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await gateway.close();
  redis.disconnect();
});

describe('ssehub publish', () => {
  it('publishes to Redis and prints the id of the stream entry', async () => {
    const r = await run([
      'publish',
      '/cli/test',
      'hello\nworld',
      '--event',
      'greet',
      '--redis-url',
      redisUrl,
      '--prefix',
      prefix,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(r.stdout).toBe(`${id}\n`);
    expect(isWellFormedEventId(id)).toBe(true);
    const [cursor] = decodeEventId(id);
    const entries = await redis.xrange(streamKey({ prefix, shardCount: 1 }, 0), '-', '+');
    expect(entries).toEqual([
      [positionToStreamId(cursor!.position), ['t', 'cli/test', 'e', 'greet', 'd', 'hello\nworld']],
    ]);
  });

  it('prints the first id again for a repeated idempotency key, and reads "-" from stdin', async () => {
    const args = ['--redis-url', redisUrl, '--prefix', prefix, '--idempotency-key', 'job-7'];
    const first = await run(['publish', 'jobs/7', '-', ...args], '{"done":true}');
    const again = await run(['publish', 'jobs/7', '-', ...args], '{"done":true}');
    expect(first.code).toBe(0);
    expect(again.stdout).toBe(first.stdout);
    const entries = await redis.xrange(streamKey({ prefix, shardCount: 1 }, 0), '-', '+');
    expect(entries.map(([, fields]) => fields)).toEqual([
      ['t', 'jobs/7', 'e', '', 'd', '{"done":true}'],
    ]);
  });

  it('publishes through a gateway with --url and --token', async () => {
    gateway.token = 'admin-t';
    const r = await run([
      'publish',
      '--url',
      gateway.url,
      '--token',
      'admin-t',
      '--idempotency-key',
      'k1',
      'news',
      '--',
      '-1',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('e1.0.1\n');
    const [req] = gateway.requests;
    expect(req!.headers.authorization).toBe('Bearer admin-t');
    expect(req!.headers['idempotency-key']).toBe('k1');
    expect(JSON.parse(req!.body)).toEqual({ topic: 'news', data: '-1' });
  });

  it('exits 1 with the error code and what to do on a failure', async () => {
    const invalid = await run(['publish', 'bad//topic', 'x', '--redis-url', redisUrl]);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toBe('');
    expect(invalid.stderr).toMatch(/^ssehub: INVALID_TOPIC: /);
    gateway.token = 'right';
    const refused = await run(['publish', 'a', 'x', '--url', gateway.url, '--token', 'wrong']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^ssehub: UNAUTHORIZED: .*token/);
  });
});

describe('usage', () => {
  it.each([[['--help']], [['publish', '--help']], [['subscribe', '-h']], [['help']]])(
    '%j prints help and exits 0',
    async (args) => {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: ssehub/);
      expect(r.stderr).toBe('');
    },
  );

  it.each([
    [[]],
    [['frobnicate']],
    [['publish']],
    [['publish', 'only-topic']],
    [['publish', 'a', 'b', 'c']],
    [['publish', 'a', 'b', '--bogus']],
    [['publish', 'a', 'b', '--event']],
    [['publish', 'a', 'b', '--url', 'http://x', '--redis-url', 'redis://x']],
    [['publish', 'a', 'b', '--url', 'http://x', '--prefix', 'p']],
    [['publish', 'a', 'b', '--shards', 'two']],
    [['subscribe']],
    [['subscribe', 'a', '--url', 'not a url']],
    [['subscribe', 'a', '--json=yes']],
  ])('%j exits 2 with the problem and the usage on stderr', async (args) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ssehub: .+\n\nUsage: ssehub/);
  });
});

describe('ssehub subscribe', () => {
  /** The first connection sends two events and an id-only block, then ends; later ones one event. */
  function streamTwice(): void {
    let connection = 0;
    gateway.override = (req, res) => {
      if (!req.url.startsWith('/subscribe')) return false;
      connection += 1;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'close',
      });
      if (connection === 1) {
        res.write(': ok\nretry: 50\nid: e0\n\n');
        res.write('id: e1\nevent: greet\ndata: hello\ndata: world\n\n');
        // CRLF line ends, and a frame split across writes.
        res.write('id: e2\r\ndata: back\\sla');
        res.end('sh\r\n\r\n: heartbeat\nid: e3\n\n');
      } else {
        res.write(`: ok\nretry: 50\n\nid: e${connection + 2}\ndata: after reconnect\n\n`);
      }
      return true;
    };
  }

  it('prints one line per event and resumes with Last-Event-ID after the server ends the stream', async () => {
    streamTwice();
    const child = start(['subscribe', 'pets/**', 'news', '--url', gateway.url]);
    children.push(child);
    await expect.poll(() => child.out().split('\n').length, { timeout: 10_000 }).toBe(4);
    expect(child.out()).toBe(
      ['e1 greet hello\\nworld', 'e2 message back\\\\slash', 'e4 message after reconnect', ''].join(
        '\n',
      ),
    );
    const [first, second] = gateway.requests;
    expect(first!.method).toBe('GET');
    expect(first!.url).toBe('/subscribe?topic=pets%2F**&topic=news');
    expect(first!.headers.accept).toBe('text/event-stream');
    expect(first!.headers['last-event-id']).toBeUndefined();
    // The id-only block after e2 moved the last event id to e3.
    expect(second!.headers['last-event-id']).toBe('e3');
    expect(child.err()).toMatch(/the server ended the stream; reconnecting in 50 ms/);
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
  });

  it('prints JSON lines with --json, and passes --last-event-id and --token', async () => {
    streamTwice();
    const child = start([
      'subscribe',
      'pets',
      '--json',
      '--url',
      `${gateway.url}/`,
      '--last-event-id',
      'earliest',
      '--token',
      'jwt',
    ]);
    children.push(child);
    await expect.poll(() => child.out().split('\n').length, { timeout: 10_000 }).toBe(4);
    const lines = child
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).toEqual([
      { id: 'e1', event: 'greet', data: 'hello\nworld' },
      { id: 'e2', event: 'message', data: 'back\\slash' },
      { id: 'e4', event: 'message', data: 'after reconnect' },
    ]);
    expect(gateway.requests[0]!.url).toBe('/subscribe?topic=pets&lastEventId=earliest');
    expect(gateway.requests[0]!.headers.authorization).toBe('Bearer jwt');
    child.kill('SIGINT');
    expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(0);
  });

  it("exits 1 with the gateway's error when the subscription is refused", async () => {
    gateway.override = (_req, res) => {
      const body = JSON.stringify({
        error: { code: 'FORBIDDEN', message: 'The token does not cover secret/**.' },
      });
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(body);
      return true;
    };
    const r = await run(['subscribe', 'secret/**', '--url', gateway.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'ssehub: subscribe failed: HTTP 403 FORBIDDEN: The token does not cover secret/**.\n',
    );
  });
});
