// What a run sees of a page, shared by flows' browser steps and the browser kind: what went wrong
// in it (console errors, uncaught exceptions, failed requests; listed up to 20 each, counted
// beyond), its limits as checks, and browser calls bounded by the run's signal.
import type { Page } from 'playwright-core';
import type { BrowserAction } from '../config/probe-fields.js';
import { formatDuration } from '../config/units.js';
import { check, checkLimit } from './checks.js';
import type { CheckResult } from './types.js';

export interface BrowserPageReport {
  url: string;
  loadMs: number | undefined;
  consoleErrors: string[];
  exceptions: string[];
  failedRequests: string[];
  /** Counted beyond the 20 listed. */
  more: number;
  /** A screenshot was kept (GET /probes/NAME/screenshot.jpg). */
  screenshot: boolean;
}

const LISTED = 20;
export const MAX_SCREENSHOT_BYTES = 512 * 1024;

/** Starts listening to the page for what goes wrong in it. */
export function watchPage(page: Page, url: string, redact: (text: string) => string): BrowserPageReport {
  const report: BrowserPageReport = { url: redact(url), loadMs: undefined, consoleErrors: [], exceptions: [], failedRequests: [], more: 0, screenshot: false };
  const note = (list: string[], line: string) => (list.length < LISTED ? list.push(redact(line).slice(0, 300)) : report.more++);
  page.on('console', (m) => m.type() === 'error' && note(report.consoleErrors, m.text()));
  page.on('pageerror', (e) => note(report.exceptions, e.message));
  page.on('requestfailed', (r) => note(report.failedRequests, `${r.method()} ${r.url()}: ${r.failure()?.errorText ?? 'failed'}`));
  page.on('response', (r) => r.status() >= 400 && note(report.failedRequests, `${r.request().method()} ${r.url()}: status ${r.status()}`));
  return report;
}

/** The page's own limits as checks: load time, console errors (and exceptions), failed requests.
 * `leg` names a flow's browser leg ("console errors at ui"); a browser probe has none. */
export function pageLimitChecks(leg: string | undefined, report: BrowserPageReport, limits: { pageLoad?: number | undefined; consoleErrors?: number | undefined; failedRequests?: number | undefined }, degrade: { pageLoad?: number | undefined } = {}): CheckResult[] {
  const at = leg === undefined ? '' : ` at ${leg}`;
  const page = leg === undefined ? 'the page' : `page ${leg}`;
  const checks: CheckResult[] = [];
  const load = checkLimit(`page load${at}`, report.loadMs, { fail: limits.pageLoad, degrade: degrade.pageLoad }, 'duration');
  if (load) checks.push(!load.ok && limits.pageLoad !== undefined ? { ...load, headline: `${page} loaded in ${report.loadMs === undefined ? 'no time (it never loaded)' : formatDuration(report.loadMs)} > ${formatDuration(limits.pageLoad)}` } : load);
  const errors = [...report.exceptions, ...report.consoleErrors];
  if (limits.consoleErrors !== undefined) checks.push({ ...check(`console errors${at}`, errors.length <= limits.consoleErrors, `<= ${limits.consoleErrors}`, String(errors.length)), headline: `${errors.length} console error(s) on ${page} > ${limits.consoleErrors}${errors[0] ? `: ${errors[0]}` : ''}` });
  if (limits.failedRequests !== undefined) checks.push({ ...check(`failed requests${at}`, report.failedRequests.length <= limits.failedRequests, `<= ${limits.failedRequests}`, String(report.failedRequests.length)), headline: `${report.failedRequests.length} failed request(s) on ${page} > ${limits.failedRequests}${report.failedRequests[0] ? `: ${report.failedRequests[0]}` : ''}` });
  return checks;
}

/** The promise, or a rejection when the run's signal fires first (a page wait's own timeout is
 * the backstop: playwright does not take an AbortSignal). */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, reason: () => Error = () => new Error('Timeout exceeded: the run was cut off at its deadline')): Promise<T> {
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => (signal.removeEventListener('abort', onAbort), resolve(value)),
      (error: unknown) => (signal.removeEventListener('abort', onAbort), reject(error)),
    );
  });
}

/** A page's actions in order (click, select, type), each within what is left of the run;
 * `render` fills a flow's templates ("{{run.id}}") into the values. Throws what the first
 * action that failed threw, with its index. */
export async function runActions(page: Page, actions: readonly BrowserAction[], left: () => number, signal: AbortSignal, render: (value: string) => string = (value) => value): Promise<void> {
  for (const [i, action] of actions.entries()) {
    try {
      if ('click' in action) await untilAborted(page.locator(action.click).first().click({ timeout: left() }), signal);
      else if ('select' in action) for (const [selector, value] of Object.entries(action.select)) await untilAborted(page.locator(selector).first().selectOption(render(value), { timeout: left() }), signal);
      else for (const [selector, value] of Object.entries(action.type)) await untilAborted(page.locator(selector).first().fill(render(value), { timeout: left() }), signal);
    } catch (error) {
      throw new ActionFailed(i, Object.keys(action)[0] as string, error);
    }
  }
}

/** Which action failed (1-based in words), and what it threw. */
export class ActionFailed extends Error {
  constructor(
    readonly index: number,
    readonly verb: string,
    override readonly cause: unknown,
  ) {
    super(`action ${index + 1} (${verb})`);
  }
}

/** A JPEG of the page as it is, or undefined (the page is gone, or the picture too big). */
export async function screenshotOf(page: Page): Promise<Buffer | undefined> {
  const jpeg = await page.screenshot({ type: 'jpeg', quality: 60, timeout: 2_000 }).catch(() => undefined);
  return jpeg && jpeg.length <= MAX_SCREENSHOT_BYTES ? jpeg : undefined;
}
