/**
 * Benchmark load generator, run as its own process (one process cannot hold 10k client and 10k
 * server sockets, and the clients must not steal the server's event loop). Opens N SSE streams,
 * counts `data:` lines, and tells the parent over IPC when all streams are open and when the
 * expected number of events has arrived.
 */
import http from 'node:http';

interface Start {
  readonly url: string;
  readonly clients: number;
  /** Events each client must receive before reporting done. */
  readonly expectedPerClient: number;
}

const OK = Buffer.from(': ok\n');
const DATA = Buffer.from('\ndata: ');
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function send(message: Record<string, unknown>): void {
  process.send?.(message);
}

process.once('message', (start: Start) => {
  let open = 0;
  let doneClients = 0;
  let received = 0;
  for (let i = 0; i < start.clients; i++) {
    const req = http.get(start.url, { agent, headers: { accept: 'text/event-stream' } }, (res) => {
      let count = 0;
      let isOpen = false;
      let reported = false;
      // Bytes kept from the previous chunk, so a marker split across two chunks is still found.
      let carry: Buffer = Buffer.alloc(0);
      res.on('data', (chunk: Buffer) => {
        const bytes = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
        if (!isOpen && bytes.includes(OK)) {
          isOpen = true;
          open += 1;
          if (open === start.clients) send({ type: 'open' });
        }
        // Native memmem: cheap enough that the server, not this process, is the bottleneck.
        let index = bytes.indexOf(DATA);
        while (index !== -1) {
          count += 1;
          received += 1;
          index = bytes.indexOf(DATA, index + DATA.length);
        }
        carry = bytes.subarray(Math.max(0, bytes.length - (DATA.length - 1)));
        if (carry.includes(DATA)) carry = Buffer.alloc(0);
        if (!reported && count >= start.expectedPerClient) {
          reported = true;
          doneClients += 1;
          if (doneClients === start.clients) send({ type: 'done', received });
        }
      });
    });
    req.on('error', (err) => {
      send({ type: 'error', message: err.message });
    });
  }
});
