/**
 * `ssehub publish <topic> <data>`: publishes one event through Redis (`--redis-url`, the same
 * script as the gateway) or a gateway's publish route (`--url`), and prints its id.
 */
import { createHttpPublisher } from '../http-publisher.js';
import { createPublisher } from '../publisher.js';
import type { Publisher } from '../types.js';
import { UsageError, parse, str } from './usage.js';

/** `ssehub publish --help`. */
export const PUBLISH_HELP = `Usage: ssehub publish <topic> <data> [options]

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

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs `ssehub publish`; resolves to the exit code. */
export async function publish(args: string[]): Promise<number> {
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
