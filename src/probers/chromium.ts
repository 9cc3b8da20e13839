// One headless Chromium shared by every browser step and browser probe: playwright-core driving
// the system's chromium (it never downloads a browser of its own), started on the first run
// that needs it, never by a daemon without browser probes. Each run gets a fresh context (no
// cookie, cache or storage is shared between runs); at most `maxPages` runs hold a page at
// once, the rest wait their turn (counted). A Chromium that crashes or stops answering fails
// the runs it was serving, by name, and the next run starts a new one.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { untilAborted } from './browser-page.js';
import type { Failure } from './types.js';

export interface ChromiumOptions {
  /** Runs that hold a page at once; beyond it, runs wait (within their own deadline). */
  maxPages: number;
  /** The browser binary: the system's chromium unless set. */
  executable?: string | undefined;
}

export interface PageOptions {
  headers: Record<string, string> | undefined;
  cookies: Array<{ name: string; value: string; url: string }> | undefined;
}

/** A page of its own for one run; `close` ends its context (and frees the slot). */
export interface RunPage {
  page: Page;
  close(): Promise<void>;
}

/** The flags a service needs: headless, no sandbox of Chromium's own (the unit's and the
 * container's apply instead), no GPU, no background traffic of the browser's own. */
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--mute-audio'];
const LAUNCH_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 2_000;
const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium'];

export class Chromium {
  private browser: Promise<Browser> | undefined;
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Counters for the metrics: runs that waited for a page, and browsers started. */
  queuedTotal = 0;
  launches = 0;
  crashes = 0;
  /** The command-line switch that marks the current launch's process (see killChildren). */
  private marker: string | undefined;
  private closed = false;

  constructor(private readonly options: ChromiumOptions) {}

  get pagesInUse(): number {
    return this.active;
  }

  get runsWaiting(): number {
    return this.waiting.length;
  }

  /** A fresh context and page, once a slot is free; a failure (named) when Chromium cannot be
   * started or the run's deadline comes first. */
  async page(signal: AbortSignal, options: PageOptions): Promise<RunPage | { failure: Failure }> {
    const got = await this.slot(signal);
    if (!got) return { failure: { code: 'timeout', message: `no browser page free within the run's deadline (browser.maxPages ${this.options.maxPages} in use, ${this.waiting.length} run(s) waiting)` } };
    let context: BrowserContext | undefined;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
    let launched = false;
    try {
      const browser = await bySignal(this.launched(), signal);
      launched = true;
      const making = browser.newContext({ extraHTTPHeaders: options.headers, viewport: { width: 1280, height: 800 }, ignoreHTTPSErrors: false, serviceWorkers: 'block' });
      // A context made after the run gave up is closed, not leaked.
      making.then(
        (late) => {
          if (context === undefined && signal.aborted) late.close().catch(() => undefined);
        },
        () => undefined,
      );
      context = await bySignal(making, signal);
      if (options.cookies?.length) await bySignal(context.addCookies(options.cookies), signal);
      const page = await bySignal(context.newPage(), signal);
      const opened = context;
      return {
        page,
        close: async () => {
          // A context that does not close is a browser that no longer answers (hung, stopped):
          // it is ended, and the next run starts a new one.
          await withTimeout(opened.close(), CLOSE_TIMEOUT_MS).catch(() => this.restart());
          release();
        },
      };
    } catch (error) {
      if (context) await withTimeout(context.close(), CLOSE_TIMEOUT_MS).catch(() => undefined);
      // Opening a page takes milliseconds: a browser that did not within the run's time is hung.
      // (A browser still starting is left to start: the next run will have it.)
      if (error instanceof RunOver && launched && this.browser) await this.restart();
      release();
      if (error instanceof RunOver) return { failure: launched ? { code: 'browser', message: 'the browser (Chromium) did not open a page within the run\'s deadline: it was ended, and the next run starts a new one' } : { code: 'browser', message: 'the browser (Chromium) was still starting when the run\'s deadline came' } };
      return { failure: browserFailure(error, 'could not open a page') };
    }
  }

  /** Starts Chromium now (a daemon with browser probes, at start), so the first run does not
   * pay for the launch; a failure here is the first run's to report. */
  warm(): void {
    this.launched().catch(() => undefined);
  }

  /** Ends a browser that stopped answering: closed if it will, killed if not. */
  private async restart(): Promise<void> {
    const browser = this.browser;
    if (!browser) return;
    this.browser = undefined;
    const marker = this.marker;
    await withTimeout(browser.then((b) => b.close()), CLOSE_TIMEOUT_MS).catch(() => killChildren(marker));
  }

  async close(): Promise<void> {
    this.closed = true;
    const browser = this.browser;
    this.browser = undefined;
    if (browser) await withTimeout(browser.then((b) => b.close()), 5_000).catch(() => undefined);
  }

  /** Waits for a free page slot; false when the signal fires first. */
  private slot(signal: AbortSignal): Promise<boolean> {
    if (this.active < this.options.maxPages) {
      this.active++;
      return Promise.resolve(true);
    }
    this.queuedTotal++;
    return new Promise((resolve) => {
      const go = () => {
        signal.removeEventListener('abort', give);
        this.active++;
        resolve(true);
      };
      const give = () => {
        const at = this.waiting.indexOf(go);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(false);
      };
      this.waiting.push(go);
      signal.addEventListener('abort', give, { once: true });
    });
  }

  private launched(): Promise<Browser> {
    if (this.closed) return Promise.reject(new Error('the daemon is stopping'));
    this.browser ??= (async () => {
      const executablePath = this.options.executable ?? SYSTEM_CHROMIUM.find((p) => existsSync(p));
      if (!executablePath) throw new BrowserMissing();
      const { chromium } = await import('playwright-core');
      this.launches++;
      // A switch Chromium ignores, on this launch's command line only: what a hung one is
      // found by (Debian's /usr/bin/chromium is a script that execs another path).
      this.marker = `--flowprobe-browser=${process.pid}-${this.launches}`;
      const browser = await chromium.launch({ executablePath, args: [...CHROMIUM_FLAGS, this.marker], timeout: LAUNCH_TIMEOUT_MS, handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
      browser.on('disconnected', () => {
        // Crashed or killed: the runs it served fail; the next run starts a new one.
        if (!this.closed) this.crashes++;
        this.browser = undefined;
      });
      return browser;
    })();
    const starting = this.browser;
    starting.catch(() => {
      if (this.browser === starting) this.browser = undefined;
    });
    return starting;
  }
}

/** SIGKILL to this process's children whose command line carries `marker` (one launch's
 * Chromium: a hung one ignores everything gentler; its helpers are its children and go with it). */
function killChildren(marker: string | undefined): void {
  if (!marker) return;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(marker)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

export class BrowserMissing extends Error {
  constructor() {
    super(`no Chromium found (${SYSTEM_CHROMIUM.join(', ')}): install the Debian package chromium, or set browser.executable`);
  }
}

/** A Playwright error in the words of the rest of the daemon: what broke, never a stack. */
export function browserFailure(error: unknown, doing: string): Failure {
  if (error instanceof BrowserMissing) return { code: 'browser', message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  if (/Target (page, context or browser )?(has been )?closed|Browser has been closed|browser has disconnected|Target crashed|Page crashed/i.test(message)) return { code: 'browser', message: `the browser (Chromium) exited while it ${doing === 'could not open a page' ? 'opened a page' : doing}` };
  if (/Timeout [\d.]+ms exceeded|Timeout exceeded/i.test(message)) return { code: 'timeout', message: `the run's deadline came while the browser was ${doing.replace(/^loaded /, 'loading ').replace(/^waited /, 'waiting ').replace(/^did it$/, 'doing it').replace(/^could not open a page$/, 'opening a page')}` };
  if (/Failed to launch|spawn|ENOENT|EACCES/i.test(message)) return { code: 'browser', message: `Chromium could not be started: ${firstLine(message)}` };
  if (/net::ERR_CONNECTION_REFUSED/.test(message)) return { code: 'connect', message: `${doing}: connection refused` };
  if (/net::ERR_UNSAFE_PORT/.test(message)) return { code: 'connect', message: `${doing}: the browser refuses this port (a port browsers never connect to, like 9 or 25)` };
  if (/net::ERR_NAME_NOT_RESOLVED/.test(message)) return { code: 'dns', message: `${doing}: the host name does not resolve` };
  if (/net::ERR_CERT|SSL/.test(message)) return { code: 'tls', message: `${doing}: ${firstLine(message).replace(/^.*?(net::ERR_\w+).*$/, 'the certificate was refused ($1)')}` };
  if (/net::ERR_/.test(message)) return { code: 'connect', message: `${doing}: ${firstLine(message).replace(/^.*?(net::ERR_\w+).*$/, '$1')}` };
  return { code: 'browser', message: `${doing}: ${firstLine(message)}` };
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? text).slice(0, 300);
}

class RunOver extends Error {}

/** The promise, or a RunOver rejection when the run's signal fires first. */
function bySignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return untilAborted(promise, signal, () => new RunOver());
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`Timeout ${ms}ms exceeded`)), ms)))]).finally(() => clearTimeout(timer));
}
