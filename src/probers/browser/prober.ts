// Browser prober: load the page in the shared headless Chromium (a fresh context), act as a user,
// wait for what should be there, then read the browser's own timing — first byte, Largest
// Contentful Paint, Cumulative Layout Shift — and what went wrong in the page, each against its
// limits. A failed or degraded run keeps a screenshot.
import { performance } from 'node:perf_hooks';
import type { ProbeSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/units.js';
import { check, checkLimit, failureFromChecks, limitChecks } from '../checks.js';
import { browserFailure } from '../chromium.js';
import { pageLimitChecks, runActions, screenshotOf, untilAborted, watchPage, type ActionFailed } from '../browser-page.js';
import type { CheckResult, Failure, ProbeContext, ProberOutcome } from '../types.js';
import type { BrowserDetail } from './kind.js';

export async function probeBrowser(spec: ProbeSpec<'browser'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const detail: BrowserDetail = { kind: 'browser', page: undefined, ttfbMs: undefined, lcpMs: undefined, cls: undefined, waitedMs: undefined };
  const checks: CheckResult[] = [];
  const chromium = ctx.browser?.();
  if (!chromium) return { failure: { code: 'browser', message: 'browser probes need the daemon\'s shared Chromium (they run in the daemon and in flowprobe probe)' }, phases: {}, checks, detail };
  const deadline = performance.now() + spec.timeoutMs;
  const left = () => Math.max(1, Math.ceil(deadline - performance.now()));
  const opened = await chromium.page(ctx.signal, { headers: spec.headers, cookies: spec.cookies && Object.entries(spec.cookies).map(([name, value]) => ({ name, value, url: spec.url })) });
  if ('failure' in opened) return { failure: opened.failure, phases: {}, checks, detail };
  const { page } = opened;
  const report = watchPage(page, spec.url, ctx.redact);
  detail.page = report;
  const run = async (): Promise<Failure | undefined> => {
    const loading = performance.now();
    try {
      await untilAborted(page.goto(spec.url, { waitUntil: 'load', timeout: left() }), ctx.signal);
    } catch (error) {
      return browserFailure(error, `loaded ${ctx.redact(spec.url)}`);
    }
    report.loadMs = performance.now() - loading;
    try {
      await runActions(page, spec.actions, left, ctx.signal);
    } catch (error) {
      const failure = browserFailure((error as ActionFailed).cause, 'did it');
      return { code: failure.code, message: `${(error as ActionFailed).message}: ${failure.message}` };
    }
    if (spec.waitFor) {
      const { selector, text, within } = spec.waitFor;
      const target = text === undefined ? page.locator(selector).first() : page.locator(selector).filter({ hasText: text }).first();
      const waiting = performance.now();
      try {
        await untilAborted(target.waitFor({ state: 'visible', timeout: Math.min(left(), within) }), ctx.signal);
      } catch (error) {
        const failure = browserFailure(error, `waited for ${selector}`);
        const what = `${selector}${text === undefined ? '' : ` showing ${JSON.stringify(ctx.redact(text)).slice(0, 80)}`}`;
        checks.push(check('wait for', false, `${what} visible within ${formatDuration(within)}`, failure.code === 'timeout' ? 'not visible' : failure.message));
        return failure.code === 'timeout' ? { code: 'assertion', message: `${what} not visible on the page within ${formatDuration(within)} of its load` } : failure;
      }
      detail.waitedMs = performance.now() - waiting;
      checks.push(check('wait for', true, `${selector} visible`, formatDuration(detail.waitedMs)));
    }
    Object.assign(detail, await vitalsOf(page, left()));
    return undefined;
  };
  try {
    const failure = await run();
    const limits = spec.expect;
    const soft = spec.degradeWhen;
    checks.push(
      ...pageLimitChecks(undefined, report, limits, soft),
      ...limitChecks([
        checkLimit('first byte', detail.ttfbMs, { fail: limits.ttfb, degrade: soft.ttfb }, 'duration'),
        checkLimit('largest contentful paint', detail.lcpMs, { fail: limits.lcp, degrade: soft.lcp }, 'duration'),
        clsCheck(detail.cls, limits.cls, soft.cls),
      ]),
    );
    const outcome = failure ?? failureFromChecks(checks);
    if (ctx.screenshot && (outcome !== undefined || checks.some((c) => c.degraded))) {
      const jpeg = await screenshotOf(page);
      if (jpeg) (ctx.screenshot({ probe: spec.name, runId: ctx.runId, leg: 'page', at: Date.now(), jpeg }), (report.screenshot = true));
    }
    const phases = detail.ttfbMs === undefined ? {} : { first_byte: detail.ttfbMs };
    return { failure: outcome, phases, checks, detail };
  } finally {
    await opened.close();
  }
}

/** CLS is unitless: its limit compared as a plain number. */
function clsCheck(cls: number | undefined, fail: number | undefined, degrade: number | undefined): CheckResult | undefined {
  if (fail === undefined && degrade === undefined) return undefined;
  if (cls === undefined) return check('cumulative layout shift', fail === undefined, `<= ${fail ?? degrade}`, 'none reported');
  const ok = fail === undefined || cls <= fail;
  const result = check('cumulative layout shift', ok, fail === undefined ? `<= ${degrade} (else degraded)` : `<= ${fail}`, cls.toFixed(3));
  return ok && degrade !== undefined && cls > degrade ? { ...result, degraded: true } : result;
}

/** Runs in the page (a string: it is the browser's JavaScript, not this process's). */
const VITALS = `new Promise((resolve) => {
  const nav = performance.getEntriesByType('navigation')[0];
  let lcp = null;
  let cls = null;
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) lcp = e.renderTime || e.loadTime || e.startTime; }).observe({ type: 'largest-contentful-paint', buffered: true });
    new PerformanceObserver((list) => { for (const e of list.getEntries()) if (!e.hadRecentInput) cls = (cls || 0) + e.value; }).observe({ type: 'layout-shift', buffered: true });
    if (cls === null) cls = 0;
  } catch (e) {}
  setTimeout(() => resolve({ ttfb: nav ? nav.responseStart - nav.startTime : null, lcp, cls }), 50);
})`;

/** What the browser measured of the page: the navigation's first byte, the largest contentful
 * paint so far and the layout shifts not caused by input (buffered entries, read once). */
async function vitalsOf(page: import('playwright-core').Page, timeoutMs: number): Promise<Pick<BrowserDetail, 'ttfbMs' | 'lcpMs' | 'cls'>> {
  const read = page.evaluate(VITALS) as Promise<{ ttfb: number | null; lcp: number | null; cls: number | null }>;
  try {
    const got = await Promise.race([read, new Promise<undefined>((resolve) => setTimeout(resolve, Math.min(timeoutMs, 2_000)))]);
    return { ttfbMs: got?.ttfb ?? undefined, lcpMs: got?.lcp ?? undefined, cls: got?.cls ?? undefined };
  } catch {
    return { ttfbMs: undefined, lcpMs: undefined, cls: undefined };
  }
}
