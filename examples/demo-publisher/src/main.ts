#!/usr/bin/env node
/**
 * The demo backend publisher (docker-compose's demo service): the time every second on `time`,
 * a random pet event every ~2 s under `pets/…`, and a per-user message every ~3 s under
 * `users/<id>/inbox`.
 *
 * Environment: `REDIS_URL` (publish straight to Redis, with `REDIS_PREFIX`, default `ssehub`,
 * and `REDIS_SHARDS`, default 1), or `GATEWAY_URL` and `ADMIN_TOKEN` (publish through a
 * gateway's admin port). Stops cleanly on SIGINT or SIGTERM.
 */
import {
  createHttpPublisher,
  createPublisher,
  PublisherError,
  type Publisher,
  type PublishOptions,
} from '@ssehub/publisher';

function makePublisher(env: NodeJS.ProcessEnv): { publisher: Publisher; target: string } {
  const redisUrl = env['REDIS_URL'];
  const gatewayUrl = env['GATEWAY_URL'];
  const retry = { attempts: 3, baseDelayMs: 100, maxDelayMs: 1000 };
  if (redisUrl !== undefined && redisUrl !== '') {
    const prefix = env['REDIS_PREFIX'] ?? 'ssehub';
    const shards = Number(env['REDIS_SHARDS'] ?? '1');
    return {
      // `settings: {}`: the demo may start before any gateway (compose, pnpm stack), so it may
      // create a missing meta hash with the gateway defaults; a gateway applies its own
      // settings when it starts (SPEC 9). Without it, publishes would fail NOT_INITIALIZED.
      publisher: createPublisher({ redis: redisUrl, prefix, shards, retry, settings: {} }),
      target: `Redis ${redisUrl} (prefix ${prefix})`,
    };
  }
  if (gatewayUrl !== undefined && gatewayUrl !== '') {
    const token = env['ADMIN_TOKEN'];
    return {
      publisher: createHttpPublisher({
        url: gatewayUrl,
        ...(token === undefined || token === '' ? {} : { token }),
        retry,
      }),
      target: `gateway ${gatewayUrl}`,
    };
  }
  throw new Error('Set REDIS_URL, or GATEWAY_URL and ADMIN_TOKEN.');
}

const PETS = ['dogs', 'cats', 'birds'] as const;
const NAMES = ['Rex', 'Luna', 'Milo', 'Bella', 'Kiwi', 'Tweety', 'Felix', 'Nala'];

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

function main(): void {
  let setup: { publisher: Publisher; target: string };
  try {
    setup = makePublisher(process.env);
  } catch (err) {
    console.error(`demo-publisher: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 2;
    return;
  }
  const { publisher, target } = setup;
  console.log(`demo-publisher: publishing to ${target}`);
  let counter = 0;

  const send = (topic: string, data: unknown, options: PublishOptions): void => {
    publisher.publish(topic, data, options).then(
      (id) => {
        console.log(`${new Date().toISOString()} ${topic} ${options.event ?? 'message'} ${id}`);
      },
      (err: unknown) => {
        const code = err instanceof PublisherError ? err.code : 'ERROR';
        if (code === 'CLOSED') return;
        console.error(`${new Date().toISOString()} ${topic} failed: ${code} ${String(err)}`);
      },
    );
  };

  const timers = [
    setInterval(() => {
      send('time', new Date().toISOString(), { event: 'tick' });
    }, 1000),
    setInterval(() => {
      const kind = pick(PETS);
      const isNew = Math.random() < 0.5;
      send(
        `pets/${kind}`,
        {
          id: ++counter,
          name: pick(NAMES),
          kind,
          ...(isNew ? {} : { mood: pick(['happy', 'sleepy', 'hungry']) }),
        },
        { event: isNew ? 'new-pet' : 'pet-update' },
      );
    }, 2000),
    setInterval(() => {
      const user = 1 + Math.floor(Math.random() * 5);
      send(
        `users/${user}/inbox`,
        {
          from: pick(NAMES),
          text: `Hello user ${user} (#${++counter})`,
          at: new Date().toISOString(),
        },
        { event: 'message' },
      );
    }, 3000),
  ];
  // The first tick at once.
  send('time', new Date().toISOString(), { event: 'tick' });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`demo-publisher: ${signal}, stopping`);
    for (const t of timers) clearInterval(t);
    publisher.close().then(
      () => {
        process.exitCode = 0;
      },
      (err: unknown) => {
        console.error(`demo-publisher: close failed: ${String(err)}`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', () => {
    stop('SIGINT');
  });
  process.once('SIGTERM', () => {
    stop('SIGTERM');
  });
}

main();
