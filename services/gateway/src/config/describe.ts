/**
 * The settings as the startup log line shows them, with every secret hidden.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { REDACTED, redactUrl } from './kinds.js';
import type { AuthConfig, GatewayConfig } from './types.js';

/**
 * The settings for the startup log line, with secrets hidden: the admin token, the JWT secret,
 * and the password (and password-like query parameters) of the Redis URL. The public key is
 * shown as its SHA-256 fingerprint, which is enough to tell which key a replica runs with.
 *
 * @param c - Resolved settings.
 * @returns A new plain object, safe to log.
 */
export function describeConfig(c: GatewayConfig): Record<string, unknown> {
  return {
    ...c,
    redisUrl: c.redisUrl === undefined ? undefined : redactUrl(c.redisUrl),
    auth: describeAuth(c.auth),
    adminToken: c.adminToken === undefined ? undefined : REDACTED,
  };
}

function describeAuth(auth: AuthConfig): Record<string, unknown> {
  switch (auth.kind) {
    case 'none':
    case 'jwks':
      return { ...auth };
    case 'secret':
      return { kind: 'secret', secret: REDACTED };
    case 'publicKey': {
      const der = createPublicKey(auth.pem).export({ type: 'spki', format: 'der' });
      return { kind: 'publicKey', sha256: createHash('sha256').update(der).digest('hex') };
    }
  }
}
