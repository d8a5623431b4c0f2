/**
 * `redis-cli` against a loopback port, for the launchers' health checks and the tests' probes:
 * asking a process with the Debian tool needs no client library and no connection to manage.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * `redis-cli -h 127.0.0.1 -p <port> <args…>`; resolves to its standard output as is (raw, not a
 * tty: one element per line). Rejects when redis-cli fails or takes longer than `timeoutMs`
 * (milliseconds, default 5000).
 */
export async function redisCliText(
  port: number,
  args: readonly string[],
  timeoutMs = 5000,
): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: timeoutMs,
  });
  return stdout;
}

/** `redis-cli -p <port> <args…>` (5 s timeout); resolves to its non-empty output lines. */
export async function redisCli(port: number, ...args: readonly string[]): Promise<string[]> {
  return (await redisCliText(port, args)).split('\n').filter((line) => line !== '');
}

/** The `field:value` lines of an `INFO` (or `CLUSTER INFO`) answer as a map, values trimmed. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1).trim());
  }
  return fields;
}

/** `INFO <section>` of the server on `port`, as a map. */
export async function redisInfo(port: number, section: string): Promise<Map<string, string>> {
  return parseInfo(await redisCliText(port, ['INFO', section]));
}
