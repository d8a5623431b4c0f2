/**
 * A TCP proxy on a loopback port in front of one Redis node, so the nemesis can break the
 * network between the gateways (and publishers) and Redis: cut every connection, black-hole it
 * (stop forwarding both ways but keep the sockets open, as a partition does), delay or throttle
 * it. Bytes are never dropped while the sockets live: a black hole holds them and a resume
 * sends them on, as TCP would after a partition heals. A black hole or a cut may hit only some
 * connections: replication links, or a gateway's (told by the name it gives itself).
 */
import net from 'node:net';

/** One direction of a proxied connection, with its own queue of held chunks. */
class Pipe {
  readonly #queue: { readonly at: number; readonly chunk: Buffer }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #nextFreeAt = 0;
  /** Set when the sending side closed: deliver what is queued, then end the receiving side. */
  #ending: (() => void) | undefined;

  constructor(
    private readonly proxy: TcpProxy,
    private readonly conn: ProxiedConnection,
    private readonly to: net.Socket,
  ) {}

  push(chunk: Buffer): void {
    this.#queue.push({ at: Date.now() + this.proxy.delayMs, chunk });
    this.flush();
  }

  flush(): void {
    if (this.#timer !== undefined) return;
    while (this.#queue.length > 0) {
      if (this.to.destroyed) {
        this.#queue.length = 0;
        break;
      }
      if (this.proxy.isHeld(this.conn)) return;
      const head = this.#queue[0];
      if (head === undefined) return;
      const now = Date.now();
      const wait = Math.max(head.at, this.#nextFreeAt) - now;
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.flush();
        }, wait);
        return;
      }
      this.#queue.shift();
      this.to.write(head.chunk);
      const rate = this.proxy.bytesPerSecond;
      this.#nextFreeAt = rate > 0 ? now + (head.chunk.length / rate) * 1000 : 0;
    }
    if (this.#queue.length === 0 && this.#ending !== undefined) {
      const done = this.#ending;
      this.#ending = undefined;
      done();
    }
  }

  /**
   * The sender closed: bytes already "on the wire" (queued by a delay) still arrive, as on a
   * real network, then `done` runs.
   */
  finish(done: () => void): void {
    this.#ending = done;
    this.flush();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }
}

/** A client socket and its upstream socket. */
interface ProxiedConnection {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
  /** True once the client sent REPLCONF or PSYNC: a replica's replication link. */
  replication: boolean;
  /**
   * A gateway's connection, told by the name it gives itself (`CLIENT SETNAME
   * <prefix>:gateway:sub` or `…:gateway:cmd`): its relay subscriber or its commands connection.
   */
  gateway?: 'sub' | 'cmd';
  /** Client bytes looked at so far for REPLCONF, PSYNC or a gateway's name. */
  sniffed: number;
  up?: Pipe;
  down?: Pipe;
}

/**
 * Which connections a black hole or a cut affects: every one, replication links, the gateways'
 * connections (subscriber and commands), or the gateways' relay subscriber connections only.
 */
export type HoldScope = 'all' | 'replication' | 'gateway' | 'gateway-subscriber';

/** Only the first bytes a client sends name it (`CLIENT SETNAME` comes first, REPLCONF early). */
const SNIFF_BYTES = 4096;

function inScope(conn: ProxiedConnection, scope: HoldScope): boolean {
  switch (scope) {
    case 'all':
      return true;
    case 'replication':
      return conn.replication;
    case 'gateway':
      return conn.gateway !== undefined;
    case 'gateway-subscriber':
      return conn.gateway === 'sub';
  }
}

/** A proxy from `listenPort` to `targetPort` on 127.0.0.1. */
export class TcpProxy {
  /** Added latency per chunk, in ms (0: none). */
  delayMs = 0;
  /** Throughput limit per direction and connection, in bytes/s (0: none). */
  bytesPerSecond = 0;
  #hold: HoldScope | undefined;
  readonly #connections = new Set<ProxiedConnection>();
  readonly #server: net.Server;

  private constructor(
    readonly name: string,
    readonly listenPort: number,
    readonly targetPort: number,
  ) {
    this.#server = net.createServer((client) => {
      this.#accept(client);
    });
  }

  /**
   * Starts a proxy.
   * @param listenPort - The port clients connect to (0 for a free one).
   * @param targetPort - The Redis node's real port.
   */
  static async start(name: string, listenPort: number, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(name, listenPort, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(listenPort, '127.0.0.1', () => {
        resolve();
      });
    });
    const address = proxy.#server.address();
    if (address !== null && typeof address !== 'string' && listenPort === 0) {
      return Object.assign(proxy, { listenPort: address.port });
    }
    return proxy;
  }

  /** How many proxied connections are open. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Whether chunks of `conn` are held now. */
  isHeld(conn: ProxiedConnection): boolean {
    return this.#hold !== undefined && inScope(conn, this.#hold);
  }

  /** Destroys every open connection (both sockets), as a network reset does. */
  cut(scope: HoldScope = 'all'): number {
    let n = 0;
    for (const conn of [...this.#connections]) {
      if (!inScope(conn, scope)) continue;
      this.#drop(conn);
      n += 1;
    }
    return n;
  }

  /** Stops forwarding (both ways) on the connections of `scope`, keeping the sockets open. */
  blackhole(scope: HoldScope = 'all'): void {
    this.#hold = scope;
  }

  /** Forwards again what a black hole held, and everything after it. */
  resume(): void {
    this.#hold = undefined;
    for (const conn of this.#connections) {
      conn.up?.flush();
      conn.down?.flush();
    }
  }

  /** Back to a clean pass-through: no hold, no delay, no throttle. */
  heal(): void {
    this.delayMs = 0;
    this.bytesPerSecond = 0;
    this.resume();
  }

  /** Closes the listener and every connection. */
  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
  }

  #accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, '127.0.0.1');
    const conn: ProxiedConnection = { client, upstream, replication: false, sniffed: 0 };
    conn.up = new Pipe(this, conn, upstream);
    conn.down = new Pipe(this, conn, client);
    this.#connections.add(conn);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => {
      if (conn.sniffed < SNIFF_BYTES) {
        conn.sniffed += chunk.length;
        const text = chunk.toString('latin1').toUpperCase();
        if (text.includes('REPLCONF') || text.includes('PSYNC')) conn.replication = true;
        if (text.includes(':GATEWAY:SUB')) conn.gateway = 'sub';
        else if (text.includes(':GATEWAY:CMD')) conn.gateway = 'cmd';
      }
      conn.up?.push(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      conn.down?.push(chunk);
    });
    const drop = (): void => {
      this.#drop(conn);
    };
    // A side that closes (a Redis that dies, a client that quits): what it sent before still
    // arrives, then the other side is closed. A held connection stays held until resume or cut.
    client.on('close', () => {
      conn.up?.finish(drop);
    });
    upstream.on('close', () => {
      conn.down?.finish(drop);
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }

  #drop(conn: ProxiedConnection): void {
    if (!this.#connections.delete(conn)) return;
    conn.up?.stop();
    conn.down?.stop();
    conn.client.destroy();
    conn.upstream.destroy();
  }
}
