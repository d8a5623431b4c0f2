/**
 * How a Redis topology and a connection failure are named in log lines: an address an operator
 * can check (credentials left out) and the cause in one word or two (SPEC 9: a gateway that
 * cannot reach Redis logs the address and the cause: refused, timeout, authentication).
 */
import type { RedisTopology } from './redis-connections.js';

/**
 * `redis://host:port` for a standalone URL (user and password removed), `sentinel://name@h:p,…`
 * for Sentinel, `cluster://h:p,…` for Cluster seed nodes.
 */
export function describeTopology(topology: RedisTopology): string {
  switch (topology.kind) {
    case 'standalone': {
      try {
        const url = new URL(topology.url);
        const port = url.port === '' ? '6379' : url.port;
        return `${url.protocol}//${url.hostname}:${port}`;
      } catch {
        return '(an unparsable REDIS_URL)';
      }
    }
    case 'sentinel':
      return `sentinel://${topology.name}@${topology.sentinels.map((n) => `${n.host}:${String(n.port)}`).join(',')}`;
    case 'cluster':
      return `cluster://${topology.nodes.map((n) => `${n.host}:${String(n.port)}`).join(',')}`;
  }
}

/**
 * The cause of a failed connect or command, short: `refused (ECONNREFUSED)`, `timeout
 * (ETIMEDOUT)`, `authentication (WRONGPASS …)`, `loading (the dataset)`, or the error's message.
 */
export function describeRedisError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as Error & { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'refused (ECONNREFUSED)';
  if (code === 'ETIMEDOUT' || err.name === 'StartTimeout' || /timed? ?out/i.test(err.message)) {
    return `timeout (${typeof code === 'string' ? code : err.message})`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `host not found (${code})`;
  if (/^(NOAUTH|WRONGPASS|NOPERM)/.test(err.message)) return `authentication (${err.message})`;
  if (err.message.startsWith('LOADING')) return 'loading (Redis is loading its dataset)';
  return typeof code === 'string' ? `${code} (${err.message})` : err.message;
}
