// The vocabulary config files are written in, each word parsed and compiled once, here: bounded
// durations and sizes, regular expressions, JSON paths, label matchers, header maps, TLS
// material, cron schedules. What comes out is a runtime object (a RegExp, a compiled matcher,
// the CA's bytes); nothing that runs parses these strings again. Every bound is stated in the
// message and in the JSON Schema description.
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { JSONPath } from 'jsonpath-plus';
import { RE2JS } from 're2js';
import { z } from 'zod';
import { CronSchedule } from '../scheduler/cron.js';
import { readBoundedFile } from './files.js';
import { DURATION_PATTERN, formatDuration, formatSize, parseDuration, parseSize, SIZE_PATTERN } from './units.js';

export const DAY_MS = 86_400_000;
/** Node timers overflow past ~24.8 days; every duration that arms a timer stays below this. */
export const MAX_TIMER_MS = 7 * DAY_MS;

/** A duration written "500ms", "30s", "5m", "1h30m", bounded to [min, max] (inclusive). */
export function duration(min: number, max: number) {
  const expected = `expected a duration like 500ms, 30s, 5m (from ${formatDuration(min)} to ${formatDuration(max)})`;
  return z
    .string({ error: expected })
    .regex(new RegExp(DURATION_PATTERN), { error: expected })
    .transform((text, ctx) => {
      const ms = parseDuration(text) as number;
      if (ms < min || ms > max) ctx.addIssue({ code: 'custom', message: expected, input: text });
      return ms;
    })
    .meta({ description: `duration from ${formatDuration(min)} to ${formatDuration(max)}` });
}

/** A size written "1MiB", "512KiB" or a number of bytes, bounded to [min, max]. */
export function size(min: number, max: number) {
  const expected = `expected a size like 1MiB, 512KiB or a number of bytes (from ${formatSize(min)} to ${formatSize(max)})`;
  return z
    .union([z.number({ error: expected }).int({ error: expected }).nonnegative({ error: expected }), z.string({ error: expected }).regex(new RegExp(SIZE_PATTERN), { error: expected })], { error: expected })
    .transform((value, ctx) => {
      const bytes = parseSize(value);
      if (bytes === undefined || bytes < min || bytes > max) ctx.addIssue({ code: 'custom', message: expected, input: value });
      return bytes ?? 0;
    })
    .meta({ description: `size from ${formatSize(min)} to ${formatSize(max)}` });
}

/** A whole number in [min, max]. */
export function count(min: number, max: number) {
  const expected = `expected a whole number from ${min} to ${max}`;
  return z.number({ error: expected }).int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

/** Free text with a length cap (comments, descriptions, names shown to humans). */
export function text(max: number, what = 'a string') {
  return z.string({ error: `expected ${what}` }).max(max, { error: `expected ${what} of at most ${max} characters` });
}

/** A regular expression, compiled once. */
/** A regular expression from a user (a config, an API body), run by RE2 (re2js): linear time in
 * the input whatever the pattern, as Prometheus and Alertmanager run theirs. A backtracking engine
 * meeting `^(a+)+$` and forty a's and a "!" froze the whole daemon; RE2 cannot. What RE2 cannot
 * run (backreferences, lookaround) is refused where it enters. */
export class Pattern {
  private constructor(
    readonly source: string,
    private readonly re: RE2JS,
    /** Matches the whole text (label matchers) rather than somewhere in it. */
    private readonly whole: boolean,
  ) {}

  /** The compiled pattern, or why RE2 cannot run it. */
  static compile(source: string, options: { whole?: boolean } = {}): Pattern | string {
    try {
      return new Pattern(source, RE2JS.compile(source), options.whole ?? false);
    } catch (error) {
      const why = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
      return `expected a regular expression RE2 can run (no backreferences or lookaround): ${why}`;
    }
  }

  test(text: string): boolean {
    return this.whole ? this.re.matches(text) : this.re.test(text);
  }

  toJSON(): string {
    return this.source;
  }
}

export const regex = z
  .string({ error: 'expected a regular expression' })
  .max(1_000, { error: 'expected a regular expression of at most 1000 characters' })
  .transform((source, ctx) => {
    const compiled = Pattern.compile(source);
    if (typeof compiled === 'string') {
      ctx.addIssue({ code: 'custom', message: compiled, input: source });
      return z.NEVER;
    }
    return compiled;
  });

/** Texts no matcher meant for some values matches all of: a pattern that matches each of them
 * matches every value, which a route or a silence must say on purpose (/.*\/). */
const ANY_VALUES = ['', 'x', 'zz-top_9', 'payments-api', 'ÄÖ ü', 'a'.repeat(300)];

/** A step of a JSON path that names a property or an index, and nothing jsonpath-plus reads
 * as an operator (*, .., ~, ^, @, $, unions, slices, filters). */
const PLAIN_STEP = /^(?:[A-Za-z_][A-Za-z0-9_-]*|\d+)$/;

/** A JSON path, compiled and tried once. Filters (`$.data.result[?(@.metric.job=="api")]`, as
 * in a Prometheus API answer) run in jsonpath-plus's safe evaluator: its own expression
 * interpreter, never JavaScript's eval, so nothing a config wrote or a target sent is executed.
 * A regex in a filter is refused (it would not run under RE2); a filter that throws on a
 * document selects nothing. */
export class JsonPath {
  private constructor(
    readonly source: string,
    /** A path of names and indices only ($.status, $.data[0].id): walked directly, as
     * jsonpath-plus walks it, without running its evaluator on every run. */
    private readonly steps: readonly string[] | undefined,
  ) {}

  static compile(source: string): JsonPath | string {
    if (!source.startsWith('$')) return 'expected a JSON path starting with $';
    if (!balanced(source)) return 'expected a JSON path with balanced brackets and quotes';
    let parts: string[];
    try {
      parts = JSONPath.toPathArray(source);
      JSONPath({ path: source, json: { a: [{ b: 1 }] }, wrap: true, eval: 'safe' });
    } catch (error) {
      return `expected a JSON path the evaluator accepts (like $.items[*].id or $.items[?(@.id==3)]): ${error instanceof Error ? error.message.replace(/^jsonPath: /, '') : String(error)}`;
    }
    const expressions = parts.filter((part) => part.startsWith('?(') || part.startsWith('('));
    if (expressions.some((part) => /=~|\.match\(|\.test\(|\.search\(|\.replace\(|RegExp|\/[^/]+\/[gimsuy]*/.test(part))) {
      return 'expected a JSON path filter without regular expressions (they would not run in linear time): compare with == or use the matches operator on the value';
    }
    const steps = parts.slice(1);
    return new JsonPath(source, parts[0] === '$' && steps.every((step) => PLAIN_STEP.test(step)) ? steps : undefined);
  }

  /** Every value the path selects in `document` (none for a non-object). */
  select(document: unknown): unknown[] {
    if (document === null || typeof document !== 'object') return [];
    if (this.steps) {
      let value: unknown = document;
      // jsonpath-plus's rule for a name: an own property of a truthy value (a string's index too).
      for (const step of this.steps) {
        if (!value || !Object.prototype.hasOwnProperty.call(value, step)) return [];
        value = (value as Record<string, unknown>)[step];
      }
      return [value];
    }
    try {
      const found: unknown = JSONPath({ path: this.source, json: document as object, wrap: true, eval: 'safe' });
      return Array.isArray(found) ? found : [];
    } catch {
      return [];
    }
  }

  /** The objects holding each selected value (for the flow's integrity check). */
  parents(document: unknown): unknown[] {
    if (document === null || typeof document !== 'object') return [];
    try {
      const found: unknown = JSONPath({ path: this.source, json: document as object, wrap: true, eval: 'safe', resultType: 'parent' });
      return Array.isArray(found) ? found : [];
    } catch {
      return [];
    }
  }

  toJSON(): string {
    return this.source;
  }
}

function balanced(source: string): boolean {
  let depth = 0;
  let quote: string | undefined;
  for (const c of source) {
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '[') depth++;
    else if (c === ']' && --depth < 0) return false;
  }
  return depth === 0 && quote === undefined;
}

export const jsonPath = z
  .string({ error: 'expected a JSON path starting with $' })
  .max(500, { error: 'expected a JSON path of at most 500 characters' })
  .transform((source, ctx) => {
    const compiled = JsonPath.compile(source);
    if (typeof compiled === 'string') {
      ctx.addIssue({ code: 'custom', message: compiled, input: source });
      return z.NEVER;
    }
    return compiled;
  });

/** Label matchers: each value an exact string or a /regex/ matching the whole label value;
 * compiled once, written back as given (state files, API output). */
export class LabelMatchers {
  private constructor(
    private readonly raw: Readonly<Record<string, string>>,
    private readonly tests: ReadonlyArray<readonly [string, (value: string) => boolean]>,
  ) {}

  /** The compiled matchers, or the first problem as [label, message]. */
  static compile(raw: Readonly<Record<string, string>>): LabelMatchers | [string, string] {
    const tests: Array<readonly [string, (value: string) => boolean]> = [];
    for (const [name, want] of Object.entries(raw)) {
      if (want.length > 2 && want.startsWith('/') && want.endsWith('/')) {
        const source = want.slice(1, -1);
        const pattern = Pattern.compile(source, { whole: true });
        // The pattern is compiled on its own and matched against the whole value: wrapping its
        // text in ^(?:…)$ let "/zz)|(.*/" escape the wrapper and match everything.
        if (typeof pattern === 'string') return [name, pattern];
        // Matching everything by accident muted a new failing probe: it must be said on purpose.
        if (!EVERYTHING.has(source) && ANY_VALUES.every((value) => pattern.test(value))) {
          return [name, 'expected a /regex/ that does not match every value (write "/.*/" if every value is meant)'];
        }
        tests.push([name, (value) => pattern.test(value)]);
      } else {
        tests.push([name, (value) => value === want]);
      }
    }
    return new LabelMatchers({ ...raw }, tests);
  }

  static readonly NONE = LabelMatchers.compile({}) as LabelMatchers;

  matches(labels: Readonly<Record<string, string>>): boolean {
    return this.tests.every(([name, test]) => test(labels[name] ?? ''));
  }

  get size(): number {
    return this.tests.length;
  }

  toJSON(): Readonly<Record<string, string>> {
    return this.raw;
  }
}

/** The ways to say "every value" on purpose. */
const EVERYTHING = new Set(['.*', '(.*)', '(?s).*', '[\\s\\S]*']);

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function labelMatchers(maxEntries = 32) {
  return z
    .record(
      z.string().regex(LABEL_NAME, { error: 'expected a label name like probe or severity' }),
      z.string({ error: 'expected a label value or a /regex/' }).max(1_000, { error: 'expected a matcher of at most 1000 characters' }),
    )
    .refine((record) => Object.keys(record).length <= maxEntries, { error: `expected at most ${maxEntries} matchers` })
    .transform((record, ctx) => {
      const compiled = LabelMatchers.compile(record);
      if (Array.isArray(compiled)) {
        ctx.addIssue({ code: 'custom', message: compiled[1], path: [compiled[0]], input: record[compiled[0]] });
        return z.NEVER;
      }
      return compiled;
    });
}

// Header names are HTTP tokens; values may not hold CR, LF or NUL (a header injection, and
// undici refuses them at run time).
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the HTTP client sets itself from the request: given by hand, every run failed
 * `internal` (or the body was framed wrong). */
const CLIENT_HEADERS = new Set(['transfer-encoding', 'content-length', 'expect', 'upgrade', 'connection', 'keep-alive', 'te', 'trailer']);

export const headers = z
  .record(
    z
      .string()
      .regex(HEADER_NAME, { error: 'expected a header name (letters, digits, "-")' })
      .refine((name) => !CLIENT_HEADERS.has(name.toLowerCase()), { error: 'expected a header the client does not set itself (it sets transfer-encoding, content-length, expect, upgrade, connection, keep-alive, te and trailer from the request)', params: { atKey: true } }),
    z
      .string({ error: 'expected a header value (string)' })
      .max(8_192, { error: 'expected a header value of at most 8192 characters' })
      .refine((value) => !/[\r\n\0]/.test(value), { error: 'expected a header value without line breaks or NUL' }),
  )
  .refine((record) => Object.keys(record).length <= 64, { error: 'expected at most 64 headers' })
  .default({});

/** TLS settings with the CA file read and checked at load, not on every run. */
export interface TlsSettings {
  /** The CA file's path as written, for humans. */
  caFile: string | undefined;
  ca: Buffer | undefined;
  insecureSkipVerify: boolean;
  serverName: string | undefined;
  /** A client certificate and its key (mTLS), read and checked as a pair at load. */
  cert: Buffer | undefined;
  key: Buffer | undefined;
  passphrase: string | undefined;
}

export const DEFAULT_TLS: TlsSettings = { caFile: undefined, ca: undefined, insecureSkipVerify: false, serverName: undefined, cert: undefined, key: undefined, passphrase: undefined };

export const tls = z
  .strictObject({
    ca: z.string({ error: 'expected a path to a PEM CA file' }).optional(),
    insecureSkipVerify: z.boolean().default(false),
    serverName: z.string().max(253).optional(),
    /** mTLS: a PEM client certificate (with its chain) and its key; the passphrase of an
     * encrypted key comes from the environment (`passphrase: ${KEY_PASSPHRASE}`). */
    cert: z.string({ error: 'expected a path to a PEM client certificate' }).optional(),
    key: z.string({ error: 'expected a path to a PEM private key' }).optional(),
    passphrase: z.string().max(1_024).optional(),
  })
  .transform((value, ctx): TlsSettings => {
    const client = clientCertificate(value, ctx);
    let ca: Buffer | undefined;
    if (value.ca !== undefined) {
      const read = readBoundedFile(value.ca, 1024 * 1024);
      if (typeof read === 'string') ctx.addIssue({ code: 'custom', message: `cannot use CA file ${value.ca}: ${read}`, path: ['ca'], input: value.ca });
      else if (!hasCertificate(read)) ctx.addIssue({ code: 'custom', message: `expected a PEM CA file (-----BEGIN CERTIFICATE-----), ${value.ca} holds none that parse`, path: ['ca'], input: value.ca });
      else ca = read;
    }
    return { caFile: value.ca, ca, insecureSkipVerify: value.insecureSkipVerify, serverName: value.serverName, ...client };
  })
  .default(DEFAULT_TLS);

/** The client certificate and key, read once and tried as a pair (a key that does not match,
 * or a wrong passphrase, is a configuration error, not a failure on every run). */
function clientCertificate(value: { cert?: string | undefined; key?: string | undefined; passphrase?: string | undefined }, ctx: z.RefinementCtx): Pick<TlsSettings, 'cert' | 'key' | 'passphrase'> {
  const none = { cert: undefined, key: undefined, passphrase: undefined };
  if (value.cert === undefined && value.key === undefined) {
    if (value.passphrase !== undefined) ctx.addIssue({ code: 'custom', message: 'expected passphrase only with cert and key', path: ['passphrase'], input: value.passphrase });
    return none;
  }
  if (value.cert === undefined || value.key === undefined) {
    const missing = value.cert === undefined ? 'cert' : 'key';
    ctx.addIssue({ code: 'custom', message: `expected cert and key together (a client certificate needs both), ${missing} is missing`, path: [missing], input: undefined });
    return none;
  }
  const cert = readBoundedFile(value.cert, 1024 * 1024);
  const key = readBoundedFile(value.key, 1024 * 1024);
  if (typeof cert === 'string') ctx.addIssue({ code: 'custom', message: `cannot use client certificate ${value.cert}: ${cert}`, path: ['cert'], input: value.cert });
  if (typeof key === 'string') ctx.addIssue({ code: 'custom', message: `cannot use key ${value.key}: ${key}`, path: ['key'], input: value.key });
  if (typeof cert === 'string' || typeof key === 'string') return none;
  try {
    createSecureContext({ cert, key, passphrase: value.passphrase });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ERR_OSSL_BAD_DECRYPT' || /bad decrypt/i.test(String(error)) ? 'the passphrase does not decrypt the key' : code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' ? 'the key does not match the certificate' : (error as Error).message;
    ctx.addIssue({ code: 'custom', message: `expected a client certificate and its key: ${why}`, path: ['key'], input: value.key });
    return none;
  }
  return { cert, key, passphrase: value.passphrase };
}

function hasCertificate(pem: Buffer): boolean {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return false;
  try {
    for (const block of blocks) new X509Certificate(block);
    return true;
  } catch {
    return false;
  }
}

/** A cron expression, syntax-checked; compiled with its time zone where both are known. */
export const cronExpression = z
  .string({ error: 'expected a cron expression like "*/30 * * * * *"' })
  .max(200)
  .superRefine((expression, ctx) => {
    const problem = CronSchedule.problem(expression);
    if (problem) ctx.addIssue({ code: 'custom', message: `expected a cron expression ([second] minute hour day-of-month month day-of-week): ${problem}` });
  });

export const timezone = z.string().max(100).refine(isTimeZone, { error: 'expected an IANA time zone like UTC or Europe/Berlin' });

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
