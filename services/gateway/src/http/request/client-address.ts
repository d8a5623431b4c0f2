/**
 * The client address used for per-IP limits (SPEC 6): the socket's, unless TRUST_PROXY names how
 * many proxy hops to trust, in which case it is that many entries from the right of
 * X-Forwarded-For (each trusted proxy appends the address it received from).
 */
import type { IncomingMessage } from 'node:http';

export function clientAddress(req: IncomingMessage, trustedHops: number): string {
  const socketAddress = req.socket.remoteAddress ?? 'unknown';
  if (trustedHops <= 0) return socketAddress;
  const header = req.headers['x-forwarded-for'];
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (raw === undefined || raw.trim() === '') return socketAddress;
  const hops = raw
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  // Each of the N trusted proxies appended the address it received from, so the N-th entry from
  // the right is what the outermost trusted proxy saw: the client. Fewer entries: the leftmost.
  return hops[Math.max(0, hops.length - trustedHops)] ?? socketAddress;
}
