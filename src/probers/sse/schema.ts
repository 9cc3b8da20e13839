// An sse probe as written in a probe file: the window it holds the stream, fan-out, resume,
// and what every event must be.
import { z } from 'zod';
import { jsonExpectations } from '../../config/assertions.js';
import { count, DAY_MS, duration, headers, jsonPath, size, text, tls as tlsOptions } from '../../config/fields.js';
import { certExpiresIn, ipFamily, httpUrl, inRun, KiB, MiB, phaseLimits, probeName, scheduleFields, statusExpectation } from '../../config/probe-fields.js';

export const sseProbe = z.strictObject({
  name: probeName,
  kind: z.literal('sse'),
  ...scheduleFields,
  url: httpUrl,
  headers,
  tls: tlsOptions,
  ipFamily,
  /** How long to hold the stream open; the run ends sooner once expect.minEvents have arrived
   * (unless the window is needed for maxGap, resume or fan-out figures: `holdFull: true`). */
  hold: inRun().default(5_000),
  holdFull: z.boolean().default(false),
  /** Cap on one buffered line or event (a hostile stream cannot grow the daemon's memory). */
  maxEventSize: size(KiB, 64 * MiB).default(MiB),
  /** Concurrent subscribers: fan-out — do all see the same events, and how far apart? */
  clients: count(1, 10_000).default(1),
  /** Where each event carries the time it was sent (epoch ms or an ISO date): the probe then
   * measures each event's age on arrival — how stale the data it delivers is. */
  eventTime: jsonPath.optional(),
  /** Drop the connection this long into the window and resume with Last-Event-ID. */
  resume: z.strictObject({ after: inRun() }).optional(),
  /** Replaced: a server that ends the stream is reconnected to as an EventSource would, and
   * reconnects are figures with limits (expect/degradeWhen maxReconnects, reconnectWithin). */
  reconnect: z.unknown().optional().refine((v) => v === undefined, { message: 'reconnect was replaced: reconnects are normal, as for an EventSource; limit them with expect.maxReconnects and expect.reconnectWithin (or under degradeWhen)' }),
  expect: z
    .strictObject({
      status: statusExpectation.default(['200']),
      minEvents: count(0, 1_000_000).default(1),
      firstEventWithin: inRun().optional(),
      maxGap: inRun(1).optional(),
      eventType: z.union([text(200), z.array(text(200)).min(1).max(100)]).transform((v) => (Array.isArray(v) ? v : [v])).optional(),
      dataContains: text(64 * KiB).optional(),
      json: jsonExpectations.optional(),
      maxMissingIds: count(0, 1_000_000).default(0),
      maxDuplicateIds: count(0, 1_000_000).default(0),
      /** Reconnects in the window (the server ending the stream, the planned resume): no limit
       * unless set; a storm (5 within a second) always fails. */
      maxReconnects: count(0, 10_000).optional(),
      /** The longest reconnect: from the drop to the first event after it. */
      reconnectWithin: inRun(1).optional(),
      /** With eventTime: the p99 age of events on arrival. */
      maxEventAge: duration(0, DAY_MS).optional(),
      certExpiresIn,
      phases: phaseLimits.optional(),
    })
    .default({ status: ['200'], minEvents: 1, maxMissingIds: 0, maxDuplicateIds: 0 }),
  /** Softer limits on the same figures: over them the run is degraded, not failed. */
  degradeWhen: z
    .strictObject({
      firstEventWithin: inRun().optional(),
      maxGap: inRun(1).optional(),
      maxEventAge: duration(0, DAY_MS).optional(),
      maxMissingIds: count(0, 1_000_000).optional(),
      maxDuplicateIds: count(0, 1_000_000).optional(),
      maxReconnects: count(0, 10_000).optional(),
      reconnectWithin: inRun(1).optional(),
      certExpiresIn,
      phases: phaseLimits.optional(),
    })
    .default({}),
});

