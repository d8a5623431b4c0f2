/**
 * nginx from Debian's package as the local stack's load balancer, with the same server
 * configuration as docker-compose (deploy/nginx/ssehub.conf, used verbatim): the stack writes
 * only the two files it includes (the upstream `server` lines and the `listen` line) and a
 * minimal main configuration, into a temporary prefix directory.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForPort } from '@ssehub/local-redis';
import type { LoadBalancer, LoadBalancerOptions } from './load-balancer.js';
import { ManagedProcess } from './managed-process.js';

/** The shared server configuration (deploy/nginx/ssehub.conf). */
export const SSEHUB_NGINX_CONF = fileURLToPath(new URL('../../nginx/ssehub.conf', import.meta.url));

/** The main configuration: everything nginx writes goes to the prefix directory, logs to stderr. */
function mainConfig(): string {
  return `# Written by the ssehub local stack (deploy/src/stack/nginx-balancer.ts).
worker_processes 1;
pid nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path tmp/client_body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include ssehub.conf;
}
`;
}

/** The `server` lines: a gateway that fails is left out for 5 s, as in docker-compose. */
export function upstreamLines(ports: readonly number[]): string {
  return ports.map((port) => `server 127.0.0.1:${port} max_fails=1 fail_timeout=5s;\n`).join('');
}

export class NginxBalancer implements LoadBalancer {
  readonly kind = 'nginx';

  private constructor(
    readonly port: number,
    private readonly process: ManagedProcess,
    private readonly prefix: string,
  ) {}

  static async start(options: LoadBalancerOptions): Promise<NginxBalancer> {
    const prefix = mkdtempSync(join(tmpdir(), 'ssehub-nginx-'));
    writeFileSync(join(prefix, 'nginx.conf'), mainConfig());
    copyFileSync(SSEHUB_NGINX_CONF, join(prefix, 'ssehub.conf'));
    writeFileSync(join(prefix, 'ssehub-upstreams.conf'), upstreamLines(options.upstreamPorts));
    writeFileSync(join(prefix, 'ssehub-listen.conf'), `listen 127.0.0.1:${options.port};\n`);
    // nginx makes the temp directories themselves, not their parent.
    mkdirSync(join(prefix, 'tmp'));
    const proc = ManagedProcess.spawn({
      name: 'nginx',
      command: options.nginxPath ?? 'nginx',
      // -e: the error log before the configuration is read (the default path is /var/log/nginx,
      // which a non-root user cannot open); `daemon off` keeps it our child.
      args: ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'],
      env: { PATH: process.env['PATH'] ?? '' },
      output: options.output,
    });
    try {
      await waitForPort(options.port, proc.child);
    } catch (err) {
      await proc.stop('SIGKILL');
      rmSync(prefix, { recursive: true, force: true });
      throw new Error(`nginx did not start: ${String(err)}\n${proc.output}`, { cause: err });
    }
    return new NginxBalancer(options.port, proc, prefix);
  }

  /** SIGTERM: nginx's fast stop (a graceful SIGQUIT would wait for every open stream). */
  async stop(): Promise<void> {
    await this.process.stop('SIGTERM', 5000);
    rmSync(this.prefix, { recursive: true, force: true });
  }
}
