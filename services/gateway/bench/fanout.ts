/**
 * `pnpm bench`: fan-out throughput and memory per connection of the gateway, against a baseline
 * measured in the same run: a bare Node HTTP server that writes one precomputed frame to every
 * open response (no matching, no ids, no bounds). The ratio says how much of Node's own fan-out
 * speed the gateway keeps; absolute numbers depend on this shared 2-core machine.
 *
 * Settings (environment): BENCH_CLIENTS (default 1000), BENCH_EVENTS (default 2000),
 * BENCH_PAYLOAD_BYTES (default 100), BENCH_ROUNDS (default 3; the round with the least server CPU per delivery counts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { createGateway } from '../src/index.js';

const CLIENTS = Number(process.env['BENCH_CLIENTS'] ?? 1000);
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 2000);
const PAYLOAD = 'x'.repeat(Number(process.env['BENCH_PAYLOAD_BYTES'] ?? 100));
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
/** Events published per event-loop turn, so writes interleave with socket I/O as in production. */
const BATCH = 100;

interface Target {
  readonly name: string;
  readonly url: string;
  publish(index: number): Promise<void> | void;
  close(): Promise<void>;
}

interface Result {
  readonly name: string;
  readonly deliveriesPerSec: number;
  readonly heapBytesPerConnection: number;
  /** Server CPU (user + system) per 1000 deliveries, in microseconds. */
  readonly cpuMicrosPer1000: number;
}

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

async function gatewayTarget(): Promise<Target> {
  const gateway = createGateway({
    logLevel: 'silent',
    port: 0,
    adminPort: 0,
    heartbeatMs: 60_000,
    keepAliveTimeoutMs: 65_000,
    maxConnectionsPerIp: 100_000,
  });
  await gateway.ready();
  const handle = gateway.callback();
  const server = http.createServer((req, res) => void handle(req, res));
  const url = `${await listen(server)}/subscribe/bench`;
  return {
    name: 'ssehub gateway',
    url,
    publish: async () => {
      await gateway.publish('bench/load', PAYLOAD, { event: 'tick' });
    },
    close: async () => {
      await gateway.close();
      await closeServer(server);
    },
  };
}

async function baselineTarget(): Promise<Target> {
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'close' });
    res.write(': ok\n\n');
    open.add(res);
    res.on('close', () => open.delete(res));
  });
  const url = await listen(server);
  return {
    name: 'bare node baseline',
    url,
    publish: (index) => {
      const frame = `id: ${index}\nevent: tick\ndata: ${PAYLOAD}\n\n`;
      for (const res of open) res.write(frame);
    },
    close: () => closeServer(server),
  };
}

function clients(): ChildProcess {
  return fork(join(import.meta.dirname, 'sse-clients.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function nextMessage(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>): void => {
      if (m['type'] === 'error') reject(new Error(String(m['message'])));
      if (m['type'] !== type) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
  });
}

function heapUsed(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

async function measure(makeTarget: () => Promise<Target>): Promise<Result> {
  const target = await makeTarget();
  const heapBefore = heapUsed();
  const child = clients();
  const opened = nextMessage(child, 'open');
  child.send({ url: target.url, clients: CLIENTS, expectedPerClient: EVENTS });
  await opened;
  const heapPerConnection = (heapUsed() - heapBefore) / CLIENTS;
  const done = nextMessage(child, 'done');
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < EVENTS; i++) {
    await target.publish(i);
    if (i % BATCH === BATCH - 1) await yieldToLoop();
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  child.kill();
  await target.close();
  return {
    name: target.name,
    deliveriesPerSec: Math.round((CLIENTS * EVENTS) / seconds),
    heapBytesPerConnection: Math.round(heapPerConnection),
    cpuMicrosPer1000: Math.round(((cpu.user + cpu.system) / (CLIENTS * EVENTS)) * 1000),
  };
}

async function best(makeTarget: () => Promise<Target>): Promise<Result> {
  let top: Result | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const r = await measure(makeTarget);
    if (top === undefined || r.cpuMicrosPer1000 < top.cpuMicrosPer1000) top = r;
  }
  if (top === undefined) throw new Error('BENCH_ROUNDS must be at least 1');
  return top;
}

const baseline = await best(baselineTarget);
const gateway = await best(gatewayTarget);
const ratio = gateway.deliveriesPerSec / baseline.deliveriesPerSec;
const cpuRatio = gateway.cpuMicrosPer1000 / baseline.cpuMicrosPer1000;
console.log(
  `fan-out: ${CLIENTS} SSE clients (separate process), ${EVENTS} events of ${PAYLOAD.length} bytes, best of ${ROUNDS}`,
);
for (const r of [baseline, gateway]) {
  console.log(
    `  ${r.name.padEnd(20)} ${r.deliveriesPerSec.toLocaleString('en').padStart(12)} deliveries/s` +
      `   server CPU ${r.cpuMicrosPer1000.toLocaleString('en')} µs per 1000 deliveries` +
      `   heap ${r.heapBytesPerConnection.toLocaleString('en')} bytes/connection`,
  );
}
console.log(
  `  gateway / baseline: throughput ${ratio.toFixed(2)}, server CPU per delivery ${cpuRatio.toFixed(2)}`,
);
console.log(
  JSON.stringify({
    bench: 'fanout',
    clients: CLIENTS,
    events: EVENTS,
    baseline,
    gateway,
    throughputRatio: Number(ratio.toFixed(3)),
    cpuPerDeliveryRatio: Number(cpuRatio.toFixed(3)),
  }),
);
