// An http probe as written in a probe file: method, headers, body; status, duration, body,
// header and JSON expectations.
import { z } from 'zod';
import { headerAssertion, jsonExpectations } from '../../config/assertions.js';
import { count, headers, regex, size, text, tls as tlsOptions } from '../../config/fields.js';
import { certExpiresIn, ipFamily, httpUrl, inRun, jsonBody, KiB, MiB, phaseLimits, probeName, scheduleFields, statusExpectation } from '../../config/probe-fields.js';

export const httpProbe = z.strictObject({
  name: probeName,
  kind: z.literal('http'),
  ...scheduleFields,
  url: httpUrl,
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers,
  body: text(MiB, 'a request body (string)').optional(),
  json: jsonBody.optional(),
  followRedirects: z.boolean().default(true),
  maxRedirects: count(0, 20).default(5),
  maxBody: size(0, 256 * MiB).default(MiB),
  tls: tlsOptions,
  ipFamily,
  expect: z
    .strictObject({
      status: statusExpectation.default(['2xx']),
      maxDuration: inRun().optional(),
      bodyContains: text(64 * KiB).optional(),
      bodyMatches: regex.optional(),
      json: jsonExpectations.optional(),
      headers: z.record(z.string().max(200), headerAssertion).optional(),
      certExpiresIn,
      phases: phaseLimits.optional(),
    })
    .default({ status: ['2xx'] }),
  /** Softer limits on the same figures: over them the run is degraded, not failed. */
  degradeWhen: z.strictObject({ maxDuration: inRun().optional(), certExpiresIn, phases: phaseLimits.optional() }).default({}),
})
  // What was accepted and then meant nothing: the body silently lost to json, body checks on a
  // response that has no body.
  .refine((p) => p.body === undefined || p.json === undefined, { error: 'expected body or json, not both (json would be sent and body ignored)', path: ['json'] })
  .refine((p) => p.method !== 'HEAD' || (p.expect.bodyContains === undefined && p.expect.bodyMatches === undefined && p.expect.json === undefined), { error: 'expected no body checks with method HEAD (a HEAD response has no body): use GET', path: ['expect'] });

