/**
 * A tiny node:http server that emulates a gateway's publish routes (SPEC.md section 7) and, on
 * demand, its SSE stream (section 3), so the HTTP publisher and the CLI are tested over real
 * sockets without depending on @ssehub/gateway. Each request is recorded with the id of the
 * socket it came on, to check keep-alive reuse.
 */
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** 1 for the first TCP connection the server accepted, 2 for the next, … */
  readonly socketId: number;
}

/** Answers a request instead of the emulated publish route; return false to fall through. */
export type Override = (req: RecordedRequest, res: ServerResponse) => boolean;

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  reply(res, status, { error: { code, message } });
}

interface Stored {
  readonly content: string;
  readonly id: string;
}

export class FakeGateway {
  readonly requests: RecordedRequest[] = [];
  /** Checked before the emulated routes; tests set it to script errors, delays or a stream. */
  override: Override | undefined;
  /** When set, `Authorization: Bearer <token>` is required (the gateway's ADMIN_TOKEN). */
  token: string | undefined;
  readonly #server: http.Server;
  readonly #sockets = new Map<Socket, number>();
  readonly #keys = new Map<string, Stored>();
  #next = 0;

  private constructor() {
    this.#server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const recorded: RecordedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          socketId: this.#sockets.get(req.socket) ?? 0,
        };
        this.requests.push(recorded);
        if (this.override?.(recorded, res) === true) return;
        this.#publishRoute(recorded, res);
      });
    });
    let count = 0;
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.set(socket, ++count);
    });
  }

  static async start(): Promise<FakeGateway> {
    const gateway = new FakeGateway();
    await new Promise<void>((resolve) => {
      gateway.#server.listen(0, '127.0.0.1', resolve);
    });
    return gateway;
  }

  get url(): string {
    const address = this.#server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    return `http://127.0.0.1:${port}`;
  }

  /** How many TCP connections the server has accepted. */
  get connections(): number {
    return this.#sockets.size;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
  }

  #id(): string {
    this.#next += 1;
    return `e1.0.${this.#next}`;
  }

  /** Stores one event under its idempotency key the way the gateway does; null on a conflict. */
  #store(event: Record<string, unknown>, key: string | undefined): string | null {
    const content = JSON.stringify([event['topic'], event['event'] ?? '', event['data']]);
    if (key === undefined) return this.#id();
    const seen = this.#keys.get(key);
    if (seen !== undefined) return seen.content === content ? seen.id : null;
    const id = this.#id();
    this.#keys.set(key, { content, id });
    return id;
  }

  #publishRoute(req: RecordedRequest, res: ServerResponse): void {
    if (req.method !== 'POST' || req.url !== '/publish') {
      error(res, 404, 'NOT_FOUND', `No route ${req.method} ${req.url}.`);
      return;
    }
    if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
      error(res, 401, 'UNAUTHORIZED', 'A valid admin token is required.');
      return;
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      error(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'POST /publish takes application/json.');
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      error(res, 400, 'INVALID_BODY', 'The body is not JSON.');
      return;
    }
    const header = req.headers['idempotency-key'];
    const key = typeof header === 'string' ? header : undefined;
    if (Array.isArray(body['events'])) {
      if (key !== undefined) {
        error(res, 400, 'INVALID_BODY', 'Use an idempotencyKey field per event in a batch.');
        return;
      }
      const events = body['events'] as Record<string, unknown>[];
      const ids: string[] = [];
      for (const e of events) {
        const k = e['idempotencyKey'];
        const id = this.#store(e, typeof k === 'string' ? k : undefined);
        if (id === null) {
          error(res, 409, 'IDEMPOTENCY_CONFLICT', 'The key was used for other content.');
          return;
        }
        ids.push(id);
      }
      reply(res, 200, { ids });
      return;
    }
    if (typeof body['topic'] !== 'string' || body['data'] === undefined) {
      error(res, 400, 'INVALID_BODY', 'topic and data are required.');
      return;
    }
    const id = this.#store(body, key);
    if (id === null) {
      error(res, 409, 'IDEMPOTENCY_CONFLICT', 'The key was used for other content.');
      return;
    }
    reply(res, 200, { id });
  }
}
