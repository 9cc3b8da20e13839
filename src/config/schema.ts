// The shape of config/flowprobe.yaml and probes/*.yaml. Types are inferred from these schemas,
// so a field exists in the code exactly when the schema says it does. Messages say what was
// expected; the loader adds where (file:line:col key.path) and what was found.
import cron from 'node-cron';
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration, parseSize, SIZE_PATTERN } from './units.js';

export const duration = z
  .string({ error: 'expected a duration like 500ms, 30s, 5m' })
  .regex(new RegExp(DURATION_PATTERN), { error: 'expected a duration like 500ms, 30s, 5m' })
  .transform((text) => parseDuration(text) as number);

const SIZE_MESSAGE = 'expected a size like 1MiB, 512KiB or a number of bytes';
export const size = z
  .union([z.number().int().nonnegative({ error: SIZE_MESSAGE }), z.string().regex(new RegExp(SIZE_PATTERN), { error: SIZE_MESSAGE })], {
    error: SIZE_MESSAGE,
  })
  .transform((value) => parseSize(value) as number);

const cronExpression = z
  .string({ error: 'expected a cron expression like "*/30 * * * * *"' })
  .refine((text) => cron.validate(text), {
    error: 'expected a cron expression (node-cron: [second] minute hour day-of-month month day-of-week)',
  });

const timezone = z.string().refine(isTimeZone, { error: 'expected an IANA time zone like UTC or Europe/Berlin' });

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

// Probe names and label values end up as metric labels and file names: keep them plain.
const probeName = z
  .string({ error: 'expected a probe name' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, { error: 'expected a name of letters, digits, "_", "." or "-" (at most 100)' });

const labelMap = z.record(
  z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'expected a label name like team or service_tier' }),
  z.string({ error: 'expected a label value (string)' }),
);

const httpUrl = z
  .string({ error: 'expected an http(s) URL' })
  .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), { error: 'expected an http(s) URL' });

/** `status: 200`, `status: [200, 204]` or `status: "2xx"`. */
const STATUS_MESSAGE = 'expected a status code (200), a class ("2xx") or a list of them';
const statusCode = z.union([
  z.number({ error: STATUS_MESSAGE }).int({ error: STATUS_MESSAGE }).min(100, { error: STATUS_MESSAGE }).max(599, { error: STATUS_MESSAGE }),
  z.string({ error: STATUS_MESSAGE }).regex(/^[1-5]xx$/, { error: STATUS_MESSAGE }),
], { error: STATUS_MESSAGE });
const statusExpectation = z
  .union([statusCode, z.array(statusCode).min(1, { error: STATUS_MESSAGE })], { error: STATUS_MESSAGE })
  .transform((value) => (Array.isArray(value) ? value : [value]).map(String));

const jsonExpectation = z.record(
  z.string().regex(/^\$/, { error: 'expected a JSON path starting with $' }),
  z.union([z.string(), z.number(), z.boolean(), z.null()], { error: 'expected a string, number, boolean or null to compare with' }),
);

const tlsOptions = z.strictObject({
  ca: z.string({ error: 'expected a path to a PEM CA file' }).optional(),
  insecureSkipVerify: z.boolean().default(false),
  serverName: z.string().optional(),
});

const failureRatio = z.union(
  [z.literal(false), z.strictObject({ window: z.number().int().min(2).max(1000).default(10), above: z.number().gt(0).lt(1).default(0.5) })],
  { error: 'expected false or { window: 10, above: 0.5 }' },
);

const degradedRule = z
  .strictObject({
    figure: z
      .string()
      .regex(/^(duration|total|rtt_p95|first_event|phase\.[a-z_]+|leg\.[a-z0-9_-]+)$/, {
        error: 'expected duration, total, rtt_p95, first_event, phase.<name> or leg.<name>',
      })
      .default('duration'),
    threshold: duration.optional(),
    factor: z.number().gt(1).optional(),
    sustain: duration.default(60_000),
    minSamples: z.number().int().min(1).default(20),
    baselineSamples: z.number().int().min(2).max(10_000).default(200),
    percentile: z.number().min(1).max(99).default(50),
  })
  .refine((v) => v.threshold !== undefined || v.factor !== undefined, { error: 'expected threshold, factor, or both' });

/** Health rules: the daemon config gives the defaults… */
export const detectDefaults = z.strictObject({
  failAfter: z.number().int().min(1).default(3),
  recoverAfter: z.number().int().min(1).default(2),
  failureRatio: failureRatio.default({ window: 10, above: 0.5 }),
  recoverWithin: duration.optional(),
  degraded: degradedRule.optional(),
});

/** …and a probe may override any of them. */
const detectOverride = z.strictObject({
  failAfter: z.number().int().min(1).optional(),
  recoverAfter: z.number().int().min(1).optional(),
  failureRatio: failureRatio.optional(),
  recoverWithin: duration.optional(),
  degraded: degradedRule.optional(),
});

const scheduleFields = {
  every: duration.optional(),
  cron: cronExpression.optional(),
  timezone: timezone.optional(),
  timeout: duration.optional(),
  labels: labelMap.default({}),
  description: z.string().optional(),
  detect: detectOverride.optional(),
};

const httpProbe = z.strictObject({
  name: probeName,
  kind: z.literal('http'),
  ...scheduleFields,
  url: httpUrl,
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: z.record(z.string(), z.string({ error: 'expected a header value (string)' })).default({}),
  body: z.string().optional(),
  json: z.unknown().optional(),
  followRedirects: z.boolean().default(true),
  maxRedirects: z.number().int().min(0).max(20).default(5),
  maxBody: size.default(1024 * 1024),
  tls: tlsOptions.default({ insecureSkipVerify: false }),
  expect: z
    .strictObject({
      status: statusExpectation.default(['2xx']),
      maxDuration: duration.optional(),
      bodyContains: z.string().optional(),
      bodyMatches: z
        .string()
        .refine(isRegExp, { error: 'expected a valid regular expression' })
        .transform((text) => new RegExp(text))
        .optional(),
      json: jsonExpectation.optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .default({ status: ['2xx'] }),
});

const sseProbe = z.strictObject({
  name: probeName,
  kind: z.literal('sse'),
  ...scheduleFields,
  url: httpUrl,
  headers: z.record(z.string(), z.string({ error: 'expected a header value (string)' })).default({}),
  tls: tlsOptions.default({ insecureSkipVerify: false }),
  /** How long to hold the stream open; the run ends sooner once expect.minEvents have arrived
   * (unless the window is needed for maxGap, resume or fan-out figures: `holdFull: true`). */
  hold: duration.default(5_000),
  holdFull: z.boolean().default(false),
  /** Cap on one buffered line or event (a hostile stream cannot grow the daemon's memory). */
  maxEventSize: size.default(1024 * 1024),
  /** Concurrent subscribers: fan-out — do all see the same events, and how far apart? */
  clients: z.number().int().min(1).max(10_000).default(1),
  /** Where each event carries the time it was sent (epoch ms or an ISO date): the probe then
   * measures each event's age on arrival — how stale the data it delivers is. */
  eventTime: z.string().regex(/^\$/, { error: 'expected a JSON path starting with $' }).optional(),
  /** Drop the connection this long into the window and resume with Last-Event-ID. */
  resume: z.strictObject({ after: duration }).optional(),
  expect: z
    .strictObject({
      status: statusExpectation.default(['200']),
      minEvents: z.number().int().min(0).default(1),
      firstEventWithin: duration.optional(),
      maxGap: duration.optional(),
      eventType: z.union([z.string(), z.array(z.string()).min(1)]).transform((v) => (Array.isArray(v) ? v : [v])).optional(),
      dataContains: z.string().optional(),
      json: jsonExpectation.optional(),
      maxMissingIds: z.number().int().min(0).default(0),
      maxDuplicateIds: z.number().int().min(0).default(0),
      /** With eventTime: the p99 age of events on arrival. */
      maxEventAge: duration.optional(),
    })
    .default({ status: ['200'], minEvents: 1, maxMissingIds: 0, maxDuplicateIds: 0 }),
});

const wsUrl = z
  .string({ error: 'expected a ws(s) URL' })
  .refine((text) => URL.canParse(text) && /^wss?:$/.test(new URL(text).protocol), { error: 'expected a ws(s) URL' });

/** What to send: text, or JSON; strings may use {{run.id}} and {{seq}}. */
const messageTemplate = z.union([z.strictObject({ text: z.string() }), z.strictObject({ json: z.unknown() })], {
  error: 'expected { text: "..." } or { json: ... }',
});

/** Which incoming message counts: all given conditions must hold (JSON values may use {{seq}}). */
const messageMatcher = z.strictObject({
  text: z.string().optional(),
  regex: z.string().refine(isRegExp, { error: 'expected a valid regular expression' }).transform((text) => new RegExp(text)).optional(),
  json: jsonExpectation.optional(),
});

const closeCodes = z.union([z.number().int().min(1000).max(4999), z.array(z.number().int().min(1000).max(4999)).min(1)], {
  error: 'expected a close code (1000-4999) or a list of them',
}).transform((v) => (Array.isArray(v) ? v : [v]));

const wsStep = z.union(
  [
    z.strictObject({ send: messageTemplate }),
    z.strictObject({ expect: messageMatcher.extend({ within: duration.default(5_000) }) }),
    z.strictObject({ sleep: duration }),
    z.strictObject({ close: z.strictObject({ code: z.number().int().min(1000).max(4999).default(1000), reason: z.string().default('') }) }),
    z.strictObject({ expectClose: z.strictObject({ code: closeCodes, within: duration.default(5_000) }) }),
  ],
  { error: 'expected a step: send, expect, sleep, close or expectClose' },
);

const wsAuth = z.union(
  [
    z.strictObject({
      token: z.string(),
      in: z.enum(['header', 'query', 'subprotocol']).default('header'),
      name: z.string().optional(),
    }),
    z.strictObject({
      jwt: z.strictObject({
        secret: z.string({ error: 'expected the signing secret (HS256) or a PEM private key (RS256)' }),
        algorithm: z.enum(['HS256', 'RS256']).default('HS256'),
        claims: z.record(z.string(), z.unknown()).default({}),
        expiresIn: duration.default(60_000),
        in: z.enum(['header', 'query']).default('header'),
        name: z.string().optional(),
      }),
    }),
  ],
  { error: 'expected auth: { token: ... } or { jwt: { secret: ... } }' },
);

const websocketProbe = z.strictObject({
  name: probeName,
  kind: z.literal('websocket'),
  ...scheduleFields,
  url: wsUrl,
  headers: z.record(z.string(), z.string({ error: 'expected a header value (string)' })).default({}),
  subprotocols: z.array(z.string()).min(1).optional(),
  tls: tlsOptions.default({ insecureSkipVerify: false }),
  auth: wsAuth.optional(),
  /** Largest message accepted; a bigger one fails the run with `protocol`. */
  maxPayload: size.default(1024 * 1024),
  /** Open this many connections at once and run the script on each. */
  connections: z.number().int().min(1).max(20_000).default(1),
  steps: z.array(wsStep).default([]),
  /** Round-trip samples: ping/pong frames, or a message and its matching answer. */
  rtt: z
    .strictObject({
      samples: z.number().int().min(1).max(10_000).default(10),
      /** Pause between samples (0: back to back). */
      every: duration.default(0),
      send: messageTemplate.optional(),
      match: messageMatcher.optional(),
      within: duration.default(2_000),
    })
    .optional(),
  /** Sequence-numbered burst, echoed back: reordering, loss and duplicates. */
  burst: z
    .strictObject({
      count: z.number().int().min(1).max(100_000),
      send: messageTemplate,
      seqPath: z.string().regex(/^\$/, { error: 'expected a JSON path starting with $' }),
      within: duration.default(5_000),
    })
    .optional(),
  /** Keep the connection open this long after the script, pinging to detect a half-open socket. */
  hold: duration.default(0),
  keepalive: z.strictObject({ every: duration.default(1_000), timeout: duration.default(2_000) }).default({ every: 1_000, timeout: 2_000 }),
  expect: z
    .strictObject({
      subprotocol: z.string().optional(),
      maxHandshake: duration.optional(),
      rttP95: duration.optional(),
      maxOutOfOrder: z.number().int().min(0).default(0),
      maxMissing: z.number().int().min(0).default(0),
      maxDuplicate: z.number().int().min(0).default(0),
      maxFailedConnections: z.number().int().min(0).default(0),
    })
    .default({ maxOutOfOrder: 0, maxMissing: 0, maxDuplicate: 0, maxFailedConnections: 0 }),
});

const legName = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, { error: 'expected a short lower-case name like stream or dashboard' });

const flowWatcher = z.union(
  [
    z.strictObject({
      name: legName,
      sse: z.strictObject({ url: httpUrl, headers: z.record(z.string(), z.string()).default({}), tls: tlsOptions.default({ insecureSkipVerify: false }) }),
    }),
    z.strictObject({
      name: legName,
      websocket: z.strictObject({
        url: wsUrl,
        headers: z.record(z.string(), z.string()).default({}),
        subprotocols: z.array(z.string()).min(1).optional(),
        auth: wsAuth.optional(),
        tls: tlsOptions.default({ insecureSkipVerify: false }),
      }),
    }),
  ],
  { error: 'expected a watcher: { name, sse: { url } } or { name, websocket: { url } }' },
);

const flowStep = z.union(
  [
    z.strictObject({
      inject: z.strictObject({
        method: z.enum(['POST', 'PUT', 'PATCH', 'GET', 'DELETE']).default('POST'),
        url: httpUrl,
        headers: z.record(z.string(), z.string()).default({}),
        json: z.unknown().optional(),
        body: z.string().optional(),
        expect: z.strictObject({ status: statusExpectation.default(['2xx']) }).default({ status: ['2xx'] }),
        /** Values from the response for later steps: {{capture.NAME}}. */
        capture: z.record(z.string().regex(/^[A-Za-z0-9_]+$/), z.string().regex(/^\$/, { error: 'expected a JSON path starting with $' })).optional(),
      }),
    }),
    z.strictObject({ await: z.strictObject({ on: legName, match: messageMatcher, within: duration.default(5_000) }) }),
    z.strictObject({
      poll: z.strictObject({
        name: legName.default('dashboard'),
        url: httpUrl,
        headers: z.record(z.string(), z.string()).default({}),
        until: jsonExpectation,
        every: duration.default(250),
        within: duration.default(5_000),
      }),
    }),
  ],
  { error: 'expected a step: inject, await or poll' },
);

const flowProbe = z.strictObject({
  name: probeName,
  kind: z.literal('flow'),
  ...scheduleFields,
  /** Opened, and ready, before anything is injected. */
  watch: z.array(flowWatcher).default([]),
  steps: z.array(flowStep).min(1),
  maxPayload: size.default(1024 * 1024),
  expect: z
    .strictObject({
      total: duration.optional(),
      legs: z.record(z.string(), duration).optional(),
      /** Compare what arrived at each hop with what was injected. */
      integrity: z.boolean().default(true),
    })
    .default({ integrity: true }),
});

function isRegExp(text: string): boolean {
  try {
    new RegExp(text);
    return true;
  } catch {
    return false;
  }
}

export const PROBE_KINDS = ['http', 'sse', 'websocket', 'flow'] as const;

export const probeSchema = z.discriminatedUnion('kind', [httpProbe, sseProbe, websocketProbe, flowProbe], {
  error: `expected kind to be one of: ${PROBE_KINDS.join(', ')}`,
});

/** A probe file holds one probe (a mapping) or several (a sequence). */

const receiverName = z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'expected a receiver name of letters, digits, "_", "." or "-"' });
const labelMatchers = z.record(z.string(), z.string({ error: 'expected a label value or a /regex/' }));

const receiver = z
  .strictObject({
    name: receiverName,
    slack: z.strictObject({ webhookUrl: httpUrl, channel: z.string().optional() }).optional(),
    email: z
      .strictObject({
        host: z.string(),
        port: z.number().int().min(1).max(65535).default(587),
        /** Implicit TLS (port 465); otherwise STARTTLS when the server offers it… */
        secure: z.boolean().default(false),
        /** …and required when this is true. */
        requireTls: z.boolean().default(true),
        auth: z.strictObject({ user: z.string(), pass: z.string() }).optional(),
        from: z.string(),
        to: z.union([z.string(), z.array(z.string()).min(1)]).transform((v) => (Array.isArray(v) ? v : [v])),
        tls: tlsOptions.default({ insecureSkipVerify: false }),
      })
      .optional(),
    alertmanager: z.strictObject({ url: httpUrl }).optional(),
    webhook: z
      .strictObject({
        url: httpUrl,
        headers: z.record(z.string(), z.string()).default({}),
        /** Signs each body: X-Flowprobe-Signature: sha256=HMAC(secret, timestamp + "." + body). */
        hmacSecret: z.string().min(16, { error: 'expected an HMAC secret of at least 16 characters' }).optional(),
      })
      .optional(),
  })
  .refine((r) => [r.slack, r.email, r.alertmanager, r.webhook].filter((x) => x !== undefined).length === 1, {
    error: 'expected exactly one of slack, email, alertmanager or webhook',
  });

const alertingSchema = z.strictObject({
  /** Where humans reach this daemon: links in notifications (generatorURL). */
  externalUrl: httpUrl.optional(),
  receivers: z.array(receiver).default([]),
  routes: z
    .array(
      z.strictObject({
        match: labelMatchers.default({}),
        receivers: z.array(receiverName).min(1),
        continue: z.boolean().default(false),
      }),
    )
    .default([]),
  /** Receivers for alerts no route matched (all receivers when not given). */
  defaultReceivers: z.array(receiverName).optional(),
  group: z
    .strictObject({
      by: z.array(z.string()).default(['alertname']),
      wait: duration.default(10_000),
      interval: duration.default(60_000),
      repeat: duration.default(4 * 3_600_000),
    })
    .default({ by: ['alertname'], wait: 10_000, interval: 60_000, repeat: 4 * 3_600_000 }),
  maintenance: z
    .array(
      z.strictObject({
        name: z.string(),
        cron: cronExpression,
        duration,
        timezone: timezone.optional(),
        match: labelMatchers.default({}),
      }),
    )
    .default([]),
  retry: z.strictObject({ initial: duration.default(1_000), max: duration.default(300_000) }).default({ initial: 1_000, max: 300_000 }),
  timeout: duration.default(10_000),
  /** A receiver failing this long is itself alerted, through the others. */
  receiverFailingAfter: duration.default(300_000),
  /** When this share of probes (and at least minProbes) fail at once, suspect flowprobe's own
   * side (its network, DNS): one FlowprobeProbeSideProblem alert, and per-probe pages held back. */
  probeSide: z
    .union([z.literal(false), z.strictObject({ ratio: z.number().gt(0).max(1).default(0.8), minProbes: z.number().int().min(2).default(3) })], {
      error: 'expected false or { ratio: 0.8, minProbes: 3 }',
    })
    .default({ ratio: 0.8, minProbes: 3 }),
  /** Severity per alert name (a probe label `severity` wins). */
  severity: z.record(z.string(), z.string()).default({}),
});

/** Resource budgets: RSS, CPU % (of one core) sustained `for`, and (the daemon only) event-loop delay. */
const budget = z.strictObject({
  rss: size.optional(),
  cpu: z.number().gt(0).optional(),
  eventLoopDelay: duration.optional(),
  for: duration.default(60_000),
});

export const daemonConfigSchema = z.strictObject({
  listen: z
    .string()
    .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/, { error: 'expected host:port like 127.0.0.1:9464' })
    .default('127.0.0.1:9464'),
  location: z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'expected a location name like eu-west-1' }).default('default'),
  stateDir: z.string().default('./state'),
  probesDir: z.string().default('../probes'),
  apiToken: z.string().min(16, { error: 'expected a token of at least 16 characters' }).optional(),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') }).default({ level: 'info' }),
  scheduler: z
    .strictObject({ maxConcurrent: z.number().int().min(1).max(100_000).default(256) })
    .default({ maxConcurrent: 256 }),
  shutdownGrace: duration.default(10_000),
  defaults: z
    .strictObject({ every: duration.default(30_000), timeout: duration.default(10_000) })
    .default({ every: 30_000, timeout: 10_000 }),
  detect: detectDefaults.default(detectDefaults.parse({})),
  resources: z
    .strictObject({
      interval: duration.default(10_000),
      self: budget.default({ rss: 1024 ** 3, cpu: 90, eventLoopDelay: 500, for: 60_000 }),
      processes: z
        .array(
          z
            .strictObject({
              name: z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'expected a name of letters, digits, "_", "." or "-"' }),
              pid: z.number().int().min(1).optional(),
              pidfile: z.string().optional(),
              match: z.string().refine(isRegExp, { error: 'expected a regular expression for the command line' }).optional(),
              budget: budget.default({ for: 60_000 }),
            })
            .refine((p) => [p.pid, p.pidfile, p.match].filter((x) => x !== undefined).length === 1, { error: 'expected exactly one of pid, pidfile or match' }),
        )
        .default([]),
    })
    .default({ interval: 10_000, self: { rss: 1024 ** 3, cpu: 90, eventLoopDelay: 500, for: 60_000 }, processes: [] }),
  alerting: alertingSchema.default(alertingSchema.parse({})),
  history: z
    .strictObject({ recent: z.number().int().min(1).max(1000).default(20), failures: z.number().int().min(0).max(1000).default(50) })
    .default({ recent: 20, failures: 50 }),
});

export type AlertingConfig = z.output<typeof alertingSchema>;
export type ReceiverConfig = z.output<typeof receiver>;
export type DetectConfig = z.output<typeof detectDefaults>;
export type Budget = z.output<typeof budget>;
export type DaemonSettings = z.output<typeof daemonConfigSchema>;
type RawProbe = z.output<typeof probeSchema>;
export type ProbeKind = RawProbe['kind'];

/** When a probe runs: a fixed interval with a deterministic offset, or a cron expression. */
export type Schedule =
  | { type: 'every'; everyMs: number }
  | { type: 'cron'; expression: string; timezone: string | undefined };

/** A probe as the rest of the daemon sees it: defaults applied, schedule resolved. */
export type ProbeSpec<K extends ProbeKind = ProbeKind> = K extends ProbeKind
  ? Omit<Extract<RawProbe, { kind: K }>, 'every' | 'cron' | 'timezone' | 'timeout'> & {
      schedule: Schedule;
      timeoutMs: number;
      /** Where it was defined, for messages: "probes/api.yaml:3". */
      source: string;
    }
  : never;
export type HttpProbeSpec = ProbeSpec<'http'>;
export type SseProbeSpec = ProbeSpec<'sse'>;
export type WebSocketProbeSpec = ProbeSpec<'websocket'>;
export type FlowProbeSpec = ProbeSpec<'flow'>;
export type FlowWatcher = z.output<typeof flowWatcher>;
export type FlowStep = z.output<typeof flowStep>;
export type WsAuth = z.output<typeof wsAuth>;
export type MessageTemplate = z.output<typeof messageTemplate>;
export type MessageMatcher = z.output<typeof messageMatcher>;
export type WsStep = z.output<typeof wsStep>;
