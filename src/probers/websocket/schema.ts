// A websocket probe as written in a probe file: handshake, a scripted exchange, RTT samples,
// a sequence-numbered burst, a held connection, N connections at once.
import { z } from 'zod';
import { count, headers, jsonPath, size, text, tls as tlsOptions } from '../../config/fields.js';
import { certExpiresIn, ipFamily, HTTP_TOKEN as TOKEN, inRun, KiB, messageMatcher, messageTemplate, MiB, phaseLimits, probeName, scheduleFields, wsAuth, wsUrl } from '../../config/probe-fields.js';

const closeCodes = z.union([z.number().int().min(1000).max(4999), z.array(z.number().int().min(1000).max(4999)).min(1)], {
  error: 'expected a close code (1000-4999) or a list of them',
}).transform((v) => (Array.isArray(v) ? v : [v]));

const wsStep = z.union(
  [
    z.strictObject({ send: messageTemplate }),
    z.strictObject({ expect: messageMatcher.extend({ within: inRun().default(5_000) }) }),
    z.strictObject({ sleep: inRun() }),
    z.strictObject({ close: z.strictObject({ code: z.number().int().min(1000).max(4999).default(1000), reason: text(123).default('') }) }),
    z.strictObject({ expectClose: z.strictObject({ code: closeCodes, within: inRun().default(5_000) }) }),
  ],
  { error: 'expected a step: send, expect, sleep, close or expectClose' },
);

export const websocketProbe = z.strictObject({
  name: probeName,
  kind: z.literal('websocket'),
  ...scheduleFields,
  url: wsUrl,
  headers,
  subprotocols: z
    .array(text(200).regex(TOKEN, { error: 'expected a subprotocol that is an HTTP token (letters, digits and !#$%&\'*+-.^_`|~, no spaces or commas)' }))
    .min(1)
    .max(32)
    .refine((list) => new Set(list).size === list.length, { error: 'expected each subprotocol once' })
    .optional(),
  tls: tlsOptions,
  ipFamily,
  auth: wsAuth.optional(),
  /** Largest message accepted; a bigger one fails the run with `protocol`. */
  maxPayload: size(KiB, 64 * MiB).default(MiB),
  /** Open this many connections at once and run the script on each. */
  connections: count(1, 20_000).default(1),
  steps: z.array(wsStep).max(1_000).default([]),
  /** Round-trip samples: ping/pong frames, or a message and its matching answer. */
  rtt: z
    .strictObject({
      samples: count(1, 10_000).default(10),
      /** Pause between samples (0: back to back). */
      every: inRun().default(0),
      send: messageTemplate.optional(),
      match: messageMatcher.optional(),
      within: inRun(1).default(2_000),
    })
    .optional(),
  /** Sequence-numbered burst, echoed back: reordering, loss and duplicates. */
  burst: z
    .strictObject({
      count: count(1, 100_000),
      send: messageTemplate,
      seqPath: jsonPath,
      within: inRun(1).default(5_000),
    })
    .optional(),
  /** Keep the connection open this long after the script, pinging to detect a half-open socket. */
  hold: inRun().default(0),
  keepalive: z.strictObject({ every: inRun(10).default(1_000), timeout: inRun(10).default(2_000) }).default({ every: 1_000, timeout: 2_000 }),
  expect: z
    .strictObject({
      subprotocol: text(200).optional(),
      maxHandshake: inRun().optional(),
      rttP50: inRun().optional(),
      rttP95: inRun().optional(),
      rttP99: inRun().optional(),
      maxOutOfOrder: count(0, 100_000).default(0),
      maxMissing: count(0, 100_000).default(0),
      maxDuplicate: count(0, 100_000).default(0),
      maxFailedConnections: count(0, 20_000).default(0),
      certExpiresIn,
      phases: phaseLimits.optional(),
    })
    .default({ maxOutOfOrder: 0, maxMissing: 0, maxDuplicate: 0, maxFailedConnections: 0 }),
  /** Softer limits on the same figures: over them the run is degraded, not failed (messages
   * out of order but all there can degrade a run without failing it). */
  degradeWhen: z
    .strictObject({
      maxHandshake: inRun().optional(),
      rttP50: inRun().optional(),
      rttP95: inRun().optional(),
      rttP99: inRun().optional(),
      maxOutOfOrder: count(0, 100_000).optional(),
      maxMissing: count(0, 100_000).optional(),
      maxDuplicate: count(0, 100_000).optional(),
      maxFailedConnections: count(0, 20_000).optional(),
      certExpiresIn,
      phases: phaseLimits.optional(),
    })
    .default({}),
});


export type WsStep = z.output<typeof wsStep>;
