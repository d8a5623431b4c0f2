#!/usr/bin/env node
/**
 * The `ssehub` CLI for operators (docs/publisher.md): `ssehub publish` through Redis or a
 * gateway's publish route, and `ssehub subscribe`, which prints a gateway's stream the way an
 * `EventSource` receives it. This is the process entry point: it picks the command (one file
 * each in `cli/`) and turns what it throws into a message and an exit code.
 *
 * Exit codes: 0 success (and Ctrl-C on `subscribe`), 1 failure, 2 usage error.
 */
import { PublisherError } from './errors.js';
import { publish } from './cli/publish-command.js';
import { subscribe } from './cli/subscribe-command.js';
import { EXIT_FAILURE, EXIT_USAGE, UsageError } from './cli/usage.js';

const MAIN_HELP = `Usage: ssehub <command> [options]

Commands:
  publish <topic> <data>   Publish one event; prints its id.
  subscribe <pattern>...   Print a gateway's events as they arrive, until Ctrl-C.

Run "ssehub <command> --help" for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'publish':
        return await publish(rest);
      case 'subscribe':
        return await subscribe(rest);
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(MAIN_HELP);
        return 0;
      case undefined:
        throw new UsageError('a command is required.', MAIN_HELP);
      default:
        throw new UsageError(`unknown command "${command}".`, MAIN_HELP);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ssehub: ${err.message}\n\n${err.help}`);
      return EXIT_USAGE;
    }
    if (err instanceof PublisherError) {
      process.stderr.write(`ssehub: ${err.code}: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    process.stderr.write(`ssehub: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}

process.exitCode = await main(process.argv.slice(2));
