/**
 * A minimal Chrome DevTools Protocol client for another Node process started with
 * `--inspect=127.0.0.1:0`: just enough WebSocket (RFC 6455: text frames, masked from the client,
 * unfragmented or fragmented from the server) to call a method and await its answer. The memory
 * bench uses it to force a full garbage collection in the gateway (`HeapProfiler.collectGarbage`)
 * without changing the gateway's code; Node 20 has no WebSocket client without a flag.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

interface Pending {
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** One masked client frame (`opcode`, FIN set) carrying `payload`. */
function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const head =
    length < 126 ? Buffer.alloc(2) : length < 0x10000 ? Buffer.alloc(4) : Buffer.alloc(10);
  head.writeUInt8(0x80 | opcode, 0);
  if (length < 126) head.writeUInt8(0x80 | length, 1);
  else if (length < 0x10000) {
    head.writeUInt8(0x80 | 126, 1);
    head.writeUInt16BE(length, 2);
  } else {
    head.writeUInt8(0x80 | 127, 1);
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  const body = Buffer.alloc(length);
  for (let i = 0; i < length; i++) body[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([head, mask, body]);
}

export class Inspector {
  readonly #socket: net.Socket;
  readonly #pending = new Map<number, Pending>();
  #buffer: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #nextId = 1;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#receive(chunk);
    });
    const fail = (reason: string): void => {
      for (const [id, pending] of this.#pending) {
        clearTimeout(pending.timer);
        pending.reject(new Error(`inspector: ${reason} before the answer to call ${id}`));
      }
      this.#pending.clear();
    };
    socket.on('error', (err) => {
      fail(err.message);
    });
    socket.on('close', () => {
      fail('connection closed');
    });
  }

  /** Opens the WebSocket at `wsUrl` (`ws://host:port/uuid`, from the `--inspect` banner). */
  static connect(wsUrl: string, timeoutMs = 10_000): Promise<Inspector> {
    const url = new URL(wsUrl);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname);
      let head: Buffer = Buffer.alloc(0);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`inspector ${wsUrl}: no handshake within ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new Error(`inspector ${wsUrl}: ${err.message}`));
      };
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        const status = head.toString('latin1', 0, head.indexOf('\r\n'));
        if (!status.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          reject(new Error(`inspector ${wsUrl}: handshake answered ${status}`));
          return;
        }
        const inspector = new Inspector(socket);
        inspector.#receive(head.subarray(end + 4));
        resolve(inspector);
      };
      socket.on('error', onError);
      socket.on('data', onData);
      socket.once('connect', () => {
        socket.write(
          `GET ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\nupgrade: websocket\r\n` +
            `connection: Upgrade\r\nsec-websocket-key: ${randomBytes(16).toString('base64')}\r\n` +
            'sec-websocket-version: 13\r\n\r\n',
        );
      });
    });
  }

  /** Calls a protocol method and resolves with its `result` (rejects on an `error` answer). */
  call(method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`inspector: no answer to ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#socket.write(frame(OP_TEXT, Buffer.from(JSON.stringify({ id, method, params }))));
    });
  }

  /** Sends a close frame and ends the connection. */
  close(): void {
    if (this.#socket.destroyed) return;
    this.#socket.end(frame(OP_CLOSE, Buffer.alloc(0)));
  }

  #receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const buffer = this.#buffer;
      if (buffer.length < 2) return;
      const first = buffer.readUInt8(0);
      const second = buffer.readUInt8(1);
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      const masked = (second & 0x80) !== 0;
      const mask = masked ? buffer.subarray(offset, offset + 4) : undefined;
      if (masked) offset += 4;
      if (buffer.length < offset + length) return;
      const payload = Buffer.from(buffer.subarray(offset, offset + length));
      if (mask !== undefined) {
        for (let i = 0; i < payload.length; i++)
          payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
      }
      this.#buffer = buffer.subarray(offset + length);
      this.#frame(first, payload);
    }
  }

  #frame(first: number, payload: Buffer): void {
    const opcode = first & 0x0f;
    const fin = (first & 0x80) !== 0;
    if (opcode === OP_CLOSE) {
      this.#socket.end();
      return;
    }
    if (opcode === OP_PING) {
      this.#socket.write(frame(OP_PONG, payload));
      return;
    }
    if (opcode !== OP_TEXT && opcode !== OP_CONTINUATION) return;
    this.#fragments.push(payload);
    if (!fin) return;
    const text = Buffer.concat(this.#fragments).toString('utf8');
    this.#fragments = [];
    const message: unknown = JSON.parse(text);
    if (!isRecord(message) || typeof message['id'] !== 'number') return; // an event
    const pending = this.#pending.get(message['id']);
    if (pending === undefined) return;
    this.#pending.delete(message['id']);
    clearTimeout(pending.timer);
    const error = message['error'];
    if (isRecord(error)) pending.reject(new Error(`inspector: ${JSON.stringify(error)}`));
    else pending.resolve(message['result']);
  }
}
