/**
 * Child process of the replica-kill test (replica-kill.int.test.ts): thousands of SSE clients
 * in a process of their own, so their sockets do not count against the test runner's file
 * descriptors. Plain JavaScript because it is forked as is (Node 20 cannot strip types); the
 * messages it exchanges are typed in storm-clients.ts.
 *
 * Each client is a plain TCP socket with a hand-written `GET` (the approach of
 * bench/relay-lag-clients.ts), with the chunked body decoded and the SSE blocks parsed: it keeps
 * every event's id and its Last-Event-ID (the last `id:` seen, heartbeat `id:`-only blocks and
 * opening blocks included). When its stream ends it reconnects like an EventSource: after the
 * last `retry:` it was given, to one of the resume URLs (alternating per attempt), with a
 * `Last-Event-ID` header; the not-ready answer (SPEC 3) and refused connections are retried the
 * same way.
 *
 * Protocol (IPC), parent to child: `start` (StormStart), `progress`, `finish` (StormFinish),
 * `stop`. Child to parent: `open` once every client has its `: ok` on the first URL, `progress`
 * (StormProgress), `result` (StormResult), `error` for anything the parent should fail on.
 */
import net from 'node:net';

const CRLF = '\r\n';
/** Problems kept for the report; the counts cover all of them. */
const MAX_PROBLEMS = 50;

function send(message) {
  process.send?.(message);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Decodes `Transfer-Encoding: chunked` incrementally; `push` returns the body bytes as text. */
class Dechunker {
  #buffer = Buffer.alloc(0);
  /** Bytes left in the current chunk; -1 while reading a size line, -2 while reading its CRLF. */
  #left = -1;

  push(bytes) {
    let buffer = this.#buffer.length === 0 ? bytes : Buffer.concat([this.#buffer, bytes]);
    let out = '';
    for (;;) {
      if (this.#left === -1) {
        const eol = buffer.indexOf(CRLF);
        if (eol === -1) break;
        this.#left = parseInt(buffer.toString('latin1', 0, eol), 16);
        buffer = buffer.subarray(eol + 2);
        if (this.#left === 0) {
          // Last chunk: the stream is over (the socket's end follows).
          this.#left = -3;
          buffer = Buffer.alloc(0);
          break;
        }
      } else if (this.#left === -2) {
        if (buffer.length < 2) break;
        buffer = buffer.subarray(2);
        this.#left = -1;
      } else if (this.#left === -3) {
        buffer = Buffer.alloc(0);
        break;
      } else {
        if (buffer.length === 0) break;
        const take = Math.min(this.#left, buffer.length);
        out += buffer.toString('utf8', 0, take);
        buffer = buffer.subarray(take);
        this.#left -= take;
        if (this.#left === 0) this.#left = -2;
      }
    }
    this.#buffer = buffer;
    return out;
  }
}

class Client {
  /** Ids of the events received, in order, over every connection. */
  ids = [];
  lastId = undefined;
  retryMs = 3000;
  /** Index of the URL the current (or last) connection went to: 0 first, 1 and 2 resume URLs. */
  at = 0;
  /** Whether the current connection got its `: ok`. */
  open = false;
  /** Connections that got `: ok` on a resume URL. */
  resumes = 0;
  /** Not-ready answers and failed connections while resuming. */
  retries = 0;
  attempts = 0;
  /** Last-Event-ID sent on the current connection. */
  sentId = undefined;
  /** Resumes whose Last-Event-ID came from an `id:`-only block (heartbeat), not an event. */
  fromIdOnly = 0;

  constructor(index, topic) {
    this.index = index;
    this.topic = topic;
  }
}

function run(start) {
  const clients = [];
  const problems = [];
  let problemCount = 0;
  let openOnFirst = 0;
  let announcedOpen = false;
  let stopping = false;
  const sockets = new Set();

  const problem = (text) => {
    problemCount += 1;
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };

  for (let i = 0; i < start.clients; i++) {
    clients.push(new Client(i, start.topics[i % start.topics.length]));
  }

  /** Opens one connection of `client` to `start.urls[at]`; resolves once it has a first block or ended. */
  const connect = (client, at) =>
    new Promise((resolveFirst) => {
      let settled = false;
      const first = () => {
        if (!settled) {
          settled = true;
          resolveFirst();
        }
      };
      const url = new URL(`${start.urls[at]}/subscribe/${client.topic}`);
      client.at = at;
      client.open = false;
      client.attempts += 1;
      client.sentId = at === 0 ? undefined : client.lastId;
      if (at !== 0 && client.sentId !== client.ids.at(-1)) client.fromIdOnly += 1;
      const headers = [
        `GET ${url.pathname}${url.search} HTTP/1.1`,
        `host: ${url.host}`,
        'accept: text/event-stream',
        'cache-control: no-cache',
      ];
      if (client.sentId !== undefined) headers.push(`last-event-id: ${client.sentId}`);
      const request = `${headers.join(CRLF)}${CRLF}${CRLF}`;
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.setNoDelay(true);
        socket.write(request);
      });
      sockets.add(socket);
      let head = Buffer.alloc(0);
      let headDone = false;
      let dechunker;
      let text = '';
      let notReady = false;
      // The block being parsed.
      let block = { id: undefined, event: undefined, data: undefined, ok: false, notReady: false };
      let blocks = 0;

      const endBlock = () => {
        const b = block;
        block = { id: undefined, event: undefined, data: undefined, ok: false, notReady: false };
        blocks += 1;
        if (b.notReady) notReady = true;
        if (b.ok) {
          client.open = true;
          if (at === 0) {
            openOnFirst += 1;
            if (!announcedOpen && openOnFirst === start.clients) {
              announcedOpen = true;
              send({ type: 'open' });
            }
          } else {
            client.resumes += 1;
            // The opening block carries the client's cursor (SPEC 3).
            if (b.id !== client.sentId) {
              problem(
                `client ${client.index}: resumed with ${client.sentId} on ${at}, opening id ${b.id}`,
              );
            }
          }
          first();
        } else if (blocks === 1 && !b.notReady) {
          problem(`client ${client.index}: first block on ${at} is neither ok nor not ready`);
        }
        if (b.data !== undefined) {
          if (b.id === undefined) problem(`client ${client.index}: event without id`);
          if (b.event !== undefined) {
            problem(`client ${client.index}: event ${b.event} ${b.data} (id ${b.id}) on ${at}`);
          } else {
            client.ids.push(b.id);
          }
        }
        if (b.id !== undefined) client.lastId = b.id;
      };

      const onText = (chunk) => {
        text += chunk;
        let from = 0;
        for (;;) {
          const eol = text.indexOf('\n', from);
          if (eol === -1) break;
          const line = text.slice(from, eol);
          from = eol + 1;
          if (line === '') {
            endBlock();
            continue;
          }
          const colon = line.indexOf(':');
          if (colon === 0) {
            const comment = line.slice(1).trim();
            if (comment === 'ok') block.ok = true;
            if (comment === 'not ready') block.notReady = true;
            continue;
          }
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'id') block.id = value;
          else if (field === 'event') block.event = value;
          else if (field === 'data')
            block.data = block.data === undefined ? value : `${block.data}\n${value}`;
          else if (field === 'retry') {
            const ms = Number(value);
            if (Number.isInteger(ms)) client.retryMs = ms;
          }
        }
        text = text.slice(from);
      };

      socket.on('data', (bytes) => {
        if (headDone) {
          onText(dechunker === undefined ? bytes.toString('utf8') : dechunker.push(bytes));
          return;
        }
        head = Buffer.concat([head, bytes]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        headDone = true;
        const headText = head.toString('latin1', 0, end);
        const status = headText.slice(0, headText.indexOf(CRLF));
        if (!status.startsWith('HTTP/1.1 200 ')) {
          problem(`client ${client.index}: ${url.href} answered ${status}`);
        }
        if (/\r\ntransfer-encoding: *chunked/i.test(headText)) dechunker = new Dechunker();
        const rest = head.subarray(end + 4);
        head = Buffer.alloc(0);
        if (rest.length > 0)
          onText(dechunker === undefined ? rest.toString('utf8') : dechunker.push(rest));
      });
      socket.on('error', () => {
        // 'close' follows: a refused or reset connection is retried there.
      });
      socket.on('close', () => {
        sockets.delete(socket);
        first();
        const wasOpen = client.open;
        client.open = false;
        if (stopping) return;
        if (at === 0 && !start.killExpected()) {
          problem(`client ${client.index}: stream on the first URL ended before the kill`);
        }
        if (at !== 0) {
          if (wasOpen) problem(`client ${client.index}: resumed stream on ${at} ended`);
          else client.retries += 1;
          if (!wasOpen && !notReady) problem(`client ${client.index}: connection to ${at} failed`);
        }
        // Like an EventSource: wait the last `retry:`, then try the next resume URL.
        const next = 1 + ((client.index + client.attempts) % 2);
        setTimeout(() => {
          if (!stopping) void connect(client, next);
        }, start.reconnectDelayMs ?? client.retryMs);
      });
    });

  const openAll = async () => {
    // A bounded number of connections in flight, so the accept backlog never overflows.
    let next = 0;
    const worker = async () => {
      while (next < clients.length) {
        const client = clients[next++];
        await connect(client, 0);
      }
    };
    await Promise.all(Array.from({ length: start.concurrency }, worker));
  };

  const progress = () => {
    let minEvents = Infinity;
    let resumedOpen = 0;
    let openNow = 0;
    let idOnlyAhead = 0;
    const resumedBy = [0, 0, 0];
    for (const c of clients) {
      minEvents = Math.min(minEvents, c.ids.length);
      if (c.open) openNow += 1;
      if (c.lastId !== c.ids.at(-1)) idOnlyAhead += 1;
      if (c.open && c.at !== 0) {
        resumedOpen += 1;
        resumedBy[c.at] += 1;
      }
    }
    return {
      type: 'progress',
      openOnFirst,
      openNow,
      resumedOpen,
      resumedBy,
      idOnlyAhead,
      minEvents: clients.length === 0 ? 0 : minEvents,
      problemCount,
    };
  };

  const finish = async ({ published, drainMs }) => {
    const started = Date.now();
    const complete = () => clients.every((c) => c.ids.length >= (published[c.topic]?.length ?? 0));
    while (!complete() && Date.now() - started < drainMs) await sleep(50);
    let lost = 0;
    let repeated = 0;
    let unexpected = 0;
    let clientsMismatched = 0;
    let resumedOnce = 0;
    for (const c of clients) {
      const expected = published[c.topic] ?? [];
      const wanted = new Set(expected);
      const got = new Set();
      for (const id of c.ids) {
        if (got.has(id)) repeated += 1;
        else if (!wanted.has(id)) unexpected += 1;
        got.add(id);
      }
      for (const id of expected) if (!got.has(id)) lost += 1;
      const same = c.ids.length === expected.length && c.ids.every((id, k) => id === expected[k]);
      if (!same) {
        clientsMismatched += 1;
        problem(
          `client ${c.index} (${c.topic}): ${c.ids.length} events, ${expected.length} published, first difference at ${c.ids.findIndex((id, k) => id !== expected[k])}`,
        );
      }
      if (c.resumes > 0) resumedOnce += 1;
    }
    const p = progress();
    send({
      type: 'result',
      clients: clients.length,
      delivered: clients.reduce((n, c) => n + c.ids.length, 0),
      lost,
      repeated,
      unexpected,
      clientsMismatched,
      resumedOnce,
      resumedOpen: p.resumedOpen,
      resumedBy: p.resumedBy,
      retries: clients.reduce((n, c) => n + c.retries, 0),
      resumesFromIdOnly: clients.reduce((n, c) => n + c.fromIdOnly, 0),
      drainMs: Date.now() - started,
      problemCount,
      problems,
    });
  };

  process.on('message', (message) => {
    if (message.type === 'progress') send(progress());
    else if (message.type === 'finish') void finish(message);
    else if (message.type === 'stop') {
      stopping = true;
      for (const socket of sockets) socket.destroy();
      process.exit(0);
    }
  });

  openAll().catch((err) => {
    send({ type: 'error', message: String(err) });
  });
}

process.once('message', (message) => {
  let killed = false;
  process.on('message', (m) => {
    if (m.type === 'killing') killed = true;
  });
  run({ ...message, killExpected: () => killed });
});
