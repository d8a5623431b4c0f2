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
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return { output: () => output, exited, signal: (s) => child.kill(s) };
}

it('starts the stack, prints its URLs, serves the time, and stops everything on Ctrl-C', async () => {
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

  cli.signal('SIGINT');
  expect(await cli.exited).toBe(0);
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
