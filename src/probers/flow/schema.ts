// A flow probe as written in a probe file: watchers opened first, then inject, await and poll
// steps, with limits per leg and in total.
import { z } from 'zod';
import { jsonExpectations } from '../../config/assertions.js';
import { count, headers, jsonPath, size, text, tls as tlsOptions } from '../../config/fields.js';
import { browserAction, cookieName, cssSelector, httpUrl, inRun, jsonBody, KiB, messageMatcher, MiB, mqttSubscription, probeName, scheduleFields, phaseLimits, statusExpectation, wsAuth, wsUrl } from '../../config/probe-fields.js';

const legName = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, { error: 'expected a short lower-case name like stream or dashboard' });

const flowWatcher = z.union(
  [
    z.strictObject({
      name: legName,
      sse: z.strictObject({ url: httpUrl, headers, tls: tlsOptions }),
    }),
    z.strictObject({
      name: legName,
      websocket: z.strictObject({
        url: wsUrl,
        headers,
        subprotocols: z.array(text(200)).min(1).max(32).optional(),
        auth: wsAuth.optional(),
        tls: tlsOptions,
      }),
    }),
    z.strictObject({
      name: legName,
      /** Live messages on the topics (retained ones are old news: never a marker's arrival). */
      mqtt: z.strictObject(mqttSubscription),
    }),
  ],
  { error: 'expected a watcher: { name, sse: { url } }, { name, websocket: { url } } or { name, mqtt: { url, topics } }' },
);

/** The last leg as people see it: a page opened before the injection (like a watcher), the leg
 * ending when the marker is visible in it. */
export const browserStep = z.strictObject({
  name: legName,
  url: httpUrl,
  /** Sent with every request of the page (from secrets: "Bearer ${DASH_TOKEN}"). */
  headers,
  /** Cookies for the page's origin (a logged-in dashboard): name → value. */
  cookies: z.record(cookieName, text(4_096)).optional(),
  actions: z.array(browserAction).max(20).default([]),
  /** Visible once the page is ready for news (its live connection open): awaited, after the
   * actions, before anything is injected. Without it the page is ready at its load event. */
  ready: cssSelector.optional(),
  waitFor: z.strictObject({ selector: cssSelector, text: text(1_000).default('{{run.id}}') }),
  within: inRun(1).default(5_000),
  expect: z
    .strictObject({
      /** Inside the element that shows the marker: each selector's text contains the value. */
      text: z.record(cssSelector, text(1_000)).optional(),
      /** Navigation to the load event, at most. */
      pageLoad: inRun().optional(),
      /** Console errors and uncaught exceptions during the run, at most. */
      consoleErrors: count(0, 1_000).optional(),
      /** Requests of the page that failed (no answer, or a status of 400 and above), at most. */
      failedRequests: count(0, 1_000).optional(),
    })
    .default({}),
});

const flowStep = z.union(
  [
    z.strictObject({
      inject: z.strictObject({
        method: z.enum(['POST', 'PUT', 'PATCH', 'GET', 'DELETE']).default('POST'),
        url: httpUrl,
        headers,
        json: jsonBody.optional(),
        body: text(MiB, 'a request body (string)').optional(),
        expect: z.strictObject({ status: statusExpectation.default(['2xx']) }).default({ status: ['2xx'] }),
        /** Values from the response for later steps: {{capture.NAME}}. */
        capture: z.record(z.string().regex(/^[A-Za-z0-9_]+$/, { error: 'expected a capture name of letters, digits or "_"' }), jsonPath).optional(),
      }).refine((i) => i.body === undefined || i.json === undefined, { error: 'expected body or json, not both (json would be sent and body ignored)', path: ['json'] }),
    }),
    z.strictObject({ await: z.strictObject({ on: legName, match: messageMatcher, within: inRun(1).default(5_000) }) }),
    z.strictObject({
      poll: z.strictObject({
        name: legName.default('dashboard'),
        url: httpUrl,
        headers,
        until: jsonExpectations.refine((list) => list.length > 0, { error: 'expected at least one JSON path to wait for' }),
        every: inRun(10).default(250),
        within: inRun(1).default(5_000),
      }),
    }),
    z.strictObject({ browser: browserStep }),
  ],
  { error: 'expected a step: inject, await, poll or browser' },
);

export const flowProbe = z.strictObject({
  name: probeName,
  kind: z.literal('flow'),
  ...scheduleFields,
  /** Opened, and ready, before anything is injected. */
  watch: z.array(flowWatcher).max(20).default([]),
  steps: z.array(flowStep).min(1).max(100),
  maxPayload: size(KiB, 64 * MiB).default(MiB),
  expect: z
    .strictObject({
      total: inRun().optional(),
      legs: z.record(z.string(), inRun()).optional(),
      /** Compare what arrived at each hop with what was injected. */
      integrity: z.boolean().default(true),
      phases: phaseLimits.optional(),
    })
    .default({ integrity: true }),
  /** Softer limits on the same figures: over them the run is degraded, not failed. */
  degradeWhen: z.strictObject({ total: inRun().optional(), legs: z.record(z.string(), inRun()).optional(), phases: phaseLimits.optional() }).default({}),
});


export type FlowWatcher = z.output<typeof flowWatcher>;
export type FlowStep = z.output<typeof flowStep>;
export type BrowserStep = z.output<typeof browserStep>;
