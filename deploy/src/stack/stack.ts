/**
 * The no-Docker local stack (SPEC 11): a `redis-server`, several gateways on their own ports, a
 * load balancer in front of their public ports, and the demo publisher: the docker-compose
 * topology, as processes. `pnpm stack` runs it (src/cli.ts); the end-to-end tests start the
 * same thing through {@link startStack}.
 */
import { freePort, RedisServer } from '@ssehub/local-redis';
import { GatewayReplica } from './gateway-replica.js';
import { startDemoPublisher } from './demo-publisher.js';
import {
  findNginx,
  type LoadBalancer,
  type LoadBalancerKind,
  type LoadBalancerOptions,
} from './load-balancer.js';
import { killOnExit, type ManagedProcess, type OutputMode } from './managed-process.js';
import { NginxBalancer } from './nginx-balancer.js';
import { TcpBalancer } from './tcp-balancer.js';

/**
 * Redis's pub/sub output buffer limit for the stack's Redis, as in docker-compose: each
 * gateway's relay connection gets every event of the channels it watches, and Redis's default
 * (`pubsub 32mb 8mb 60`) would cut it off in a burst (docs/deploy.md).
 */
export const PUBSUB_BUFFER_LIMIT = 'pubsub 256mb 64mb 60';

export interface StackOptions {
  /** Number of gateway replicas. @defaultValue 3 */
  readonly gateways?: number;
  /** Port of the load balancer on 127.0.0.1; 0 picks a free one. @defaultValue 8080 */
  readonly port?: number;
  /** Which load balancer. @defaultValue 'auto' (nginx when installed, else the Node balancer) */
  readonly balancer?: LoadBalancerKind;
  /**
   * An existing Redis to use; when unset the stack starts `redis-server` on a free port, with
   * an append-only file so a Redis restart keeps the history.
   */
  readonly redisUrl?: string;
  /** Key and channel prefix of this stack in Redis (REDIS_PREFIX). @defaultValue 'ssehub' */
  readonly prefix?: string;
  /** Start the demo publisher. @defaultValue true */
  readonly demoPublisher?: boolean;
  /** Environment of every gateway, over the stack's own (REDIS_URL, TRUST_PROXY, …). */
  readonly gatewayEnv?: Readonly<Record<string, string>>;
  /** Where the children's output goes: collected, printed with a name in front, or dropped. @defaultValue 'collect' */
  readonly output?: OutputMode;
}

/** The stack's gateway settings, as docker-compose and the k8s ConfigMap set them. */
function defaultGatewayEnv(redisUrl: string, prefix: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    // The balancer is one proxy hop: per-address limits see the browser's address.
    TRUST_PROXY: '1',
    LOG_LEVEL: 'warn',
    HEARTBEAT_MS: '15000',
    KEEP_ALIVE_TIMEOUT_MS: '65000',
    // Short enough for a demo's Ctrl-C; the deployments use the default 25 s.
    SHUTDOWN_GRACE_MS: '2000',
  };
}

/** What a running stack is made of. */
export interface StackParts {
  /** The Redis the stack started, or undefined when it uses `redisUrl`. */
  readonly redis: RedisServer | undefined;
  readonly redisUrl: string;
  readonly gateways: readonly GatewayReplica[];
  readonly balancer: LoadBalancer;
  /** The demo publisher, unless turned off. */
  readonly publisher: ManagedProcess | undefined;
}

export class Stack implements StackParts {
  readonly redis: RedisServer | undefined;
  readonly redisUrl: string;
  readonly gateways: readonly GatewayReplica[];
  readonly balancer: LoadBalancer;
  readonly publisher: ManagedProcess | undefined;

  private constructor(parts: StackParts) {
    ({
      redis: this.redis,
      redisUrl: this.redisUrl,
      gateways: this.gateways,
      balancer: this.balancer,
      publisher: this.publisher,
    } = parts);
  }

  /** `http://127.0.0.1:<port>`: where browsers subscribe. */
  get url(): string {
    return `http://127.0.0.1:${this.balancer.port}`;
  }

  static async start(options: StackOptions = {}): Promise<Stack> {
    const output = options.output ?? 'collect';
    const prefix = options.prefix ?? 'ssehub';
    const count = options.gateways ?? 3;
    if (!Number.isInteger(count) || count < 1)
      throw new Error(`gateways must be 1 or more, got ${count}`);
    const cleanup: (() => Promise<unknown>)[] = [];
    try {
      let redis: RedisServer | undefined;
      let redisUrl = options.redisUrl;
      if (redisUrl === undefined) {
        redis = await RedisServer.start({
          appendOnly: true,
          args: ['--client-output-buffer-limit', PUBSUB_BUFFER_LIMIT],
          detached: true,
        });
        const started = redis;
        if (started.child !== undefined) killOnExit(started.child);
        cleanup.push(() => started.stop());
        redisUrl = redis.url;
      }

      const env = { ...defaultGatewayEnv(redisUrl, prefix), ...options.gatewayEnv };
      const gateways: GatewayReplica[] = [];
      for (let i = 1; i <= count; i++) {
        gateways.push(
          new GatewayReplica({
            name: `gateway-${i}`,
            publicPort: await freePort(),
            adminPort: await freePort(),
            env,
            output,
          }),
        );
      }
      cleanup.push(() => Promise.all(gateways.map((g) => g.stop('SIGKILL'))));
      await Promise.all(gateways.map((g) => g.start()));

      const balancer = await startBalancer(options.balancer ?? 'auto', {
        port: options.port === 0 ? await freePort() : (options.port ?? 8080),
        upstreamPorts: gateways.map((g) => g.options.publicPort),
        output,
      });
      cleanup.push(() => balancer.stop());

      const publisher =
        options.demoPublisher === false ? undefined : startDemoPublisher(redisUrl, prefix, output);
      return new Stack({ redis, redisUrl, gateways, balancer, publisher });
    } catch (err) {
      for (const undo of cleanup.reverse()) await undo();
      throw err;
    }
  }

  /**
   * Stops everything it started: the publisher, the gateways (SIGTERM: each drains its streams
   * over its SHUTDOWN_GRACE_MS), the balancer, then Redis.
   */
  async stop(): Promise<void> {
    await this.publisher?.stop('SIGTERM', 5000);
    await Promise.all(this.gateways.map((g) => g.stop('SIGTERM')));
    await this.balancer.stop();
    await this.redis?.stop();
  }
}

/** Shorthand for {@link Stack.start}. */
export function startStack(options: StackOptions = {}): Promise<Stack> {
  return Stack.start(options);
}

async function startBalancer(
  kind: LoadBalancerKind,
  options: LoadBalancerOptions,
): Promise<LoadBalancer> {
  if (kind === 'node') return TcpBalancer.start(options);
  const nginx = findNginx();
  if (nginx !== undefined) return NginxBalancer.start({ ...options, nginxPath: nginx });
  if (kind === 'nginx') throw new Error('nginx is not installed (apt-get install nginx)');
  return TcpBalancer.start(options);
}
