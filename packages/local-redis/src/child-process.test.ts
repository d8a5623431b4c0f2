import { expect, it } from 'vitest';
import {
  collectOutput,
  isRunning,
  spawnListening,
  spawnNode,
  stopProcess,
} from './child-process.js';
import { freePort } from './ports.js';

it('rejects at once, naming the install hint, when the binary is missing', async () => {
  const started = Date.now();
  const { listening } = spawnListening('ssehub-no-such-binary', [], {
    port: await freePort(),
    installHint: 'apt-get install it',
  });
  await expect(listening).rejects.toThrow(
    /could not start ssehub-no-such-binary \(apt-get install it\)/,
  );
  // Well inside waitForPort's 10 s timeout: the 'error' event ended the wait.
  expect(Date.now() - started).toBeLessThan(5000);
});

it('collects the output of a process with only PATH and the given environment', async () => {
  const child = spawnNode(
    ['-e', 'console.log(process.env.A, process.env.HOME); console.error("e")'],
    {
      env: { A: 'a' },
    },
  );
  const result = await collectOutput(child).exited;
  expect(result).toEqual({ code: 0, signal: null, stdout: 'a undefined\n', stderr: 'e\n' });
});

it('SIGKILLs a process that ignores the signal once the grace period is over', async () => {
  const child = spawnNode(['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)']);
  const { exited } = collectOutput(child);
  // Wait until the handler is installed (the first output would race it otherwise).
  await new Promise((r) => setTimeout(r, 300));
  await stopProcess(child, 'SIGTERM', 200);
  expect(isRunning(child)).toBe(false);
  expect((await exited).signal).toBe('SIGKILL');
});
