/**
 * What every `ssehub` command shares: the exit codes, the usage error, and argument parsing with
 * `node:util`'s `parseArgs` (strict, with `-h`/`--help` on every command).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit code of a command that failed (a refused publish, an unreachable gateway). */
export const EXIT_FAILURE = 1;
/** Exit code of a command line that is wrong (unknown option, missing argument). */
export const EXIT_USAGE = 2;

/** A wrong command line: printed with the help of the command it was for, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses a command's arguments; an unknown option or a missing value is a {@link UsageError}. */
export function parse(
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  help: string,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    });
    return { values, positionals };
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), help);
  }
}

/** A string option's value, or undefined when it was not given (or given as a flag). */
export function str(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
