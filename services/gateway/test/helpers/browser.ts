/**
 * Real-browser harness for the browser suite: Debian's Chromium through playwright-core (never
 * `playwright install`, TOOLCHAIN.md), a tiny HTML page served from a local `http.createServer`
 * so the page has a real http origin (the gateway is then cross-origin, as in production), and a
 * recorder that opens a page-side `EventSource` and collects what it fires into `window` arrays.
 *
 * The functions handed to `page.evaluate` / `page.waitForFunction` run in the page: they only use
 * their arguments and page globals (typed below, since this package compiles without the DOM lib).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches Debian's Chromium; rejects (the suite fails loudly) when it is not installed. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

const PAGE_HTML =
  '<!doctype html><html><head><meta charset="utf-8"><title>ssehub browser test</title></head>' +
  '<body>ssehub browser test</body></html>';

export interface PageServer {
  /** e.g. http://127.0.0.1:41234/ */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves one empty HTML page on 127.0.0.1:0. */
export async function startPageServer(): Promise<PageServer> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(PAGE_HTML);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

/** What a page-side listener saw for one fired event. */
export interface ReceivedEvent {
  /** The DOM event type: `message`, or the `event:` name. */
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
}

/** An `open` or `error` event, with the EventSource's readyState when it fired. */
export interface StateChange {
  readonly type: 'open' | 'error';
  readonly readyState: number;
}

/** EventSource.readyState values. */
export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 2;

// ---- Page-side types (the DOM lib is not loaded in this package) ----

interface PageMessageEvent {
  readonly type: string;
  readonly data: string;
  readonly lastEventId: string;
}

interface PageEventSource {
  readonly readyState: number;
  onopen: (() => void) | null;
  onerror: (() => void) | null;
  onmessage: ((e: PageMessageEvent) => void) | null;
  addEventListener(type: string, listener: (e: PageMessageEvent) => void): void;
  close(): void;
}

interface PageRecorder {
  readonly source: PageEventSource;
  readonly events: ReceivedEvent[];
  readonly states: StateChange[];
}

interface PageGlobals {
  EventSource: new (url: string) => PageEventSource;
  ssehubStreams?: Record<string, PageRecorder>;
}

/** A page-side EventSource, driven and read from the test. */
export class BrowserStream {
  private constructor(
    readonly page: Page,
    readonly key: string,
  ) {}

  /**
   * Creates `new EventSource(url)` in the page. `onmessage` records unnamed events; each of
   * `names` gets an `addEventListener(name, …)`. Resolves once the object exists (not once open).
   */
  static async open(
    page: Page,
    url: string,
    names: readonly string[] = [],
  ): Promise<BrowserStream> {
    const key = `s${Math.random().toString(36).slice(2)}`;
    await page.evaluate(
      (arg) => {
        const w = globalThis as unknown as PageGlobals;
        const source = new w.EventSource(arg.url);
        const rec: PageRecorder = { source, events: [], states: [] };
        const record = (e: PageMessageEvent): void => {
          rec.events.push({ type: e.type, data: e.data, lastEventId: e.lastEventId });
        };
        source.onmessage = record;
        for (const name of arg.names) source.addEventListener(name, record);
        source.onopen = () => {
          rec.states.push({ type: 'open', readyState: source.readyState });
        };
        source.onerror = () => {
          rec.states.push({ type: 'error', readyState: source.readyState });
        };
        w.ssehubStreams ??= {};
        w.ssehubStreams[arg.key] = rec;
      },
      { url, names: [...names], key },
    );
    return new BrowserStream(page, key);
  }

  /** Everything recorded so far. */
  events(): Promise<ReceivedEvent[]> {
    return this.page.evaluate((key) => {
      const rec = (globalThis as unknown as PageGlobals).ssehubStreams?.[key];
      return rec === undefined ? [] : rec.events;
    }, this.key);
  }

  states(): Promise<StateChange[]> {
    return this.page.evaluate((key) => {
      const rec = (globalThis as unknown as PageGlobals).ssehubStreams?.[key];
      return rec === undefined ? [] : rec.states;
    }, this.key);
  }

  readyState(): Promise<number> {
    return this.page.evaluate((key) => {
      const rec = (globalThis as unknown as PageGlobals).ssehubStreams?.[key];
      return rec === undefined ? -1 : rec.source.readyState;
    }, this.key);
  }

  /** Waits until at least `count` events were recorded. */
  async waitForEvents(count: number, timeoutMs = 10_000): Promise<ReceivedEvent[]> {
    await this.page.waitForFunction(
      (arg) => {
        const rec = (globalThis as unknown as PageGlobals).ssehubStreams?.[arg.key];
        return rec !== undefined && rec.events.length >= arg.count;
      },
      { key: this.key, count },
      { timeout: timeoutMs, polling: 50 },
    );
    return this.events();
  }

  /** Waits until at least `count` state changes of `type` were recorded. */
  async waitForStates(
    type: StateChange['type'],
    count: number,
    timeoutMs = 10_000,
  ): Promise<StateChange[]> {
    await this.page.waitForFunction(
      (arg) => {
        const rec = (globalThis as unknown as PageGlobals).ssehubStreams?.[arg.key];
        return (
          rec !== undefined && rec.states.filter((s) => s.type === arg.type).length >= arg.count
        );
      },
      { key: this.key, type, count },
      { timeout: timeoutMs, polling: 50 },
    );
    return this.states();
  }

  /** `EventSource.close()` in the page. */
  async close(): Promise<void> {
    await this.page.evaluate((key) => {
      (globalThis as unknown as PageGlobals).ssehubStreams?.[key]?.source.close();
    }, this.key);
  }
}

/** A fresh, empty context with one page on the page server. Disposable. */
export interface BrowserPage {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function openPage(browser: Browser, pageUrl: string): Promise<BrowserPage> {
  const context = await browser.newContext();
  const close = async (): Promise<void> => {
    // Closing the context closes its pages and ends their EventSources' connections.
    await context.close();
  };
  try {
    const page = await context.newPage();
    await page.goto(pageUrl);
    return { context, page, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}
