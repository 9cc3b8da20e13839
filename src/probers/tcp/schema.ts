// A tcp probe as written in a probe file: connect (optionally TLS), optionally send bytes and
// expect a reply — a banner (SMTP's 220, SSH's version line), or an answer to what was sent.
import { z } from 'zod';
import { regex, size, text, tls as tlsOptions } from '../../config/fields.js';
import { certExpiresIn, hostPortUrl, inRun, ipFamily, KiB, phaseLimits, probeName, scheduleFields } from '../../config/probe-fields.js';

/** tcp://host:port, or tcps://host:port for TLS over the connection. */
export const tcpUrl = hostPortUrl(['tcp', 'tcps']);

export const tcpProbe = z.strictObject({
  name: probeName,
  kind: z.literal('tcp'),
  ...scheduleFields,
  url: tcpUrl,
  tls: tlsOptions,
  ipFamily,
  /** Sent once connected (YAML escapes: "PING\r\n"). */
  send: text(64 * KiB).optional(),
  /** The most of the reply that is read (and kept for the headline). */
  maxReply: size(1, 1024 * KiB).default(4 * KiB),
  expect: z
    .strictObject({
      /** A reply that matches (RE2), within this long of connecting (or of sending). */
      reply: z.strictObject({ matches: regex, within: inRun(1).default(2_000) }).optional(),
      maxConnect: inRun().optional(),
      certExpiresIn,
      phases: phaseLimits.optional(),
    })
    .default({}),
  degradeWhen: z.strictObject({ maxConnect: inRun().optional(), certExpiresIn, phases: phaseLimits.optional() }).default({}),
});
