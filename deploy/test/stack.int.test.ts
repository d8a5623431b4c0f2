/**
 * The no-Docker local stack end to end (SPEC 11): the same `startStack()` that `pnpm stack`
 * runs, with a real redis-server, three gateway processes and a real load balancer (Debian's
 * nginx with deploy/nginx/ssehub.conf, or the Node TCP balancer). EventSource clients subscribe
 * through the balancer while a gateway is killed (or drained) and restarted: every event that
 * was accepted reaches every client exactly once and in order.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../src/stack/stack.js';
import type { LoadBalancerKind } from '../src/stack/load-balancer.js';
import { connectionsOf, SequencePublisher, Subscriber, waitUntil } from './helpers/traffic.js';

let stack: Stack | undefined;
const subscribers: Subscriber[] = [];

afterEach(async () => {
  for (const s of subscribers.splice(0)) s.close();
  await stack?.stop();
  stack = undefined;
});

function subscribe(url: string): Subscriber {
  const subscriber = new Subscriber(url);
  subscribers.push(subscriber);
  return subscriber;
}

async function start(balancer: LoadBalancerKind, demoPublisher = false): Promise<Stack> {
  stack = await startStack({
    port: 0,
    balancer,
    demoPublisher,
    prefix: `stack${Math.random().toString(36).slice(2, 10)}`,
  });
  return stack;
}

it('serves the demo publisher`s time through nginx, unbuffered', async () => {
  const s = await start('nginx', true);
  expect(s.balancer.kind).toBe('nginx');
  const res = await fetch(`${s.url}/subscribe/time`, { headers: { accept: 'text/event-stream' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const body = res.body;
  if (body === null) throw new Error('no body');
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  // Each tick must arrive on its own, a second apart: a buffering proxy would hold them.
  const arrivals: number[] = [];
  let text = '';
  while (arrivals.length < 2) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended: ${text}`);
    text += value;
    const ticks = text.split('event: tick\n').length - 1;
    while (arrivals.length < ticks) arrivals.push(Date.now());
  }
  await reader.cancel();
  expect(text.startsWith(': ok\n')).toBe(true);
  const [first = 0, second = 0] = arrivals;
  expect(second - first).toBeGreaterThan(500);
});

describe.each([
  { balancer: 'nginx', signal: 'SIGKILL' },
  { balancer: 'nginx', signal: 'SIGTERM' },
  { balancer: 'node', signal: 'SIGKILL' },
] as const)(
  'through $balancer, a gateway stopped with $signal and started again',
  ({ balancer, signal }) => {
    it('delivers every accepted event to every EventSource exactly once, in order', async () => {
      const s = await start(balancer);
      expect(s.balancer.kind).toBe(balancer);
      const [g1, g2, g3] = s.gateways;
      if (g1 === undefined || g2 === undefined || g3 === undefined) throw new Error('3 gateways');

      // 12 clients: the balancer spreads them, so about 4 are on the gateway that goes down.
      const clients = Array.from({ length: 12 }, () => subscribe(`${s.url}/subscribe/e2e`));
      await waitUntil(() => clients.every((c) => c.opens === 1), 'every client open');
      expect(await connectionsOf(g2.adminUrl)).toBeGreaterThan(0);

      // Publish over the admin ports of the gateways that stay up.
      const publisher = new SequencePublisher(() => [g1.adminUrl, g3.adminUrl], 'e2e/seq');
      await waitUntil(() => publisher.accepted.length >= 20, 'events before the stop');
      const exit = await g2.stop(signal);
      expect(exit?.code ?? exit?.signal).toBe(signal === 'SIGTERM' ? 0 : 'SIGKILL');
      await waitUntil(() => publisher.accepted.length >= 80, 'events while it is down');
      await g2.start();
      // New clients reach the restarted gateway again (it has the fewest connections) once the
      // balancer stops leaving it out (5 s after its last failed connection): open one every
      // 500 ms until one is there.
      const late: Subscriber[] = [];
      let lastOpen = 0;
      await waitUntil(
        async () => {
          if ((await connectionsOf(g2.adminUrl)) > 0) return true;
          if (Date.now() - lastOpen >= 500) {
            lastOpen = Date.now();
            late.push(subscribe(`${s.url}/subscribe/e2e`));
          }
          return false;
        },
        'a client on the restarted gateway',
        30_000,
      );
      await waitUntil(() => late.every((c) => c.opens === 1), 'the late clients open');
      // Events after the restart, which the late clients get too.
      const target = publisher.accepted.length + 40;
      await waitUntil(() => publisher.accepted.length >= target, 'events after the restart');
      await publisher.stop();

      const accepted = publisher.accepted;
      expect(publisher.refused).toEqual([]);
      await waitUntil(
        () => clients.every((c) => c.received.length >= accepted.length),
        'every client to catch up',
      );
      for (const client of clients) expect(client.received).toEqual(accepted);
      // The clients that were on the stopped gateway reconnected (and resumed from history).
      const reconnected = clients.filter((c) => c.opens > 1);
      expect(reconnected.length).toBeGreaterThan(0);
      expect(reconnected.length).toBeLessThan(clients.length);
      // The late clients get what was published after they opened: a suffix, in order.
      for (const client of late) {
        const first = client.received[0];
        expect(first).toBeDefined();
        expect(client.received).toEqual(accepted.slice(accepted.indexOf(first ?? '')));
      }
    });
  },
);
