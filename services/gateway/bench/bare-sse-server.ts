/**
 * Baseline server of the idle-memory bench (idle-memory.ts), run as its own process: a bare Node
 * HTTP server that answers every GET with the gateway's SSE head, writes `: ok`, and keeps the
 * response open in a set (the least state a server that later writes to its streams must keep).
 * `GET /mem` instead answers `{ open, ...process.memoryUsage() }` as JSON.
 *
 * Settings (environment): PORT (default 0), HOST (default 127.0.0.1). Prints `listening <port>`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The head the gateway sends on HTTP/1.1 (src/sse/sse-response.ts). */
const SSE_HEAD = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'close',
} as const;

const open = new Set<http.ServerResponse>();

const server = http.createServer((req, res) => {
  if (req.url === '/mem') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ open: open.size, ...process.memoryUsage() }));
    return;
  }
  res.writeHead(200, SSE_HEAD);
  res.write(': ok\n\n');
  open.add(res);
  res.on('close', () => open.delete(res));
});

server.listen(Number(process.env['PORT'] ?? 0), process.env['HOST'] ?? '127.0.0.1', () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
