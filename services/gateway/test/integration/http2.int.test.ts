/**
 * HTTPS with HTTP/2 on the public port (SPEC 3): with TLS_CERT and TLS_KEY the gateway speaks
 * HTTP/2 (ALPN) and HTTP/1.1, so a browser can hold many streams on one connection. Runs the real
 * process with a throwaway self-signed certificate made by openssl.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayProcess } from '../helpers/gateway-process.js';
import { sleep, until } from '../helpers/timing.js';

interface H2Stream {
  readonly headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader;
  text: string;
  ended: boolean;
  readonly req: http2.ClientHttp2Stream;
}

function openH2(session: http2.ClientHttp2Session, path: string): Promise<H2Stream> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, accept: 'text/event-stream' });
    req.setEncoding('utf8');
    req.once('response', (headers) => {
      const stream: H2Stream = { headers, text: '', ended: false, req };
      req.on('data', (chunk: string) => {
        stream.text += chunk;
      });
      req.on('end', () => {
        stream.ended = true;
      });
      resolve(stream);
    });
    req.once('error', reject);
  });
}

describe('HTTPS with HTTP/2 (TLS_CERT, TLS_KEY)', () => {
  let dir: string;
  let proc: GatewayProcess;
  let publicPort: number;
  let adminUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ssehub-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { stdio: 'ignore' },
    );
    proc = await GatewayProcess.start({
      env: {
        HOST: '127.0.0.1',
        TLS_CERT: join(dir, 'cert.pem'),
        TLS_KEY: join(dir, 'key.pem'),
        // Age closes land 2000..2400 ms after opening, checked every 250 ms (HEARTBEAT_MS / 4).
        MAX_CONNECTION_AGE_MS: '2000',
        HEARTBEAT_MS: '1000',
        LOG_LEVEL: 'warn',
      },
    });
    publicPort = Number(new URL(proc.publicUrl).port);
    adminUrl = proc.adminUrl;
  });

  afterAll(async () => {
    await proc[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves many streams on one HTTP/2 connection, without connection-specific headers', async () => {
    const session = http2.connect(`https://localhost:${publicPort}`, { rejectUnauthorized: false });
    try {
      const streams = await Promise.all(
        Array.from({ length: 10 }, (_, i) => openH2(session, `/subscribe/h2/${i % 2}`)),
      );
      for (const s of streams) {
        expect(s.headers[':status']).toBe(200);
        expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
        expect(s.headers['connection']).toBeUndefined();
      }
      await until(() => streams.every((s) => s.text.startsWith(': ok\n')), ': ok on every stream');
      const res = await fetch(`${adminUrl}/publish/h2/1?event=hello`, {
        method: 'POST',
        body: 'over h2',
      });
      const { id } = (await res.json()) as { id: string };
      const odd = streams.filter((_, i) => i % 2 === 1);
      await until(
        () => odd.every((s) => s.text.includes('data: over h2')),
        'the event on every h2/1 stream',
      );
      for (const s of odd) expect(s.text).toContain(`id: ${id}\nevent: hello\ndata: over h2\n\n`);
      for (const s of streams.filter((_, i) => i % 2 === 0))
        expect(s.text).not.toContain('over h2');
    } finally {
      session.destroy();
    }
  });

  it('closes an aged stream while the other streams of the same connection keep receiving', async () => {
    const session = http2.connect(`https://localhost:${publicPort}`, { rejectUnauthorized: false });
    try {
      let goaway = false;
      session.on('goaway', () => {
        goaway = true;
      });
      const first = await openH2(session, '/subscribe/age');
      // Far enough apart that the second stream cannot reach its age before the first does.
      await sleep(1500);
      const second = await openH2(session, '/subscribe/age');
      await until(() => second.text.startsWith(': ok\n'), ': ok on the second stream');
      await until(() => first.ended, 'the first stream to reach MAX_CONNECTION_AGE_MS', 6000);
      // The close sent a GOAWAY (new requests go to a new connection), but the second stream,
      // opened earlier on the same connection and younger than the limit, still receives.
      expect(second.ended).toBe(false);
      await until(() => goaway, 'a GOAWAY frame');
      const res = await fetch(`${adminUrl}/publish/age`, { method: 'POST', body: 'still here' });
      expect(res.status).toBe(200);
      await until(() => second.text.includes('data: still here'), 'the event on the second stream');
    } finally {
      session.destroy();
    }
  });

  it('still speaks HTTP/1.1 over TLS, with connection: close on the stream', async () => {
    const body = await new Promise<{
      status: number;
      connection: string | undefined;
      text: string;
    }>((resolve, reject) => {
      const req = https.get(
        {
          host: '127.0.0.1',
          port: publicPort,
          path: '/subscribe/h1',
          rejectUnauthorized: false,
          headers: { accept: 'text/event-stream' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
            if (text.includes('\n\n')) {
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text });
              req.destroy();
            }
          });
        },
      );
      req.on('error', reject);
    });
    expect(body.status).toBe(200);
    expect(body.connection).toBe('close');
    expect(body.text.startsWith(': ok\nretry: ')).toBe(true);
  });
});
