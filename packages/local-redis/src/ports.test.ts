import net from 'node:net';
import { expect, it } from 'vitest';
import { freeClusterPorts, isFree } from './ports.js';

it('draws distinct cluster ports whose bus ports are free too', async () => {
  const ports = await freeClusterPorts(3);
  expect(new Set(ports).size).toBe(3);
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(20_000);
    expect(port).toBeLessThan(30_000);
    expect(await isFree(port + 10_000)).toBe(true);
  }
});

it('sees a port with a listener as not free', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  expect(await isFree(address.port)).toBe(false);
  await new Promise((resolve) => server.close(resolve));
});
