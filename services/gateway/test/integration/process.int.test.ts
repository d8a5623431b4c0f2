/**
 * The standalone service (`node dist/main.js`, SPEC 10): settings from the environment and
 * flags, JSON log lines, the README example, SIGTERM and exit codes. Needs a build
 * (`npx tsc -p tsconfig.build.json`). Five processes in all: each costs about half a second.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { GatewayProcess, freePort, runGateway } from '../helpers/gateway-process.js';
import { errorCode, request } from '../helpers/http-client.js';
import { SseStream, subscribe } from '../helpers/sse-client.js';
import { eventually } from '../helpers/timing.js';

describe('the ssehub-gateway process', () => {
  it('starts with only PORT and ADMIN_PORT, logs JSON lines with the URLs and curl example, and serves the README example', async () => {
    await using proc = await GatewayProcess.start();
    const publicPort = new URL(proc.publicUrl).port;
    const adminPort = new URL(proc.adminUrl).port;

    const settings = proc.logLines().find((line) => line['msg'] === 'settings')?.['settings'];
    expect(settings).toMatchObject({
      port: Number(publicPort),
      adminPort: Number(adminPort),
      heartbeatMs: 15_000,
    });
    expect(Object.keys(settings ?? {})).not.toContain('adminToken'); // unset, so not shown as a secret
    const listening = proc.logLines().find((line) => typeof line['public'] === 'string');
    expect(listening).toMatchObject({
      level: 30,
      public: `http://localhost:${publicPort}`,
      admin: `http://localhost:${adminPort}`,
    });
    expect(listening?.['msg']).toContain(`curl -N http://localhost:${publicPort}/subscribe/pets`);
    expect(listening?.['msg']).toContain(
      `curl -X POST 'http://localhost:${adminPort}/publish/pets/dogs?event=new-dog' -d Corgi`,
    );

    // README: `curl -N localhost:8080/subscribe/pets`, then the POST; curl sends Accept: */*.
    const stream = await subscribe(`${proc.publicUrl}/subscribe/pets`, {
      headers: { accept: '*/*' },
    });
    const published = await request(`${proc.adminUrl}/publish/pets/dogs?event=new-dog`, {
      method: 'POST',
      body: 'Corgi',
    });
    expect(published.status).toBe(200);
    const { id } = published.body as { id: string };
    await stream.waitForEvents(1);
    expect(stream.raw).toContain(`id: ${id}\nevent: new-dog\ndata: Corgi\n\n`);
    expect(stream.events).toEqual([{ id, event: 'new-dog', data: 'Corgi' }]);
    stream.close();

    // One log line per stream open and close, none per event.
    const lines = await eventually(
      () => proc.logLines(),
      (all) => all.some((l) => l['msg'] === 'stream closed'),
      { what: 'the "stream closed" log line' },
    );
    const afterListening = lines.slice(lines.findIndex((l) => typeof l['public'] === 'string') + 1);
    expect(afterListening.map((l) => l['msg'])).toEqual(['stream opened', 'stream closed']);

    proc.kill('SIGTERM');
    const result = await proc.exited;
    expect([result.code, result.signal]).toEqual([0, null]);
    expect(result.stderr).toBe('');
  });

  it('lets a flag win over its variable, and on SIGTERM fails /readyz at once, closes streams spread within SHUTDOWN_GRACE_MS and exits 0', async () => {
    const envPort = await freePort();
    const flagPort = await freePort();
    await using proc = await GatewayProcess.start({
      env: { PORT: String(envPort), SHUTDOWN_GRACE_MS: '2000', ADMIN_TOKEN: 'do-not-log-me' },
      args: ['--port', String(flagPort)],
      publicPort: flagPort,
    });
    await expect(fetch(`http://127.0.0.1:${envPort}/subscribe/pets`)).rejects.toThrow();
    expect(proc.logLines().find((l) => l['msg'] === 'settings')?.['settings']).toMatchObject({
      port: flagPort,
      shutdownGraceMs: 2000,
      adminToken: '[redacted]',
    });

    const streams = await Promise.all(
      Array.from({ length: 4 }, () => subscribe(`${proc.publicUrl}/subscribe/pets`)),
    );
    const closedAt: number[] = [];
    const ends = streams.map((s) => s.waitForEnd(10_000).then(() => closedAt.push(Date.now())));

    const signalledAt = Date.now();
    proc.kill('SIGTERM');
    await eventually(
      () => request(`${proc.adminUrl}/readyz`),
      (r) => r.status === 503,
      { what: '/readyz 503', intervalMs: 5 },
    );
    // Closes are spread over 80% of 2000 ms (0, 400, 800, 1200 ms): readiness fell first.
    expect(streams.filter((s) => !s.ended).length).toBeGreaterThan(0);
    const refused = await request(`${proc.publicUrl}/subscribe/pets`);
    expect([refused.status, errorCode(refused)]).toEqual([503, 'NOT_READY']);
    const eventSource = await SseStream.open(`${proc.publicUrl}/subscribe/pets`);
    await eventSource.waitForEnd();
    expect(eventSource.raw).toMatch(/^retry: \d+\n: not ready\n\n$/);

    await Promise.all(ends);
    const result = await proc.exited;
    expect([result.code, result.signal]).toEqual([0, null]);
    expect(Math.max(...closedAt) - signalledAt).toBeLessThan(2000);
    expect(Math.max(...closedAt) - Math.min(...closedAt)).toBeGreaterThanOrEqual(600);
    for (const s of streams) expect(s.headers['connection']).toBe('close');
    expect(proc.logLines().map((l) => l['msg'])).toContain('stopped');
    expect(result.stdout).not.toContain('do-not-log-me');
  });

  it('names the broker kind in the listening line: standalone with REDIS_URL, not embedded', async () => {
    // Sentinel and Cluster are covered by listening-log.test.ts: one topology is enough to see
    // that main.ts logs what the settings select.
    await using proc = await GatewayProcess.start({
      env: { REDIS_URL: inject('redisUrl'), REDIS_PREFIX: `proc${randomUUID().slice(0, 8)}` },
    });
    const listening = await eventually(
      () => proc.logLines().find((line) => typeof line['public'] === 'string'),
      (line) => line !== undefined,
      { what: 'the listening log line' },
    );
    expect(listening?.['broker']).toBe('standalone');
  });

  it('exits 1 on invalid settings with one message naming every bad setting', async () => {
    const result = await runGateway({
      env: { HEARTBEAT_MS: 'abc', PORT: '-1' },
      args: ['--log-level', 'loud'],
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.match(/invalid settings/g)).toHaveLength(1);
    expect(result.stderr).toMatch(/^ssehub-gateway: invalid settings:\n/);
    for (const name of ['HEARTBEAT_MS', 'PORT', '--log-level']) {
      expect(result.stderr.split('\n').some((line) => line.startsWith(`${name}:`))).toBe(true);
    }
  });

  it('prints the settings on --help and exits 0', async () => {
    const result = await runGateway({ args: ['--help'] });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const flag of [
      '--port',
      '--admin-port',
      '--heartbeat-ms',
      '--shutdown-grace-ms',
      '--max-connection-age-ms',
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });
});
