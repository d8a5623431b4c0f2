/**
 * The "listening" log line of the standalone service: where the two ports are, which broker runs,
 * and a curl example to try. Pure, so it is tested without starting a process (`main.ts` runs
 * on import).
 */
import type { AddressInfo } from 'node:net';
import { brokerOf, type BrokerKind, type GatewayConfig } from '../config/index.js';

/** The fields and message of the line, for `log.info(fields, message)`. */
export interface ListeningLog {
  readonly fields: {
    /** Base URL of the public (subscribe) port, e.g. `http://localhost:8080`. */
    readonly public: string;
    /** Base URL of the admin port, e.g. `http://localhost:9090`. */
    readonly admin: string;
    /** The broker the settings select: `embedded`, `standalone`, `sentinel` or `cluster`. */
    readonly broker: BrokerKind;
  };
  /** `ssehub gateway listening.` and the README's two curl commands. */
  readonly message: string;
}

/** A wildcard listen address is not something to paste into curl; `localhost` reaches it. */
const shown = (a: AddressInfo): string =>
  a.address === '0.0.0.0' || a.address === '::' ? 'localhost' : a.address;

/**
 * Builds the line logged once both ports listen and the broker is reached.
 *
 * @param config - Resolved settings (TLS decides the public scheme; the `REDIS_*` settings the broker).
 * @param publicAddress - Where the public listener is bound.
 * @param adminAddress - Where the admin listener is bound (always plain HTTP).
 */
export function listeningLog(
  config: GatewayConfig,
  publicAddress: AddressInfo,
  adminAddress: AddressInfo,
): ListeningLog {
  const scheme = config.tlsCert === undefined ? 'http' : 'https';
  const subscribeUrl = `${scheme}://${shown(publicAddress)}:${publicAddress.port}`;
  const adminUrl = `http://${shown(adminAddress)}:${adminAddress.port}`;
  return {
    fields: { public: subscribeUrl, admin: adminUrl, broker: brokerOf(config).kind },
    message:
      `ssehub gateway listening. Try it:\n` +
      `  curl -N ${subscribeUrl}/subscribe/pets\n` +
      `  curl -X POST '${adminUrl}/publish/pets/dogs?event=new-dog' -d Corgi`,
  };
}
