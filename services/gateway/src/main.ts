#!/usr/bin/env node
/**
 * The standalone service: settings from the environment and flags → createGateway → two HTTP
 * servers (public and admin) → signal handling. The only module that touches `process`
 * (STYLE.md A1), so everything else runs in tests and inside other services unchanged.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  ConfigError,
  HelpRequested,
  configHelp,
  describeConfig,
  loadConfig,
  type GatewayConfig,
} from './config/index.js';
import { DeploymentMismatchError } from './broker/redis/redis-broker.js';
import { createGateway, type Gateway } from './gateway.js';
import { listeningLog } from './lifecycle/listening-log.js';
import { createLogger } from './observability/logger.js';

type AnyServer = http.Server | http2.Http2SecureServer;

/** How long shutdown waits for the listeners to close once every stream is gone, in ms. */
const LISTENER_CLOSE_WAIT_MS = 1000;

function readConfig(): GatewayConfig {
  try {
    return loadConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${configHelp()}\n`);
      process.exit(0);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`ssehub-gateway: invalid settings:\n${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

function listen(server: AnyServer, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function publicServer(config: GatewayConfig, gateway: Gateway): AnyServer {
  if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
    // HTTPS with HTTP/2 (ALPN) and HTTP/1.1: a browser then multiplexes many streams on one
    // connection instead of six per origin (SPEC 3).
    const handle = gateway.callback();
    return http2.createSecureServer(
      { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey), allowHTTP1: true },
      (req, res) => void handle(req, res),
    );
  }
  const handle = gateway.callback();
  const server = http.createServer((req, res) => void handle(req, res));
  // Longer than common load balancer idle timeouts (SPEC 10), and headers timeout above it as Node requires.
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  server.headersTimeout = config.keepAliveTimeoutMs + 1000;
  return server;
}

async function main(): Promise<void> {
  const config = readConfig();
  const log = createLogger({ level: config.logLevel, pretty: process.stdout.isTTY });
  let gateway: Gateway;
  try {
    gateway = createGateway({ ...config, logger: log });
  } catch (err) {
    log.fatal({ err }, 'could not start');
    process.exit(1);
  }
  const pub = publicServer(config, gateway);
  const handleAdmin = gateway.adminCallback();
  const admin = http.createServer((req, res) => void handleAdmin(req, res));
  admin.keepAliveTimeout = config.keepAliveTimeoutMs;
  admin.headersTimeout = config.keepAliveTimeoutMs + 1000;

  let stopping = false;
  const stop = async (signal: string, drainMs: number): Promise<void> => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, drainMs }, 'stopping');
    try {
      await gateway.drain(drainMs);
      await gateway.close();
      // Every stream is closed by now; idle keep-alive sockets are cut. An HTTP/2 server has no
      // closeAllConnections, and a client may keep its session open after the GOAWAY, so the
      // wait for the listeners is bounded.
      const closed = Promise.all(
        [pub, admin].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => {
                resolve();
              });
              if ('closeAllConnections' in s) s.closeAllConnections();
            }),
        ),
      );
      await Promise.race([
        closed,
        new Promise((resolve) => setTimeout(resolve, LISTENER_CLOSE_WAIT_MS).unref()),
      ]);
    } catch (err) {
      log.fatal({ err }, 'shutdown failed');
      process.exit(1);
    }
    log.info('stopped');
    process.exit(0);
  };
  // Installed before listening and before the broker is reached, so a SIGTERM during a slow
  // start still stops cleanly. `on`, not `once`: a second signal while draining must reach
  // `stop` (exit now), not Node's default handler. SIGTERM (Kubernetes, docker stop) spreads the
  // closes over 80% of the grace period (SPEC 10); Ctrl-C in a terminal has nobody waiting for a
  // spread-out drain.
  process.on('SIGTERM', () => void stop('SIGTERM', Math.floor(config.shutdownGraceMs * 0.8)));
  process.on('SIGINT', () => void stop('SIGINT', 0));

  let publicAddress: AddressInfo;
  let adminAddress: AddressInfo;
  try {
    [publicAddress, adminAddress] = await Promise.all([
      listen(pub, config.port, config.host),
      listen(admin, config.adminPort, config.adminHost),
    ]);
  } catch (err) {
    log.fatal({ err }, 'could not listen');
    process.exit(1);
  }
  log.info({ settings: describeConfig(config) }, 'settings');
  try {
    await gateway.ready();
  } catch (err) {
    if (err instanceof DeploymentMismatchError) {
      // Fixed settings differ from the deployment's: waiting cannot help (SPEC 9).
      log.fatal({ err }, err.message);
      process.exit(1);
    }
    // Stopped before the broker was reached (a signal during start-up; an unreachable broker
    // is retried until then), or a broker that could not start, logged by the gateway: the
    // process is not serving, so it does not say it is.
    return;
  }

  // Names the broker kind the settings select (embedded, standalone, sentinel, cluster).
  const listening = listeningLog(config, publicAddress, adminAddress);
  log.info(listening.fields, listening.message);
}

void main();
