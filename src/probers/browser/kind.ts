// The browser kind: a page on its own in headless Chromium. What its runs report (load, the Web
// Vitals the browser gives, what went wrong in the page), how that reads, its figures. Its schema
// is ./schema.ts, its prober ./prober.ts; the Chromium it shares with flows is ../chromium.ts.
import { formatDuration } from '../../config/units.js';
import type { BrowserPageReport } from '../browser-page.js';
import type { Kind } from '../kinds.js';

declare module '../kinds.js' {
  interface Details {
    browser: BrowserDetail;
  }
}

export interface BrowserDetail {
  kind: 'browser';
  page: BrowserPageReport | undefined;
  /** From the browser's own timing: first byte of the document, Largest Contentful Paint (ms),
   * Cumulative Layout Shift (unitless); undefined where the browser gave none. */
  ttfbMs: number | undefined;
  lcpMs: number | undefined;
  cls: number | undefined;
  /** From the load to what waitFor waits for. */
  waitedMs: number | undefined;
}

const ms = (v: number | undefined) => (v === undefined ? '-' : formatDuration(v));

export const browserKind: Kind<'browser', undefined> = {
  series: () => undefined,
  prober: async () => (await import('./prober.js')).probeBrowser,
  emptyDetail: () => ({ kind: 'browser', page: undefined, ttfbMs: undefined, lcpMs: undefined, cls: undefined, waitedMs: undefined }),
  figure: (d, figure) => (figure.name === 'total' ? d.page?.loadMs : figure.name === 'phase' && figure.phase === 'first_byte' ? d.ttfbMs : undefined),
  main: { figure: { name: 'total' }, label: 'page load' },
  target: (spec) => `page ${spec.url}`,
  figures: () => ['duration', 'total', 'phase.first_byte'],
  describe: (d) => {
    const p = d.page;
    return [
      `browser: loaded in ${ms(p?.loadMs)} · first byte ${ms(d.ttfbMs)} · LCP ${ms(d.lcpMs)} · CLS ${d.cls === undefined ? '-' : d.cls.toFixed(3)}${d.waitedMs === undefined ? '' : ` · waited ${ms(d.waitedMs)}`}`,
      ...(p ? [`      ${p.consoleErrors.length + p.exceptions.length} console error(s) · ${p.failedRequests.length} failed request(s)${p.more ? ` (+${p.more} more)` : ''}${p.screenshot ? ' · screenshot kept' : ''}`] : []),
      ...(p ? [...p.exceptions.map((e) => `exception: ${e}`), ...p.consoleErrors.map((e) => `console: ${e}`), ...p.failedRequests.map((e) => `request: ${e}`)].slice(0, 10).map((line) => `        ${line}`) : []),
    ];
  },
  declare: () => undefined,
  record: () => undefined,
};
