/**
 * `pnpm stack` itself: the built CLI (dist/cli.js) started as a user starts it, then Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isListening } from '@ssehub/local-redis';
import { expect, it } from 'vitest';
import { waitUntil } from './helpers/traffic.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function run(args: readonly string[]): {
  output: () => string;
  exited: Promise<number | null>;
  signal: (s: NodeJS.Signals) => void;
} {
  // Its own process group, as a terminal gives a foreground job: a Ctrl-C signals the group.
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const group = -(child.pid ?? 0);
  return { output: () => output, exited, signal: (s) => process.kill(group, s) };
}

it('starts the stack, prints its URLs, serves the time, and stops everything in order on Ctrl-C', async () => {
  const cli = run(['--port', '0', '--gateways', '2']);
  await waitUntil(() => cli.output().includes('Ctrl-C stops everything'), 'the URLs', 60_000);
  const text = cli.output();
  const lb = /curl -N (http:\/\/127\.0\.0\.1:\d+)\/subscribe\/time/.exec(text)?.[1];
  if (lb === undefined) throw new Error(`no subscribe URL in:\n${text}`);
  expect(text).toMatch(/2 gateways behind nginx/);
  const ports = [...text.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
  expect(new Set(ports).size).toBeGreaterThanOrEqual(6); // Redis, balancer, 2 × (public, admin)

  const res = await fetch(`${lb}/subscribe/time`);
  const body = res.body;
  if (body === null) throw new Error('no body');
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let stream = '';
  while (!stream.includes('event: tick\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended: ${stream}`);
    stream += value;
  }
  await reader.cancel();

  // Ctrl-C: SIGINT to the terminal's process group. The children run in groups of their own,
  // so the stack alone gets it and stops them in order: the publisher gets the stack's SIGTERM.
  cli.signal('SIGINT');
  expect(await cli.exited).toBe(0);
  expect(cli.output()).toContain('[demo-publisher] demo-publisher: SIGTERM, stopping');
  expect(cli.output()).toContain('stack: stopped');
  for (const port of new Set(ports)) expect(await isListening(port)).toBe(false);
});

it('prints its usage with --help, and exits 2 on a bad flag', async () => {
  const help = run(['--help']);
  expect(await help.exited).toBe(0);
  expect(help.output()).toMatch(/^Usage: pnpm stack/);
  const bad = run(['--balancer', 'haproxy']);
  expect(await bad.exited).toBe(2);
  expect(bad.output()).toContain('--balancer must be auto, nginx or node, got haproxy');
});
