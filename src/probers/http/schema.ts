// An http probe as written in a probe file: method, headers, body; status, duration, body,
// header and JSON expectations.
import { z } from 'zod';
import { count, headers, jsonExpectations, regex, size, text, tls as tlsOptions } from '../../config/fields.js';
import { httpUrl, inRun, KiB, MiB, phaseLimits, probeName, scheduleFields, statusExpectation } from '../../config/probe-fields.js';

export const httpProbe = z.strictObject({
  name: probeName,
  kind: z.literal('http'),
  ...scheduleFields,
  url: httpUrl,
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers,
  body: text(MiB, 'a request body (string)').optional(),
  json: z.unknown().optional(),
  followRedirects: z.boolean().default(true),
  maxRedirects: count(0, 20).default(5),
  maxBody: size(0, 256 * MiB).default(MiB),
  tls: tlsOptions,
  expect: z
    .strictObject({
      status: statusExpectation.default(['2xx']),
      maxDuration: inRun().optional(),
      bodyContains: text(64 * KiB).optional(),
      bodyMatches: regex.optional(),
      json: jsonExpectations.optional(),
      headers: z.record(z.string().max(200), text(8_192)).optional(),
      phases: phaseLimits.optional(),
    })
    .default({ status: ['2xx'] }),
  /** Softer limits on the same figures: over them the run is degraded, not failed. */
  degradeWhen: z.strictObject({ maxDuration: inRun().optional(), phases: phaseLimits.optional() }).default({}),
});

