// An mqtt probe as written in a probe file: subscribe to topics on a broker and hold the
// subscription like an SSE stream (first message, rate, gaps, message age — retained messages
// are old news and never count for freshness), optionally publish a marker and time its return.
import { z } from 'zod';
import { count, DAY_MS, duration, jsonPath, size } from '../../config/fields.js';
import { certExpiresIn, inRun, KiB, messageTemplate, MiB, mqttQos, mqttSubscription, phaseLimits, probeName, scheduleFields } from '../../config/probe-fields.js';

/** A topic a message is published to: no wildcards. */
const topicName = z
  .string({ error: 'expected a topic like flowprobe/markers' })
  .min(1)
  .max(1_024)
  .refine((t) => !/[+#\0]/.test(t), { error: 'expected a topic to publish to: no + or # wildcards, no NUL' });


export const mqttProbe = z.strictObject({
  name: probeName,
  kind: z.literal('mqtt'),
  ...scheduleFields,
  ...mqttSubscription,
  /** How long to hold the subscription; the run ends sooner once expect.minMessages have come
   * (and a published marker is back), unless `holdFull: true` (for gaps and rates). */
  hold: inRun(1).default(5_000),
  holdFull: z.boolean().default(false),
  /** Where a JSON payload carries when it was sent (epoch ms or an ISO date): message age. */
  messageTime: jsonPath.optional(),
  /** A larger message ends the run (a hostile broker cannot grow the daemon). */
  maxMessageSize: size(KiB, 64 * MiB).default(256 * KiB),
  /** Publish a marker ({{run.id}} in it) once subscribed, and time it back on a subscribed topic. */
  publish: z.strictObject({ topic: topicName, payload: messageTemplate.default({ json: { flowprobe: '{{run.id}}' } }), qos: mqttQos }).optional(),
  expect: z
    .strictObject({
      /** Live (not retained) messages in the hold. */
      minMessages: count(0, 10_000_000).default(1),
      firstMessageWithin: inRun().optional(),
      maxGap: inRun(1).optional(),
      /** With messageTime: the p99 age of live messages on arrival. */
      maxMessageAge: duration(0, DAY_MS).optional(),
      /** With publish: the marker back within this. */
      roundTripWithin: inRun(1).optional(),
      maxConnect: inRun().optional(),
      certExpiresIn,
      phases: phaseLimits.optional(),
    })
    .default({ minMessages: 1 }),
  degradeWhen: z
    .strictObject({
      firstMessageWithin: inRun().optional(),
      maxGap: inRun(1).optional(),
      maxMessageAge: duration(0, DAY_MS).optional(),
      roundTripWithin: inRun(1).optional(),
      maxConnect: inRun().optional(),
      certExpiresIn,
      phases: phaseLimits.optional(),
    })
    .default({}),
});
