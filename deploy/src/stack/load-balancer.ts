/**
 * The load balancer in front of the local stack's gateways: nginx when it is installed (the
 * same server configuration as docker-compose), else a small Node TCP balancer.
 */
import { execFileSync } from 'node:child_process';
import type { OutputMode } from './managed-process.js';

/** Which balancer to run; `auto` picks nginx when it is on the PATH, else `node`. */
export type LoadBalancerKind = 'auto' | 'nginx' | 'node';

export interface LoadBalancerOptions {
  /** Port to listen on, on 127.0.0.1. */
  readonly port: number;
  /** The gateways' public ports. */
  readonly upstreamPorts: readonly number[];
  readonly output: OutputMode;
  /** The nginx binary. @defaultValue 'nginx' (searched on PATH, /usr/sbin included) */
  readonly nginxPath?: string;
}

export interface LoadBalancer {
  readonly kind: 'nginx' | 'node';
  readonly port: number;
  stop(): Promise<void>;
}

/** The path of nginx when it is installed: on PATH, or in /usr/sbin (not on a user's PATH). */
export function findNginx(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // Not this one.
    }
  }
  return undefined;
}
