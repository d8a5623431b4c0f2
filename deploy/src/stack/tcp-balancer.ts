/**
 * A small Node TCP load balancer, for machines without nginx: each client connection goes to
 * the gateway with the fewest connections from this balancer, and to the next one when the
 * connection is refused (as nginx's `proxy_next_upstream error`). Being TCP-level, it buffers
 * nothing and adds no X-Forwarded-For: the gateways see 127.0.0.1 as every client's address.
 */
import net from 'node:net';
import type { LoadBalancer, LoadBalancerOptions } from './load-balancer.js';

interface Upstream {
  readonly port: number;
  active: number;
  /** Left out until this time (ms since the epoch) after a refused connection, as max_fails=1 fail_timeout=5s. */
  downUntil: number;
}

/** How long an upstream that refused a connection is left out, in milliseconds. */
const FAIL_TIMEOUT_MS = 5000;

export class TcpBalancer implements LoadBalancer {
  readonly kind = 'node';
  readonly #server: net.Server;
  readonly #upstreams: Upstream[];
  readonly #sockets = new Set<net.Socket>();

  private constructor(
    readonly port: number,
    upstreamPorts: readonly number[],
  ) {
    this.#upstreams = upstreamPorts.map((p) => ({ port: p, active: 0, downUntil: 0 }));
    this.#server = net.createServer((client) => {
      this.#track(client);
      // Hold the client's first bytes until the upstream is connected.
      client.pause();
      this.#connect(client, new Set());
    });
  }

  static async start(options: LoadBalancerOptions): Promise<TcpBalancer> {
    const balancer = new TcpBalancer(options.port, options.upstreamPorts);
    await new Promise<void>((resolve, reject) => {
      balancer.#server.once('error', reject);
      balancer.#server.listen(options.port, '127.0.0.1', () => {
        balancer.#server.off('error', reject);
        resolve();
      });
    });
    return balancer;
  }

  /** Upstreams by preference: the ones not left out, fewest connections first. */
  #candidates(tried: ReadonlySet<Upstream>): Upstream[] {
    const now = Date.now();
    const open = this.#upstreams.filter((u) => !tried.has(u));
    const up = open.filter((u) => u.downUntil <= now);
    // When every gateway is left out, try them anyway rather than refuse the client.
    return (up.length > 0 ? up : open).sort((a, b) => a.active - b.active);
  }

  #connect(client: net.Socket, tried: Set<Upstream>): void {
    const upstream = this.#candidates(tried)[0];
    if (upstream === undefined) {
      client.destroy();
      return;
    }
    tried.add(upstream);
    const server = net.connect(upstream.port, '127.0.0.1');
    this.#track(server);
    let connected = false;
    server.once('connect', () => {
      connected = true;
      upstream.active += 1;
      client.pipe(server);
      server.pipe(client);
      client.resume();
    });
    server.on('error', () => {
      if (connected) return;
      upstream.downUntil = Date.now() + FAIL_TIMEOUT_MS;
      if (!client.destroyed) this.#connect(client, tried);
    });
    server.once('close', () => {
      if (connected) {
        upstream.active -= 1;
        client.destroy();
      }
    });
    client.once('close', () => {
      server.destroy();
    });
    // A reset from either side ends both; the 'close' handlers do the rest.
    client.on('error', () => undefined);
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
