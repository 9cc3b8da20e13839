// A browser probe as written in a probe file: a page on its own — load it, act as a user, wait
// for what should be there, and judge what the browser measured (Web Vitals), what went wrong in
// the page, and how long it took. The selector, cookie and action fields are also a flow's
// browser step's (config/probe-fields.ts).
import { z } from 'zod';
import { count, headers, text } from '../../config/fields.js';
import { browserAction, cookieName, cssSelector, httpUrl, inRun, probeName, scheduleFields } from '../../config/probe-fields.js';

const vitals = {
  /** Navigation to the load event. */
  pageLoad: inRun().optional(),
  /** Time to first byte of the document. */
  ttfb: inRun().optional(),
  /** Largest Contentful Paint. */
  lcp: inRun().optional(),
  /** Cumulative Layout Shift (unitless; 0.1 is "good" by Google's Web Vitals). */
  cls: z.number().min(0).max(100).optional(),
};

export const browserProbe = z.strictObject({
  name: probeName,
  kind: z.literal('browser'),
  ...scheduleFields,
  url: httpUrl,
  headers,
  cookies: z.record(cookieName, text(4_096)).optional(),
  actions: z.array(browserAction).max(20).default([]),
  /** The page is judged once this is visible (and contains text, when given). */
  waitFor: z.strictObject({ selector: cssSelector, text: text(1_000).optional(), within: inRun(1).default(5_000) }).optional(),
  expect: z
    .strictObject({
      ...vitals,
      /** Console errors and uncaught exceptions, at most. */
      consoleErrors: count(0, 1_000).optional(),
      /** Requests of the page that failed (no answer, or 400 and above), at most. */
      failedRequests: count(0, 1_000).optional(),
    })
    .default({}),
  degradeWhen: z.strictObject(vitals).default({}),
});
