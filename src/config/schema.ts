// The shape of config/flowprobe.yaml and probes/*.yaml. Types are inferred from these schemas,
// so a field exists in the code exactly when the schema says it does. Messages say what was
// expected; the loader adds where (file:line:col key.path) and what was found.
import { createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { PhaseName } from '../probers/types.js';
import { CronSchedule } from '../scheduler/cron.js';
import {
  count,
  cronExpression,
  DAY_MS,
  duration,
  headers,
  jsonExpectations,
  jsonPath,
  LabelMatchers,
  labelMatchers,
  MAX_TIMER_MS,
  regex,
  size,
  text,
  timezone,
  tls as tlsOptions,
} from './fields.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const HOUR = 3_600_000;
/** Limits inside one run (timeouts, windows, waits). */
const inRun = (min = 0) => duration(min, HOUR);

// Probe names and label values end up as metric labels and file names: keep them plain.
const probeName = z
  .string({ error: 'expected a probe name' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, { error: 'expected a name of letters, digits, "_", "." or "-" (at most 100)' });

const labelMap = z
  .record(
    z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'expected a label name like team or service_tier' }),
    text(200, 'a label value (string)'),
  )
  .refine((labels) => Object.keys(labels).length <= 32, { error: 'expected at most 32 labels' });

const httpUrl = z
  .string({ error: 'expected an http(s) URL' })
  .max(4_096, { error: 'expected a URL of at most 4096 characters' })
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

const jsonExpectation = jsonExpectations;

const failureRatio = z.union(
  [z.literal(false), z.strictObject({ window: count(2, 1000).default(10), above: z.number().gt(0).lt(1).default(0.5) })],
  { error: 'expected false or { window: 10, above: 0.5 }' },
);

/** The number a degradation rule watches. Which figures a probe has depends on its kind (and,
 * for legs, on its steps): the loader checks that against the probe. */
export type Figure =
  | { name: 'duration' }
  | { name: 'first_event' }
  | { name: 'rtt_p95' }
  | { name: 'total' }
  | { name: 'phase'; phase: PhaseName }
  | { name: 'leg'; leg: string };

export const PHASES: readonly PhaseName[] = ['dns', 'connect', 'tls', 'first_byte', 'download', 'first_event'];
const FIGURE_MESSAGE = `expected duration, total, rtt_p95, first_event, phase.<${PHASES.join('|')}> or leg.<name>`;

const figure = z.string({ error: FIGURE_MESSAGE }).transform((value, ctx): Figure => {
  if (value === 'duration' || value === 'first_event' || value === 'rtt_p95' || value === 'total') return { name: value };
  const phase = /^phase\.(.+)$/.exec(value)?.[1];
  if (phase !== undefined && (PHASES as readonly string[]).includes(phase)) return { name: 'phase', phase: phase as PhaseName };
  const leg = /^leg\.([a-z][a-z0-9_-]{0,39})$/.exec(value)?.[1];
  if (leg !== undefined) return { name: 'leg', leg };
  ctx.addIssue({ code: 'custom', message: FIGURE_MESSAGE, input: value });
  return z.NEVER;
});

export function figureLabel(f: Figure): string {
  return f.name === 'phase' ? `phase.${f.phase}` : f.name === 'leg' ? `leg.${f.leg}` : f.name;
}

const degradedRule = z
  .strictObject({
    figure: figure.default({ name: 'duration' }),
    threshold: inRun().optional(),
    factor: z.number().gt(1).max(1000).optional(),
    sustain: duration(0, MAX_TIMER_MS).default(60_000),
    minSamples: count(1, 10_000).default(20),
    baselineSamples: count(2, 10_000).default(200),
    percentile: z.number().min(1).max(99).default(50),
  })
  .refine((v) => v.threshold !== undefined || v.factor !== undefined, { error: 'expected threshold, factor, or both' });

/** Health rules: the daemon config gives the defaults… */
export const detectDefaults = z.strictObject({
  failAfter: count(1, 1000).default(3),
  recoverAfter: count(1, 1000).default(2),
  failureRatio: failureRatio.default({ window: 10, above: 0.5 }),
  recoverWithin: duration(1_000, MAX_TIMER_MS).optional(),
  degraded: degradedRule.optional(),
});

/** …and a probe may override any of them. */
const detectOverride = z.strictObject({
  failAfter: count(1, 1000).optional(),
  recoverAfter: count(1, 1000).optional(),
  failureRatio: failureRatio.optional(),
  recoverWithin: duration(1_000, MAX_TIMER_MS).optional(),
  degraded: degradedRule.optional(),
});

const scheduleFields = {
  every: duration(100, MAX_TIMER_MS).optional(),
  cron: cronExpression.optional(),
  timezone: timezone.optional(),
  timeout: duration(10, HOUR).optional(),
  labels: labelMap.default({}),
  description: text(1_000).optional(),
  detect: detectOverride.optional(),
};

const httpProbe = z.strictObject({
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
      json: jsonExpectation.optional(),
      headers: z.record(z.string().max(200), text(8_192)).optional(),
    })
    .default({ status: ['2xx'] }),
});

const sseProbe = z.strictObject({
  name: probeName,
  kind: z.literal('sse'),
  ...scheduleFields,
  url: httpUrl,
  headers,
  tls: tlsOptions,
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
  expect: z
    .strictObject({
      status: statusExpectation.default(['200']),
      minEvents: count(0, 1_000_000).default(1),
      firstEventWithin: inRun().optional(),
      maxGap: inRun(1).optional(),
      eventType: z.union([text(200), z.array(text(200)).min(1).max(100)]).transform((v) => (Array.isArray(v) ? v : [v])).optional(),
      dataContains: text(64 * KiB).optional(),
      json: jsonExpectation.optional(),
      maxMissingIds: count(0, 1_000_000).default(0),
      maxDuplicateIds: count(0, 1_000_000).default(0),
      /** With eventTime: the p99 age of events on arrival. */
      maxEventAge: duration(0, DAY_MS).optional(),
    })
    .default({ status: ['200'], minEvents: 1, maxMissingIds: 0, maxDuplicateIds: 0 }),
});

const wsUrl = z
  .string({ error: 'expected a ws(s) URL' })
  .max(4_096, { error: 'expected a URL of at most 4096 characters' })
  .refine((text) => URL.canParse(text) && /^wss?:$/.test(new URL(text).protocol), { error: 'expected a ws(s) URL' });

/** What to send: text, or JSON; strings may use {{run.id}} and {{seq}}. */
const messageTemplate = z.union([z.strictObject({ text: text(MiB) }), z.strictObject({ json: z.unknown() })], {
  error: 'expected { text: "..." } or { json: ... }',
});

/** Which incoming message counts: all given conditions must hold (JSON values may use {{seq}}). */
const messageMatcher = z.strictObject({
  text: text(64 * KiB).optional(),
  regex: regex.optional(),
  json: jsonExpectation.optional(),
});

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

const wsAuth = z.union(
  [
    z.strictObject({
      token: text(8_192, 'a token').refine((value) => !/[\r\n\0]/.test(value), { error: 'expected a token without line breaks' }),
      in: z.enum(['header', 'query', 'subprotocol']).default('header'),
      name: text(200).optional(),
    }),
    z.strictObject({
      jwt: z
        .strictObject({
          secret: text(64 * KiB, 'the signing secret (HS256) or a PEM private key (RS256)'),
          algorithm: z.enum(['HS256', 'RS256']).default('HS256'),
          claims: z.record(z.string(), z.unknown()).default({}),
          expiresIn: duration(1_000, DAY_MS).default(60_000),
          in: z.enum(['header', 'query']).default('header'),
          name: text(200).optional(),
        })
        .transform(({ secret, ...jwt }, ctx) => {
          // The key is imported once, here: a bad PEM is a config error, not a failure per run.
          const key = signingKey(secret, jwt.algorithm);
          if (typeof key === 'string') {
            ctx.addIssue({ code: 'custom', message: key, path: ['secret'], input: '(secret)' });
            return z.NEVER;
          }
          return { ...jwt, key };
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
  headers,
  subprotocols: z.array(text(200)).min(1).max(32).optional(),
  tls: tlsOptions,
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
      rttP95: inRun().optional(),
      maxOutOfOrder: count(0, 100_000).default(0),
      maxMissing: count(0, 100_000).default(0),
      maxDuplicate: count(0, 100_000).default(0),
      maxFailedConnections: count(0, 20_000).default(0),
    })
    .default({ maxOutOfOrder: 0, maxMissing: 0, maxDuplicate: 0, maxFailedConnections: 0 }),
});

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
  ],
  { error: 'expected a watcher: { name, sse: { url } } or { name, websocket: { url } }' },
);

const flowStep = z.union(
  [
    z.strictObject({
      inject: z.strictObject({
        method: z.enum(['POST', 'PUT', 'PATCH', 'GET', 'DELETE']).default('POST'),
        url: httpUrl,
        headers,
        json: z.unknown().optional(),
        body: text(MiB, 'a request body (string)').optional(),
        expect: z.strictObject({ status: statusExpectation.default(['2xx']) }).default({ status: ['2xx'] }),
        /** Values from the response for later steps: {{capture.NAME}}. */
        capture: z.record(z.string().regex(/^[A-Za-z0-9_]+$/, { error: 'expected a capture name of letters, digits or "_"' }), jsonPath).optional(),
      }),
    }),
    z.strictObject({ await: z.strictObject({ on: legName, match: messageMatcher, within: inRun(1).default(5_000) }) }),
    z.strictObject({
      poll: z.strictObject({
        name: legName.default('dashboard'),
        url: httpUrl,
        headers,
        until: jsonExpectation.refine((list) => list.length > 0, { error: 'expected at least one JSON path to wait for' }),
        every: inRun(10).default(250),
        within: inRun(1).default(5_000),
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
  watch: z.array(flowWatcher).max(20).default([]),
  steps: z.array(flowStep).min(1).max(100),
  maxPayload: size(KiB, 64 * MiB).default(MiB),
  expect: z
    .strictObject({
      total: inRun().optional(),
      legs: z.record(z.string(), inRun()).optional(),
      /** Compare what arrived at each hop with what was injected. */
      integrity: z.boolean().default(true),
    })
    .default({ integrity: true }),
});

/** A JWT signing key, imported once: HMAC bytes (HS256) or a PEM private key (RS256). */
function signingKey(secret: string, algorithm: 'HS256' | 'RS256'): KeyObject | string {
  if (algorithm === 'HS256') {
    return secret.length === 0 ? 'expected a non-empty HS256 secret' : createSecretKey(Buffer.from(secret, 'utf8'));
  }
  try {
    const key = createPrivateKey(secret);
    return key.asymmetricKeyType === 'rsa' ? key : `expected an RSA private key for RS256, found a ${key.asymmetricKeyType ?? 'different'} key`;
  } catch {
    return 'expected a PEM private key (PKCS#8 or PKCS#1) for RS256';
  }
}

export const PROBE_KINDS = ['http', 'sse', 'websocket', 'flow'] as const;

export const probeSchema = z.discriminatedUnion('kind', [httpProbe, sseProbe, websocketProbe, flowProbe], {
  error: `expected kind to be one of: ${PROBE_KINDS.join(', ')}`,
});

/** A probe file holds one probe (a mapping) or several (a sequence). */

const receiverName = z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'expected a receiver name of letters, digits, "_", "." or "-"' });

const receiver = z
  .strictObject({
    name: receiverName,
    slack: z.strictObject({ webhookUrl: httpUrl, channel: text(200).optional() }).optional(),
    email: z
      .strictObject({
        host: text(253, 'an SMTP host name'),
        port: count(1, 65535).default(587),
        /** Implicit TLS (port 465); otherwise STARTTLS when the server offers it… */
        secure: z.boolean().default(false),
        /** …and required when this is true. */
        requireTls: z.boolean().default(true),
        auth: z.strictObject({ user: text(1_000), pass: text(8_192) }).optional(),
        from: text(1_000, 'a sender address'),
        to: z.union([text(1_000), z.array(text(1_000)).min(1).max(100)]).transform((v) => (Array.isArray(v) ? v : [v])),
        tls: tlsOptions,
      })
      .optional(),
    alertmanager: z.strictObject({ url: httpUrl }).optional(),
    webhook: z
      .strictObject({
        url: httpUrl,
        headers,
        /** Signs each body: X-Flowprobe-Signature: sha256=HMAC(secret, timestamp + "." + body). */
        hmacSecret: z.string().min(16, { error: 'expected an HMAC secret of at least 16 characters' }).optional(),
      })
      .optional(),
  })
  .refine((r) => [r.slack, r.email, r.alertmanager, r.webhook].filter((x) => x !== undefined).length === 1, {
    error: 'expected exactly one of slack, email, alertmanager or webhook',
  })
  // Compiled into a tagged union: the code switches on `kind`, and the compiler lists the cases.
  .transform(({ name, slack, email, alertmanager, webhook }) => {
    if (slack) return { kind: 'slack' as const, name, slack };
    if (email) return { kind: 'email' as const, name, email };
    if (alertmanager) return { kind: 'alertmanager' as const, name, alertmanager };
    return { kind: 'webhook' as const, name, webhook: webhook as NonNullable<typeof webhook> };
  });

const alertingSchema = z.strictObject({
  /** Where humans reach this daemon: links in notifications (generatorURL). */
  externalUrl: httpUrl.optional(),
  receivers: z.array(receiver).max(100).default([]),
  routes: z
    .array(
      z.strictObject({
        match: labelMatchers().default(LabelMatchers.NONE),
        receivers: z.array(receiverName).min(1).max(100),
        continue: z.boolean().default(false),
      }),
    )
    .max(1_000)
    .default([]),
  /** Receivers for alerts no route matched (all receivers when not given). */
  defaultReceivers: z.array(receiverName).max(100).optional(),
  group: z
    .strictObject({
      by: z.array(text(100)).max(32).default(['alertname']),
      wait: duration(0, HOUR).default(10_000),
      interval: duration(10, DAY_MS).default(60_000),
      /** At least a minute: a repeat of 0 would re-send the same page in a loop. */
      repeat: duration(60_000, MAX_TIMER_MS).default(4 * HOUR),
    })
    .default({ by: ['alertname'], wait: 10_000, interval: 60_000, repeat: 4 * HOUR }),
  maintenance: z
    .array(
      z
        .strictObject({
          name: text(200, 'a window name'),
          cron: cronExpression,
          duration: duration(60_000, MAX_TIMER_MS),
          timezone: timezone.optional(),
          match: labelMatchers().default(LabelMatchers.NONE),
        })
        .transform(({ cron, timezone, ...window }) => ({ ...window, schedule: CronSchedule.compile(cron, timezone) })),
    )
    .max(100)
    .default([]),
  retry: z
    .strictObject({ initial: duration(10, HOUR).default(1_000), max: duration(100, DAY_MS).default(300_000) })
    .default({ initial: 1_000, max: 300_000 }),
  timeout: duration(100, 5 * 60_000).default(10_000),
  /** A receiver failing this long is itself alerted, through the others. */
  receiverFailingAfter: duration(1_000, MAX_TIMER_MS).default(300_000),
  /** When this share of probes (and at least minProbes) fail at once, suspect flowprobe's own
   * side (its network, DNS): one FlowprobeProbeSideProblem alert, and per-probe pages held back. */
  probeSide: z
    .union([z.literal(false), z.strictObject({ ratio: z.number().gt(0).max(1).default(0.8), minProbes: count(2, 100_000).default(3) })], {
      error: 'expected false or { ratio: 0.8, minProbes: 3 }',
    })
    .default({ ratio: 0.8, minProbes: 3 }),
  /** Severity per alert name (a probe label `severity` wins). */
  severity: z.record(text(100), text(100)).default({}),
});

const LISTEN_MESSAGE = 'expected host:port like 127.0.0.1:9464 (port 0-65535)';

/** "host:port", "[::1]:port" or ":port" split, or undefined when it is not a listen address. */
export function listenAddress(value: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{0,253}):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port > 65535) return undefined;
  return { host: (match[1] as string).replace(/^\[|\]$/g, '') || '0.0.0.0', port };
}

/** Resource budgets: RSS, CPU % (of one core) sustained `for`, and (the daemon only) event-loop delay. */
const budget = z.strictObject({
  rss: size(MiB, 1024 ** 4).optional(),
  cpu: z.number().gt(0).max(100_000).optional(),
  eventLoopDelay: duration(1, HOUR).optional(),
  for: duration(0, MAX_TIMER_MS).default(60_000),
});

export const daemonConfigSchema = z.strictObject({
  listen: z
    .string({ error: LISTEN_MESSAGE })
    .refine((value) => listenAddress(value) !== undefined, { error: LISTEN_MESSAGE })
    .default('127.0.0.1:9464'),
  location: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, { error: 'expected a location name like eu-west-1' }).default('default'),
  stateDir: text(4_096, 'a directory').default('./state'),
  probesDir: text(4_096, 'a directory').default('../probes'),
  apiToken: z.string().min(16, { error: 'expected a token of at least 16 characters' }).max(4_096).optional(),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') }).default({ level: 'info' }),
  scheduler: z
    .strictObject({ maxConcurrent: count(1, 100_000).default(256) })
    .default({ maxConcurrent: 256 }),
  shutdownGrace: duration(0, 10 * 60_000).default(10_000),
  defaults: z
    .strictObject({ every: duration(100, MAX_TIMER_MS).default(30_000), timeout: duration(10, HOUR).default(10_000) })
    .default({ every: 30_000, timeout: 10_000 }),
  detect: detectDefaults.default(detectDefaults.parse({})),
  resources: z
    .strictObject({
      interval: duration(100, HOUR).default(10_000),
      self: budget.default({ rss: 1024 ** 3, cpu: 90, eventLoopDelay: 500, for: 60_000 }),
      processes: z
        .array(
          z
            .strictObject({
              name: z.string().regex(/^[A-Za-z0-9_.-]+$/, { error: 'expected a name of letters, digits, "_", "." or "-"' }),
              pid: count(1, 2 ** 31 - 1).optional(),
              pidfile: text(4_096, 'a pid file path').optional(),
              match: regex.optional(),
              budget: budget.default({ for: 60_000 }),
            })
            .refine((p) => [p.pid, p.pidfile, p.match].filter((x) => x !== undefined).length === 1, { error: 'expected exactly one of pid, pidfile or match' }),
        )
        .max(100)
        .default([]),
    })
    .default({ interval: 10_000, self: { rss: 1024 ** 3, cpu: 90, eventLoopDelay: 500, for: 60_000 }, processes: [] }),
  alerting: alertingSchema.default(alertingSchema.parse({})),
  history: z
    .strictObject({ recent: count(1, 1000).default(20), failures: count(0, 1000).default(50) })
    .default({ recent: 20, failures: 50 }),
});

export type AlertingConfig = z.output<typeof alertingSchema>;
export type ReceiverConfig = z.output<typeof receiver>;
export type DetectConfig = z.output<typeof detectDefaults>;
export type Budget = z.output<typeof budget>;
export type DaemonSettings = z.output<typeof daemonConfigSchema>;
type RawProbe = z.output<typeof probeSchema>;
export type ProbeKind = RawProbe['kind'];

/** When a probe runs: a fixed interval with a deterministic offset, or a compiled cron schedule. */
export type Schedule = { type: 'every'; everyMs: number } | { type: 'cron'; cron: CronSchedule };

/** A probe as the rest of the daemon sees it: defaults applied, schedule resolved. */
export type ProbeSpec<K extends ProbeKind = ProbeKind> = K extends ProbeKind
  ? Omit<Extract<RawProbe, { kind: K }>, 'every' | 'cron' | 'timezone' | 'timeout'> & {
      schedule: Schedule;
      timeoutMs: number;
      /** Where it was defined, for messages: "probes/api.yaml:3". */
      source: string;
      /** Identity of everything the probe was compiled from (files it reads included): an
       * unchanged probe keeps its spec object across a reload. */
      fingerprint: string;
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
export type MaintenanceWindow = AlertingConfig['maintenance'][number];
