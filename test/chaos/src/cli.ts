#!/usr/bin/env node
/**
 * `pnpm chaos --seed 42 --duration 600 --topology standalone`: one chaos run, its summary on
 * stdout (and in the run directory), exit code 1 on any violation of the delivery promise.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummary } from './report.js';
import { runChaos } from './run.js';
import { FAULT_KINDS, type FaultKind } from './schedule.js';

const USAGE = `usage: pnpm chaos [--seed N] [--duration seconds] [--topology standalone|sentinel|cluster]
                  [--faults kind,kind…] [--rate events/s] [--gateways N] [--shards N]
                  [--gateway path/to/main.js] [--run-dir dir] [--verbose]
fault kinds: ${FAULT_KINDS.join(', ')}`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      duration: { type: 'string' },
      topology: { type: 'string' },
      faults: { type: 'string' },
      rate: { type: 'string' },
      gateways: { type: 'string' },
      shards: { type: 'string' },
      gateway: { type: 'string' },
      'run-dir': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const seed = integer('seed', values.seed, Math.floor(Math.random() * 1_000_000));
  const duration = integer('duration', values.duration, 60);
  const topology = values.topology ?? 'standalone';
  if (topology !== 'standalone' && topology !== 'sentinel' && topology !== 'cluster') {
    fail(`--topology ${topology}: use standalone, sentinel or cluster`);
  }
  let faults: FaultKind[] | undefined;
  if (values.faults !== undefined) {
    faults = [];
    for (const name of values.faults.split(',').map((s) => s.trim())) {
      const kind = FAULT_KINDS.find((k) => k === name);
      if (kind === undefined) fail(`--faults: unknown fault ${name}`);
      faults.push(kind);
    }
  }
  const result = await runChaos({
    seed,
    durationSeconds: duration,
    topology,
    ...(faults === undefined ? {} : { faults }),
    ...(values.rate === undefined ? {} : { ratePerSecond: integer('rate', values.rate, 150) }),
    ...(values.gateways === undefined ? {} : { gateways: integer('gateways', values.gateways, 3) }),
    ...(values.shards === undefined ? {} : { shards: integer('shards', values.shards, 1) }),
    ...(values.gateway === undefined ? {} : { gatewayMain: values.gateway }),
    ...(values['run-dir'] === undefined ? {} : { runDir: values['run-dir'] }),
    ...(values.verbose === true ? { verbose: true, logLevel: 'info' } : {}),
    log: (line) => {
      console.error(line);
    },
  });
  const extra = [
    values.faults === undefined ? '' : ` --faults ${values.faults}`,
    values.shards === undefined ? '' : ` --shards ${values.shards}`,
  ].join('');
  const summary = formatSummary({
    history: result.history,
    verdict: result.verdict,
    runDir: result.runDir,
    durationSeconds: duration,
    caughtUp: result.caughtUp,
    extraFlags: extra,
  });
  writeFileSync(join(result.runDir, 'summary.txt'), `${summary}\n`);
  console.log(summary);
  process.exitCode = result.verdict.ok ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
