// What every probe kind's schema is built from: names, labels, URLs, status and JSON
// expectations, the schedule and health-rule fields, and what WebSocket and flow probes share
// (message templates and matchers, auth with a signing key imported once). Each kind's own
// schema lives beside its prober (src/probers/<kind>/schema.ts).
import { createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { jsonExpectations } from './assertions.js';
import {
  count,
  cronExpression,
  DAY_MS,
  duration,
  MAX_TIMER_MS,
  regex,
  text,
  timezone,
  tls as tlsOptions,
} from './fields.js';

/** The phases a run is timed in, every kind alike. */
export type PhaseName = 'dns' | 'connect' | 'tls' | 'first_byte' | 'download' | 'first_event';
export const PHASE_NAMES: readonly PhaseName[] = ['dns', 'connect', 'tls', 'first_byte', 'download', 'first_event'];

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const HOUR = 3_600_000;
/** Limits inside one run (timeouts, windows, waits). */
export const inRun = (min = 0) => duration(min, HOUR);

// Probe names and label values end up as metric labels and file names: keep them plain.
export const probeName = z
  .string({ error: 'expected a probe name' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, { error: 'expected a name of letters, digits, "_", "." or "-" (at most 100)' });

export const labelMap = z
  .record(
    z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, { error: 'expected a label name like team or service_tier' }),
    text(200, 'a label value (string)'),
  )
  .refine((labels) => Object.keys(labels).length <= 32, { error: 'expected at most 32 labels' });

/** user:password@ in a URL is never sent by the clients: it must be a header instead. */
const NO_CREDENTIALS = 'expected a URL without user:password@ (the client does not send it): put credentials in headers, like authorization: "Basic ${CREDENTIALS}"';
const hasCredentials = (text: string) => URL.canParse(text) && (new URL(text).username !== '' || new URL(text).password !== '');

export const httpUrl = z
  .string({ error: 'expected an http(s) URL' })
  .max(4_096, { error: 'expected a URL of at most 4096 characters' })
  .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), { error: 'expected an http(s) URL' })
  .refine((text) => !hasCredentials(text), { error: NO_CREDENTIALS });

/** A JSON body as written in YAML: numbers must be finite (1e400 and .nan have no JSON form;
 * they were sent as null). */
export const jsonBody = z.unknown().refine((value) => allFinite(value, 0), { error: 'expected JSON: every number finite (1e400, .inf and .nan have no JSON form), at most 64 levels deep' });

function allFinite(value: unknown, depth: number): boolean {
  if (depth > 64) return false;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => allFinite(v, depth + 1));
  if (value !== null && typeof value === 'object') return Object.values(value).every((v) => allFinite(v, depth + 1));
  return true;
}

/** `status: 200`, `status: [200, 204]` or `status: "2xx"`. */
const STATUS_MESSAGE = 'expected a status code (200), a class ("2xx") or a list of them';
const statusCode = z.union([
  z.number({ error: STATUS_MESSAGE }).int({ error: STATUS_MESSAGE }).min(100, { error: STATUS_MESSAGE }).max(599, { error: STATUS_MESSAGE }),
  z.string({ error: STATUS_MESSAGE }).regex(/^[1-5]xx$/, { error: STATUS_MESSAGE }),
], { error: STATUS_MESSAGE });
export const statusExpectation = z
  .union([statusCode, z.array(statusCode).min(1, { error: STATUS_MESSAGE })], { error: STATUS_MESSAGE })
  .transform((value) => (Array.isArray(value) ? value : [value]).map(String));


export const failureRatio = z.union(
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

export const degradedRule = z
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
  /** After a recovery held, its incident stays open this long: failing again within it is the
   * same incident (flapping), and the all-clear goes when it has passed. Unset: two runs of the
   * probe, at most 5 minutes. */
  flapWindow: duration(0, HOUR).optional(),
  degraded: degradedRule.optional(),
});

/** …and a probe may override any of them. */
export const detectOverride = z.strictObject({
  failAfter: count(1, 1000).optional(),
  recoverAfter: count(1, 1000).optional(),
  failureRatio: failureRatio.optional(),
  recoverWithin: duration(1_000, MAX_TIMER_MS).optional(),
  flapWindow: duration(0, HOUR).optional(),
  degraded: degradedRule.optional(),
});

export const scheduleFields = {
  every: duration(100, MAX_TIMER_MS).optional(),
  cron: cronExpression.optional(),
  timezone: timezone.optional(),
  timeout: duration(10, HOUR).optional(),
  labels: labelMap.default({}),
  description: text(1_000).optional(),
  detect: detectOverride.optional(),
  /** Series beyond the default set: phase histograms cost 40 series a probe (docs/benchmarks.md). */
  metrics: z.strictObject({ phases: z.boolean({ error: 'expected true or false' }).default(false) }).default({ phases: false }),
};

export const wsUrl = z
  .string({ error: 'expected a ws(s) URL' })
  .max(4_096, { error: 'expected a URL of at most 4096 characters' })
  .refine((text) => URL.canParse(text) && /^wss?:$/.test(new URL(text).protocol), { error: 'expected a ws(s) URL' })
  .refine((text) => !hasCredentials(text), { error: NO_CREDENTIALS });

/** What to send: text, or JSON; strings may use {{run.id}} and {{seq}}. */
export const messageTemplate = z.union([z.strictObject({ text: text(MiB) }), z.strictObject({ json: z.unknown() })], {
  error: 'expected { text: "..." } or { json: ... }',
});

/** Which incoming message counts: all given conditions must hold (JSON values may use {{seq}}). */
export const messageMatcher = z.strictObject({
  text: text(64 * KiB).optional(),
  regex: regex.optional(),
  json: jsonExpectations.optional(),
});

/** RFC 7230 token: what a header name or a subprotocol (Sec-WebSocket-Protocol) may be. */
export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const wsAuth = z.union(
  [
    z
      .strictObject({
        token: text(8_192, 'a token').refine((value) => !/[\r\n\0]/.test(value), { error: 'expected a token without line breaks' }),
        in: z.enum(['header', 'query', 'subprotocol']).default('header'),
        name: text(200).optional(),
      })
      // Every run failed `internal` on these: refused where they are written instead.
      .refine((a) => a.in !== 'subprotocol' || HTTP_TOKEN.test(a.token), { error: 'expected a token that can be sent as a subprotocol (an HTTP token: no spaces, commas or quotes); send it in: header or query', path: ['token'] })
      .refine((a) => a.in !== 'header' || a.name === undefined || HTTP_TOKEN.test(a.name), { error: 'expected a header name (letters, digits and -)', path: ['name'] }),
    z.strictObject({
      jwt: z
        .strictObject({
          secret: text(64 * KiB, 'the signing secret (HS256) or a PEM private key (RS256)'),
          algorithm: z.enum(['HS256', 'RS256']).default('HS256'),
          claims: z
            .record(z.string(), z.unknown())
            .refine((claims) => !('exp' in claims || 'iat' in claims), { error: 'expected claims without exp or iat: they are set at every run (exp from expiresIn)' })
            .default({}),
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

/** A JWT signing key, imported once: HMAC bytes (HS256) or a PEM private key (RS256). */
function signingKey(secret: string, algorithm: 'HS256' | 'RS256'): KeyObject | string {
  if (algorithm === 'HS256') {
    // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (32 bytes).
    const bytes = Buffer.byteLength(secret, 'utf8');
    return bytes < 32 ? `expected an HS256 secret of at least 32 bytes (RFC 7518 §3.2), found one of ${bytes}` : createSecretKey(Buffer.from(secret, 'utf8'));
  }
  try {
    const key = createPrivateKey(secret);
    return key.asymmetricKeyType === 'rsa' ? key : `expected an RSA private key for RS256, found a ${key.asymmetricKeyType ?? 'different'} key`;
  } catch {
    return 'expected a PEM private key (PKCS#8 or PKCS#1) for RS256';
  }
}


export type MessageTemplate = z.output<typeof messageTemplate>;
export type MessageMatcher = z.output<typeof messageMatcher>;
export type WsAuth = z.output<typeof wsAuth>;

/** Which IP family a network probe connects over: `auto` takes what the resolver gives first;
 * `both` probes each family in the run and fails when either fails. */
export const ipFamily = z.enum(['auto', 'ipv4', 'ipv6', 'both'], { error: 'expected auto, ipv4, ipv6 or both' }).default('auto');
export type IpFamily = z.output<typeof ipFamily>;

/** dns.lookup's family for a probe's ipFamily (0: whatever comes first). */
export function lookupFamily(family: IpFamily): 0 | 4 | 6 {
  return family === 'ipv4' ? 4 : family === 'ipv6' ? 6 : 0;
}

/** A host:port address as the probe file wrote it, parsed once at load. */
export interface HostPort {
  /** As written, for humans. */
  url: string;
  scheme: string;
  /** Without an IPv6 literal's brackets. */
  hostname: string;
  port: number;
}

/** A `scheme://host:port` address and nothing else (the tls and tcp kinds), for one of `schemes`. */
export function hostPortUrl(schemes: readonly string[]) {
  const expected = `expected a ${schemes.map((s) => `${s}://host:port`).join(' or ')} address`;
  return z
    .string({ error: expected })
    .max(2_048)
    .transform((value, ctx): HostPort => {
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        url = undefined;
      }
      const ok = url && schemes.includes(url.protocol.slice(0, -1)) && url.hostname !== '' && url.port !== '' && (url.pathname === '' || url.pathname === '/') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
      if (!url || !ok) {
        ctx.addIssue({ code: 'custom', message: `${expected} (a host and a port, nothing else)` });
        return z.NEVER;
      }
      return { url: value, scheme: url.protocol.slice(0, -1), hostname: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
    });
}

/** How long the earliest expiring certificate in the chain the server showed must still be
 * valid (`expect` fails a run under it, `degradeWhen` degrades it). TLS probes only. */
export const certExpiresIn = duration(HOUR, 3_650 * DAY_MS).optional();

/** Limits per phase (`expect.phases` fails a run, `degradeWhen.phases` degrades it). */
export const phaseLimits = z.strictObject({
  dns: inRun().optional(),
  connect: inRun().optional(),
  tls: inRun().optional(),
  first_byte: inRun().optional(),
  download: inRun().optional(),
  first_event: inRun().optional(),
});

/** An MQTT topic filter (+ and # wildcards, # last), 1–1024 characters, no NUL. */
const mqttTopicFilter = z
  .string({ error: 'expected a topic filter like sensors/+/temperature or telemetry/#' })
  .min(1)
  .max(1_024)
  .refine((t) => !t.includes('\0') && t.split('/').every((level, i, all) => (level.includes('+') ? level === '+' : true) && (level.includes('#') ? level === '#' && i === all.length - 1 : true)), {
    error: 'expected a topic filter: + alone in a level, # alone in the last level, no NUL',
  });

export const mqttQos = z.union([z.literal(0), z.literal(1)], { error: 'expected qos 0 or 1' }).default(0);

/** An MQTT subscription: the mqtt kind's and a flow's mqtt watcher's. mqtt:// or mqtts:// (TLS,
 * with the certificate figures), MQTT 3.1.1 or 5, a user and password, topic filters. */
export const mqttSubscription = {
  url: hostPortUrl(['mqtt', 'mqtts']),
  tls: tlsOptions,
  ipFamily,
  version: z.enum(['3.1.1', '5'], { error: 'expected MQTT version 3.1.1 or 5' }).default('3.1.1'),
  username: text(1_024).optional(),
  /** From the environment: `password: ${BROKER_PASSWORD}`. */
  password: text(1_024).optional(),
  topics: z.array(mqttTopicFilter).min(1).max(100),
  qos: mqttQos,
};

// ---- a page in a browser: a flow's browser step and the browser kind ----

/** A CSS selector (Playwright's default engine), as written. */
export const cssSelector = text(1_000, 'a CSS selector like [data-marker]');
export const cookieName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,200}$/, { error: 'expected a cookie name (an HTTP token)' });

/** What a user does on the page before the marker is awaited. */
export const browserAction = z.union(
  [
    z.strictObject({ click: cssSelector }),
    /** Chooses an option (by value or label) of each select element. */
    z.strictObject({ select: z.record(cssSelector, text(1_000)) }),
    /** Types into each input (templates such as {{run.id}} allowed). */
    z.strictObject({ type: z.record(cssSelector, text(10_000)) }),
  ],
  { error: 'expected an action: { click: SELECTOR }, { select: { SELECTOR: VALUE } } or { type: { SELECTOR: TEXT } }' },
);
export type BrowserAction = z.infer<typeof browserAction>;
