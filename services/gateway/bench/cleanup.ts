/**
 * Cleanup for the benches: every process a bench starts is registered here with how to stop it,
 * and stopped once, last started first (clients, then servers, then Redis), whatever happens:
 * normal end, an exception, Ctrl-C or SIGTERM. Importing this module installs the handlers.
 */
import type { ChildProcess } from 'node:child_process';

const children = new Set<ChildProcess>();
const stoppers: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;

/** Registers a process and how to stop it; returns that stop, which runs at most once. */
export function track(
  child: ChildProcess | undefined,
  stop: () => Promise<void>,
): () => Promise<void> {
  if (child !== undefined) {
    children.add(child);
    child.once('exit', () => children.delete(child));
  }
  let stopping: Promise<void> | undefined;
  const once = (): Promise<void> => (stopping ??= stop());
  stoppers.push(once);
  return once;
}

/** Stops everything still running, last started first. */
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const stop of [...stoppers].reverse()) {
      try {
        await stop();
      } catch (err) {
        console.error('cleanup:', err);
      }
    }
  })();
  return cleaning;
}

process.once('exit', () => {
  // Last resort (an exception path that skipped cleanup): nothing may outlive the bench.
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping every process the bench started`);
    void cleanup().finally(() => process.exit(130));
  });
}
