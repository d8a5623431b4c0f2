#!/usr/bin/env node
/**
 * `pnpm stack`: the no-Docker local stack. Starts redis-server, three gateways, a load balancer
 * on localhost:8080 and the demo publisher, prints the URLs, and stops everything it started on
 * Ctrl-C (SIGINT) or SIGTERM.
 */
import { parseArgs } from 'node:util';
import type { LoadBalancerKind } from './stack/load-balancer.js';
import { startStack, type Stack } from './stack/stack.js';

const USAGE = `Usage: pnpm stack [--port 8080] [--gateways 3] [--balancer auto|nginx|node]
                  [--redis-url redis://…] [--no-publisher] [--log-level warn]

Starts redis-server (unless --redis-url), the gateways on free ports, a load balancer on
127.0.0.1:<port> (nginx when installed, else a small Node TCP balancer) and the demo publisher.
Ctrl-C stops everything it started.`;

function fail(message: string): never {
  console.error(`stack: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a whole number, got ${value}`);
  return n;
}

function parse(): {
  port: number;
  gateways: number;
  balancer: LoadBalancerKind;
  redisUrl: string | undefined;
  publisher: boolean;
  logLevel: string;
} {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        gateways: { type: 'string' },
        balancer: { type: 'string' },
        'redis-url': { type: 'string' },
        'no-publisher': { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if (values.help === true) {
    console.log(USAGE);
    process.exit(0);
  }
  const balancer = values.balancer ?? 'auto';
  if (balancer !== 'auto' && balancer !== 'nginx' && balancer !== 'node') {
    fail(`--balancer must be auto, nginx or node, got ${balancer}`);
  }
  const gateways = integer(values.gateways, 'gateways', 3);
  if (gateways < 1) fail('--gateways must be 1 or more');
  return {
    port: integer(values.port, 'port', 8080),
    gateways,
    balancer,
    redisUrl: values['redis-url'],
    publisher: values['no-publisher'] !== true,
    logLevel: values['log-level'] ?? 'warn',
  };
}

function describe(stack: Stack): string {
  const lines = [
    '',
    `ssehub stack: ${stack.gateways.length} gateways behind ${stack.balancer.kind}, Redis at ${stack.redisUrl}`,
    '',
    `  subscribe     curl -N ${stack.url}/subscribe/time`,
    `  playground    ${stack.url}/`,
  ];
  for (const g of stack.gateways) {
    lines.push(`  ${g.name.padEnd(13)} public ${g.publicUrl}   admin ${g.adminUrl}/admin`);
  }
  const first = stack.gateways[0];
  if (first !== undefined) {
    lines.push(
      `  publish       curl -X POST ${first.adminUrl}/publish/pets/dogs -H 'content-type: application/json' -d '{"name":"Rex"}'`,
    );
  }
  lines.push(
    stack.publisher === undefined
      ? ''
      : '\n  The demo publisher sends the time every second on `time`, pets under `pets/…`.',
    '  Ctrl-C stops everything.',
    '',
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parse();
  const stack = await startStack({
    port: options.port,
    gateways: options.gateways,
    balancer: options.balancer,
    ...(options.redisUrl === undefined ? {} : { redisUrl: options.redisUrl }),
    demoPublisher: options.publisher,
    gatewayEnv: { LOG_LEVEL: options.logLevel },
    output: 'prefix',
  });
  console.log(describe(stack));
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`stack: ${signal}, stopping`);
    stack.stop().then(
      () => {
        console.log('stack: stopped');
        process.exitCode = 0;
      },
      (err: unknown) => {
        console.error(`stack: stop failed: ${String(err)}`);
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGINT', () => {
    stop('SIGINT');
  });
  process.on('SIGTERM', () => {
    stop('SIGTERM');
  });
}

main().catch((err: unknown) => {
  console.error(`stack: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
