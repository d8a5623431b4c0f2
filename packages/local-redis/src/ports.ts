/** Loopback ports: find a free one, and wait until a process listens on one. */
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/** A server's address, the shape ioredis and the gateway's node-list settings take. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** A port nobody listens on right now: listen on port 0, read the number, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

/** True when a TCP connection to the loopback port succeeds. */
export function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * Resolves once something listens on the loopback port; rejects if `child` exits first, or
 * after `timeoutMs` (milliseconds, default 10000).
 */
export async function waitForPort(
  port: number,
  child: ChildProcess,
  timeoutMs = 10_000,
): Promise<void> {
  const name = child.spawnfile;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) before port ${port} opened`,
      );
    }
    if (await isListening(port)) return;
    if (Date.now() > deadline)
      throw new Error(`${name} did not listen on ${port} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when nothing listens on the loopback port: listening on it succeeds (and is closed again). */
export function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/**
 * `count` distinct ports for Redis Cluster nodes, drawn at random in 20000–29999 where both the
 * port and its cluster bus port (port + 10000) are free: a free port from the OS could land above
 * 55535, whose bus port does not exist. Rejects after `maxAttempts` draws (default 1000).
 */
export async function freeClusterPorts(count: number, maxAttempts = 1000): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < maxAttempts; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (ports.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) ports.push(port);
  }
  if (ports.length < count) throw new Error('no free ports for a Redis Cluster');
  return ports;
}
