// A tls probe as written in a probe file: a TLS endpoint that is not HTTP (SMTPS, IMAPS, MQTTS,
// LDAPS, a database): connect, handshake, report the certificates; no request is sent.
import { z } from 'zod';
import { tls as tlsOptions } from '../../config/fields.js';
import { certExpiresIn, hostPortUrl, inRun, ipFamily, phaseLimits, probeName, scheduleFields } from '../../config/probe-fields.js';

/** tls://host:port — the port is required (there is no default for "some TLS service"). */
export const tlsUrl = hostPortUrl(['tls']);

export const tlsProbe = z.strictObject({
  name: probeName,
  kind: z.literal('tls'),
  ...scheduleFields,
  url: tlsUrl,
  tls: tlsOptions,
  ipFamily,
  /** ALPN protocols to offer (h2, imap, …); none by default. */
  alpn: z.array(z.string().min(1).max(255)).max(10).optional(),
  expect: z
    .strictObject({
      /** The handshake (TCP connect and TLS) done within this. */
      maxHandshake: inRun().optional(),
      certExpiresIn,
      phases: phaseLimits.optional(),
    })
    .default({}),
  degradeWhen: z.strictObject({ maxHandshake: inRun().optional(), certExpiresIn, phases: phaseLimits.optional() }).default({}),
});
