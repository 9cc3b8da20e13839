// A grpc probe as written in a probe file: the standard health protocol, grpc.health.v1.Health —
// `Check` once per run, or `Watch` held for a while like an SSE stream — against grpc:// or
// grpcs:// (TLS, with the certificate figures), with metadata (auth headers) sent on the call.
import { z } from 'zod';
import { text, tls as tlsOptions } from '../../config/fields.js';
import { certExpiresIn, hostPortUrl, inRun, probeName, scheduleFields } from '../../config/probe-fields.js';

export const SERVING_STATUSES = ['SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN', 'UNKNOWN'] as const;

/** Metadata keys as gRPC writes them (lowercase); those gRPC itself owns (grpc-timeout,
 * content-type, te…) cannot be set by a probe, and binary (-bin) entries are not text. */
const metadata = z
  .record(
    z
      .string()
      .regex(/^[a-z0-9_.-]{1,200}$/, { error: 'expected a metadata key of lowercase letters, digits, "-", "_" or "."' })
      .refine((key) => !/^grpc-|^(content-type|te|host|user-agent)$|-bin$/.test(key), { error: 'expected metadata gRPC does not set itself: not grpc-*, content-type, te, host, user-agent, or a binary -bin key', params: { atKey: true } }),
    text(8_192, 'a metadata value (string)').refine((value) => !/[\r\n\0]/.test(value), { error: 'expected a metadata value without line breaks or NUL' }),
  )
  .refine((record) => Object.keys(record).length <= 64, { error: 'expected at most 64 metadata entries' })
  .default({});

export const grpcProbe = z.strictObject({
  name: probeName,
  kind: z.literal('grpc'),
  ...scheduleFields,
  /** grpc://host:port, or grpcs://host:port for TLS. */
  url: hostPortUrl(['grpc', 'grpcs']),
  /** The service whose health is asked; "" (the default) is the server as a whole. */
  service: z.string().max(200).regex(/^[A-Za-z0-9_.]*$/, { error: 'expected a fully qualified service name like orders.v1.Orders, or "" for the whole server' }).default(''),
  tls: tlsOptions,
  /** Sent on every call (`authorization: Bearer ${TOKEN}`); values may come from the environment. */
  metadata,
  /** Hold a Watch stream this long instead of one Check: every change of status is reported
   * with when it was seen, and the run fails if the stream ends or shows another status. */
  watch: z.strictObject({ hold: inRun(100) }).optional(),
  expect: z
    .strictObject({
      status: z.enum(SERVING_STATUSES, { error: `expected a serving status: ${SERVING_STATUSES.join(', ')}` }).default('SERVING'),
      /** The answer to Check (or Watch's first status) within this. */
      maxResponse: inRun().optional(),
      certExpiresIn,
    })
    .default({ status: 'SERVING' }),
  degradeWhen: z.strictObject({ maxResponse: inRun().optional(), certExpiresIn }).default({}),
});
