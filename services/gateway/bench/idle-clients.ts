/**
 * Client side of the idle-memory bench (idle-memory.ts), run as its own process (a process has
 * 20000 file descriptors here, and the clients must not share memory or an event loop with the
 * server measured). Opens `count` SSE streams, stream i on `<url>/subscribe/bench/<(first + i) %
 * topics>`, at most `concurrency` of them connecting at a time, and holds them open and idle,
 * reading and dropping whatever arrives (heartbeats).
 *
 * The streams are plain TCP sockets with a hand-written `GET` (as in relay-lag-clients.ts), so a
 * stream costs this process little and a refused one is seen: a stream is open once the answer
 * starts `HTTP/1.1 200 ` and holds `: ok`; any other answer, or an end before `: ok`, is an error.
 *
 * Protocol (IPC): parent sends `open`; child answers `open` once every stream has its `: ok`, or
 * `error` at the first failure. Parent may send `status`; child answers `status` with how many
 * streams are open and how many have closed since they opened.
 */
import net from 'node:net';

export interface IdleClientsOpen {
  readonly type: 'open';
  /** Base URL of the server, `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly count: number;
  /** Index of this process's first stream, for the topic spread across client processes. */
  readonly first: number;
  readonly topics: number;
  readonly concurrency: number;
}

export interface IdleClientsStatus {
  readonly type: 'status';
  readonly open: number;
  readonly closed: number;
}

const STATUS_OK = Buffer.from('HTTP/1.1 200 ');
const OK = Buffer.from(': ok\n');

function send(message: Record<string, unknown>): void {
  process.send?.(message);
}

function run(start: IdleClientsOpen): void {
  const url = new URL(start.url);
  const port = Number(url.port);
  let started = 0;
  let open = 0;
  let closed = 0;
  let failed = false;

  const fail = (message: string): void => {
    if (failed) return;
    failed = true;
    send({ type: 'error', message });
  };

  const connect = (index: number): void => {
    const path = `/subscribe/bench/${(start.first + index) % start.topics}`;
    const socket = net.connect(port, url.hostname, () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nhost: ${url.host}\r\naccept: text/event-stream\r\n\r\n`,
      );
    });
    let isOpen = false;
    let head: Buffer | undefined = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      if (head === undefined) return; // open: heartbeats are read and dropped
      head = Buffer.concat([head, chunk]);
      if (
        head.length >= STATUS_OK.length &&
        !head.subarray(0, STATUS_OK.length).equals(STATUS_OK)
      ) {
        fail(`GET ${path} answered ${head.toString('latin1', 0, head.indexOf('\r'))}`);
        socket.destroy();
        return;
      }
      if (!head.includes(OK)) return;
      head = undefined;
      isOpen = true;
      open += 1;
      if (open === start.count) send({ type: 'open', open });
      next();
    });
    socket.on('close', () => {
      if (isOpen) {
        closed += 1;
        open -= 1;
      } else if (head !== undefined) {
        fail(`GET ${path} ended before ': ok': ${JSON.stringify(head.toString('latin1'))}`);
      }
    });
    socket.on('error', (err) => {
      if (!isOpen) fail(`GET ${path}: ${err.message}`);
    });
  };

  function next(): void {
    if (failed || started >= start.count) return;
    connect(started);
    started += 1;
  }

  for (let i = 0; i < start.concurrency; i++) next();
  if (start.count === 0) send({ type: 'open', open: 0 });

  process.on('message', (message: { readonly type?: unknown }) => {
    if (message.type === 'status') {
      const status: IdleClientsStatus = { type: 'status', open, closed };
      send({ ...status });
    }
  });
}

process.once('message', (message: IdleClientsOpen) => {
  run(message);
});
