// The shape of config/flowprobe.yaml, and of a probe: the union of every kind's schema (each
// lives in its kind's folder, src/probers/<kind>/schema.ts). Types are inferred from these
// schemas, so a field exists in the code exactly when the schema says it does. Messages say what
// was expected; the loader adds where (file:line:col key.path) and what was found.
import { z } from 'zod';
import { PROBE_SCHEMAS } from '../probers/kinds.js';
import { CronSchedule } from '../scheduler/cron.js';
import { SPREAD_STEP_MS } from '../scheduler/scheduler.js';
import { count, cronExpression, DAY_MS, duration, headers, LabelMatchers, labelMatchers, MAX_TIMER_MS, regex, size, text, timezone, tls as tlsOptions } from './fields.js';
import { detectDefaults, HOUR, httpUrl, MiB } from './probe-fields.js';
import { shardSchema } from './shard.js';


/** The kind names, from the kinds' schemas (src/probers/kinds.ts is the one list). */
export const PROBE_KINDS = PROBE_SCHEMAS.map((schema) => schema.shape.kind.value);

/** Every alert flowprobe raises (alerting.severity and routes name them). */
export const ALERT_NAMES = [
  'ProbeFailing',
  'ProbeDegraded',
  'ProbeNotRecovered',
  'ResourceOverBudget',
  'ProcessGone',
  'FlowprobeReceiverFailing',
  'FlowprobeStateUnwritable',
  'FlowprobeStateLost',
  'FlowprobeProbeSideProblem',
  'FlowprobeTest',
] as const;

export const probeSchema = z.discriminatedUnion('kind', PROBE_SCHEMAS, {
  error: `expected kind to be one of: ${PROBE_KINDS.join(', ')}`,
});

/** Where the paging services take events (a test, or Opsgenie's EU instance, sets its own). */
const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
const OPSGENIE_URL = 'https://api.opsgenie.com';

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
    /** PagerDuty Events API v2: an integration's routing key (from a secret). */
    pagerduty: z.strictObject({ routingKey: z.string().min(8, { error: 'expected a routing key (32 characters, from ${ENV} or ${file:…})' }).max(200), url: httpUrl.default(PAGERDUTY_EVENTS_URL) }).optional(),
    /** Opsgenie Alert API: an API integration's key (from a secret); url for the EU instance. */
    opsgenie: z.strictObject({ apiKey: z.string().min(8, { error: 'expected an API key (from ${ENV} or ${file:…})' }).max(200), url: httpUrl.default(OPSGENIE_URL) }).optional(),
    webhook: z
      .strictObject({
        url: httpUrl,
        headers,
        /** Signs each body: X-Flowprobe-Signature: sha256=HMAC(secret, timestamp + "." + body). */
        hmacSecret: z.string().min(16, { error: 'expected an HMAC secret of at least 16 characters' }).optional(),
      })
      .optional(),
  })
  .refine((r) => [r.slack, r.email, r.alertmanager, r.webhook, r.pagerduty, r.opsgenie].filter((x) => x !== undefined).length === 1, {
    error: 'expected exactly one of slack, email, alertmanager, webhook, pagerduty or opsgenie',
  })
  // Compiled into a tagged union: the code switches on `kind`, and the compiler lists the cases.
  .transform(({ name, slack, email, alertmanager, webhook, pagerduty, opsgenie }) => {
    if (slack) return { kind: 'slack' as const, name, slack };
    if (email) return { kind: 'email' as const, name, email };
    if (alertmanager) return { kind: 'alertmanager' as const, name, alertmanager };
    if (pagerduty) return { kind: 'pagerduty' as const, name, pagerduty };
    if (opsgenie) return { kind: 'opsgenie' as const, name, opsgenie };
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
  severity: z
    .record(
      z.string().refine((name) => (ALERT_NAMES as readonly string[]).includes(name), { error: `expected an alert name (${ALERT_NAMES.join(', ')})`, params: { atKey: true } }),
      text(100),
    )
    .default({}),
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
  /** Which share of the probes this daemon runs (FLOWPROBE_SHARD=index/count overrides it). */
  shard: shardSchema,
  probesDir: text(4_096, 'a directory').default('../probes'),
  apiToken: z.string().min(16, { error: 'expected a token of at least 16 characters' }).max(4_096).optional(),
  log: z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') }).default({ level: 'info' }),
  scheduler: z
    .strictObject({
      maxConcurrent: count(1, 100_000).default(256),
      /** Probes are spread over their interval on multiples of this step. Coarser wakes the daemon
       * less often and costs less CPU, but starts more runs together, and they wait on each
       * other: docs/benchmarks.md ("Fewer wake-ups"). */
      spreadStep: duration(1, 1_000).default(SPREAD_STEP_MS),
    })
    .default({ maxConcurrent: 256, spreadStep: SPREAD_STEP_MS }),
  shutdownGrace: duration(0, 10 * 60_000).default(10_000),
  /** The headless Chromium browser steps and probes share (started only if one runs). */
  browser: z
    .strictObject({
      /** Runs that hold a page at once; the rest wait their turn within their deadline. */
      maxPages: count(1, 64).default(4),
      /** The browser binary; the system's chromium (/usr/bin/chromium) when unset. */
      executable: text(4_096, 'a path to a chromium binary').optional(),
    })
    .default({ maxPages: 4 }),
  /** The monitor's own dead-man's switch: while running, the daemon POSTs to this URL every
   * interval (a healthchecks-style service, or another flowprobe's heartbeat endpoint), so
   * someone learns when the monitor itself has died. */
  selfHeartbeat: z
    .strictObject({
      url: httpUrl,
      every: duration(1_000, HOUR).default(60_000),
      /** Sent as "Authorization: Bearer …" (another flowprobe's heartbeat token). */
      token: z.string().min(16, { error: 'expected a token of at least 16 characters' }).max(4_096).optional(),
      tls: tlsOptions,
    })
    .optional(),
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
    .strictObject({
      recent: count(1, 1000).default(20),
      failures: count(0, 1000).default(50),
      /** Where runs, uptime and incidents are kept: SQLite in the state directory (the default),
       * a PostgreSQL the fleet shares (the default when history.postgres is set), or nowhere. */
      store: z.enum(['sqlite', 'postgres', 'none'], { error: 'expected sqlite, postgres or none' }).optional(),
      postgres: z
        .strictObject({
          /** postgres://user:password@host:5432/database?sslmode=verify-full — write "${PG_URL}"
           * so the password stays in the environment. */
          url: z.string().max(4_096).regex(/^postgres(ql)?:\/\/[^\s]+$/, { error: 'expected a URL like postgres://user:password@host:5432/database (from the environment: url: "${PG_URL}")' }),
        })
        .optional(),
      keep: z
        .strictObject({
          runs: duration(HOUR, 90 * DAY_MS).default(7 * DAY_MS),
          hourly: duration(DAY_MS, 400 * DAY_MS).default(90 * DAY_MS),
          daily: duration(DAY_MS, 3_650 * DAY_MS).default(400 * DAY_MS),
          incidents: duration(DAY_MS, 3_650 * DAY_MS).default(400 * DAY_MS),
        })
        .default({ runs: 7 * DAY_MS, hourly: 90 * DAY_MS, daily: 400 * DAY_MS, incidents: 400 * DAY_MS }),
    })
    .refine((h) => h.store !== 'postgres' || h.postgres !== undefined, { error: 'expected postgres: { url: "${PG_URL}" } with store: postgres', path: ['postgres'] })
    .refine((h) => h.postgres === undefined || h.store === undefined || h.store === 'postgres', { error: 'expected store: postgres (or no store key) when postgres is set', path: ['store'] })
    .transform(({ store, ...h }) => ({ ...h, store: store ?? (h.postgres ? ('postgres' as const) : ('sqlite' as const)) }))
    .default({ recent: 20, failures: 50, store: 'sqlite', keep: { runs: 7 * DAY_MS, hourly: 90 * DAY_MS, daily: 400 * DAY_MS, incidents: 400 * DAY_MS } }),
});

export type AlertingConfig = z.output<typeof alertingSchema>;
export type ReceiverConfig = z.output<typeof receiver>;
export type DetectConfig = z.output<typeof detectDefaults>;
export type Budget = z.output<typeof budget>;
export type DaemonSettings = z.output<typeof daemonConfigSchema>;
export type RawProbe = z.output<typeof probeSchema>;
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
export type MaintenanceWindow = AlertingConfig['maintenance'][number];
