// The one compile step: config/flowprobe.yaml and probes/*.yaml → one typed, immutable Config
// of runtime objects (compiled matchers, regexes, JSON paths, cron schedules, TLS material,
// signing keys), or the full list of problems, each `file:line:col key.path: expected …, found …`.
// Every file is read and every problem reported before anything fails; nothing here throws, so
// `check`, `run` and a reload all get diagnostics, never a stack trace.
import { isIP } from 'node:net';
import { createHash, KeyObject } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isAlias, LineCounter, parseDocument, visit, isScalar, type Scalar } from 'yaml';
import type { z } from 'zod';
import { availableFigures } from '../detect/figures.js';
import { kindOf } from '../probers/kinds.js';
import { CronSchedule, cronShortestGapMs } from '../scheduler/cron.js';
import { displayPath, formatKeyPath, SourceMap, zodMessage, type Diagnostic, type KeyPath, type Problem } from './diagnostics.js';
import { Pattern } from './fields.js';
import { readBoundedFile } from './files.js';
import { suggestKey } from './suggest.js';
import { stateDirProblem } from '../detect/state-file.js';
import { MAX_SHARDS, ownerOf, parseShard, type Shard } from './shard.js';
import { figureLabel, type Figure } from './probe-fields.js';
import {
  daemonConfigSchema,
  probeSchema,
  type DaemonSettings,
  type ProbeKind,
  type ProbeSpec,
  type Schedule,
} from './schema.js';
import { formatDuration, formatSize } from './units.js';

/** Bounds on what is read: a config is small; anything bigger is a mistake or an attack. */
export const LOAD_LIMITS = {
  fileBytes: 1024 * 1024,
  probeFiles: 10_000,
  probes: 10_000,
  /** YAML aliases expanded per file ("billion laughs" stops here). */
  aliases: 100,
  /** Levels of [ and { nesting (the parser recursed into a stack overflow past a few thousand). */
  nesting: 64,
  secretFileBytes: 64 * 1024,
} as const;

export interface Config {
  readonly configFile: string;
  readonly settings: DaemonSettings & { stateDir: string; probesDir: string };
  /** The probes this daemon runs: all of them, or its shard's share. */
  readonly probes: readonly ProbeSpec[];
  /** How many probes the files define, across every shard. */
  readonly probesDefined: number;
  /** Every value that came from ${ENV} or ${file:…}: scrubbed from logs, API output and alerts. */
  readonly secrets: readonly string[];
}

export type LoadResult = { ok: true; config: Config } | { ok: false; diagnostics: Diagnostic[] };

export interface LoadOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Overrides settings.probesDir (resolved against the working directory). */
  probesDir?: string;
  /** Overrides settings.stateDir (resolved against the working directory). */
  stateDir?: string;
  /** Which probes to load: all (the default); none (a command that only talks to the running
   * daemon); or one by name, whose file alone is checked — a problem in another probe's file
   * (an unset ${ENV}, say) does not block it. */
  probes?: 'all' | 'none' | { only: string };
  /** `check`: the state directory must be one the daemon can create and write. */
  verifyStateDir?: boolean;
}

const NO_SUCH_PROBE = 'no probe named';

/** FLOWPROBE_SHARD=index/count, when set: it overrides the config's shard (a StatefulSet sets it
 * from the pod's ordinal). */
function shardOverride(env: LoadOptions['env'], diagnostics: Diagnostic[]): Shard | undefined {
  const text = env.FLOWPROBE_SHARD;
  if (text === undefined || text === '') return undefined;
  const shard = parseShard(text);
  if (!shard) diagnostics.push({ file: 'environment', line: 0, col: 0, key: 'FLOWPROBE_SHARD', message: `expected index/count with 0 ≤ index < count ≤ ${MAX_SHARDS}, like 2/5; found "${text.slice(0, 40)}"` });
  return shard;
}

/** The diagnostic of a `probes: { only }` load that found no such probe. */
export function isUnknownProbe(d: Diagnostic): boolean {
  return d.message.startsWith(NO_SUCH_PROBE);
}

export function loadConfig(configFile: string, options: LoadOptions): LoadResult {
  try {
    const steps = compile(configFile, options);
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
    }
  } catch (error) {
    return loaderBug(configFile, error);
  }
}

/** The same compile step, giving the event loop a turn every `sliceMs` of work (between probes):
 * a running daemon's reload of 5,000 probes held /healthz for over a second in one go. */
export async function loadConfigSliced(configFile: string, options: LoadOptions, sliceMs = 10): Promise<LoadResult> {
  try {
    const steps = compile(configFile, options);
    let since = performance.now();
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      if (performance.now() - since >= sliceMs) {
        await new Promise((resolve) => setImmediate(resolve));
        since = performance.now();
      }
    }
  } catch (error) {
    return loaderBug(configFile, error);
  }
}

/** A bug in the loader must still not crash `check`, a reload or start-up with a trace. */
function loaderBug(configFile: string, error: unknown): LoadResult {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { ok: false, diagnostics: [fileProblem(path.resolve(configFile), `internal error while loading (please report): ${message}`)] };
}

/** Compiles the config and every probe, yielding between probes (the caller decides whether to
 * give the event loop a turn there). */
function* compile(configFile: string, options: LoadOptions): Generator<void, LoadResult> {
  const diagnostics: Diagnostic[] = [];
  const secrets = new Set<string>();
  const absConfig = path.resolve(configFile);
  const settingsFile = readYaml(absConfig, options.env, secrets, diagnostics);
  if (!settingsFile) return { ok: false, diagnostics };
  // With a broken daemon config, still check the probes (against defaults) so every problem shows at once.
  const raw =
    validate(daemonConfigSchema, settingsFile.raw ?? {}, [], settingsFile.source, diagnostics) ??
    daemonConfigSchema.parse({ probesDir: probesDirOf(settingsFile.raw) });
  const baseDir = path.dirname(absConfig);
  const shard = shardOverride(options.env, diagnostics) ?? raw.shard;
  const settings = {
    ...raw,
    shard,
    stateDir: options.stateDir ? path.resolve(options.stateDir) : path.resolve(baseDir, raw.stateDir),
    probesDir: options.probesDir ? path.resolve(options.probesDir) : path.resolve(baseDir, raw.probesDir),
  };
  checkAlerting(settingsFile.raw, settingsFile.source, diagnostics);
  const stateProblem = options.verifyStateDir ? stateDirProblem(settings.stateDir) : undefined;
  if (stateProblem) diagnostics.push(settingsFile.source.at(['stateDir'], `expected a directory flowprobe can create and write, found ${settings.stateDir}: ${stateProblem}`));
  const select = options.probes ?? 'all';
  const probes = select === 'none' ? [] : yield* loadProbes(settings, options.env, secrets, diagnostics, select === 'all' ? undefined : select.only);
  if (diagnostics.length > 0) return { ok: false, diagnostics: sortByPosition(diagnostics) };
  // Every probe was checked above, whichever shard runs it: what `check` accepts runs somewhere.
  const owned = shard.count === 1 || select !== 'all' ? probes : probes.filter((p) => ownerOf(p.name, shard.count) === shard.index);
  const config: Config = { configFile: absConfig, settings, probes: owned, probesDefined: probes.length, secrets: [...secrets] };
  return { ok: true, config: deepFreeze(config) };
}

function* loadProbes(
  settings: DaemonSettings & { probesDir: string },
  env: LoadOptions['env'],
  secrets: Set<string>,
  diagnostics: Diagnostic[],
  only: string | undefined,
): Generator<void, ProbeSpec[]> {
  let files: string[];
  try {
    files = readdirSync(settings.probesDir)
      .filter((name) => /\.ya?ml$/i.test(name))
      .sort()
      .map((name) => path.join(settings.probesDir, name));
  } catch (error) {
    diagnostics.push(fileProblem(settings.probesDir, `cannot read probes directory (${errorCode(error)})`));
    return [];
  }
  if (files.length > LOAD_LIMITS.probeFiles) {
    diagnostics.push(fileProblem(settings.probesDir, `expected at most ${LOAD_LIMITS.probeFiles} probe files, found ${files.length}`));
    return [];
  }
  const probes: ProbeSpec[] = [];
  const firstSeen = new Map<string, string>();
  // Loading one probe: another file's problems are kept aside, and reported only if the probe
  // is in none of the files that could be read.
  const elsewhere: Diagnostic[] = [];
  const seen: string[] = [];
  for (const file of files) {
    const own: Diagnostic[] = only === undefined ? diagnostics : [];
    const parsed = readYaml(file, env, secrets, own);
    yield;
    if (!parsed) {
      if (only !== undefined) elsewhere.push(...own);
      continue;
    }
    const isList = Array.isArray(parsed.raw);
    const items: unknown[] = isList ? (parsed.raw as unknown[]) : [parsed.raw];
    for (const [index, item] of items.entries()) {
      yield;
      const at: KeyPath = isList ? [index] : [];
      if (only !== undefined) {
        const name = (item as { name?: unknown } | null)?.name;
        if (typeof name === 'string') seen.push(name);
        if (name !== only) continue;
        // This item's problems from reading the file (its ${ENV}s), none of its neighbours'.
        const prefix = formatKeyPath(at);
        diagnostics.push(...own.filter((d) => prefix === '' || d.key === prefix || d.key.startsWith(`${prefix}.`) || d.key.startsWith(`${prefix}[`)));
      }
      const raw = validate(probeSchema, item, at, parsed.source, diagnostics);
      // Cross-field rules run even when the schema found problems, on whatever fields are valid.
      const fields = raw ?? salvage(item);
      const problems = diagnostics.length;
      const resolved = resolveProbe(fields, at, parsed.source, settings, diagnostics);
      const name = (item as { name?: unknown } | null)?.name;
      if (typeof name === 'string') {
        const where = parsed.source.at([...at, 'name'], '');
        const previous = firstSeen.get(name);
        if (previous) diagnostics.push(parsed.source.at([...at, 'name'], `duplicate probe name "${name}", first defined at ${previous}`));
        else firstSeen.set(name, `${where.file}:${where.line}:${where.col}`);
      }
      if (raw && resolved && diagnostics.length === problems) probes.push(finish(raw, resolved, at, parsed.source));
    }
  }
  if (only !== undefined && probes.length === 0 && !seen.includes(only)) {
    diagnostics.push(...elsewhere, fileProblem(settings.probesDir, `${NO_SUCH_PROBE} "${only}"; configured: ${seen.join(', ') || '(none)'}`));
  }
  if (probes.length > LOAD_LIMITS.probes) {
    diagnostics.push(fileProblem(settings.probesDir, `expected at most ${LOAD_LIMITS.probes} probes, found ${probes.length}`));
  }
  return probes;
}

type RawProbe = z.output<typeof probeSchema>;
/** A probe's fields that passed the schema, for the cross-field rules (all of them when it passed). */
type Fields = Partial<RawProbe> & { kind?: RawProbe['kind'] };

/** The valid fields of a probe that failed validation, parsed one by one against its kind. */
function salvage(item: unknown): Fields {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return {};
  const record = item as Record<string, unknown>;
  const member = probeSchema.options.find((option) => option.shape.kind.safeParse(record.kind).success);
  if (!member) return {};
  const fields: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(member.shape as Record<string, z.ZodType>)) {
    const parsed = schema.safeParse(record[key]);
    if (parsed.success) fields[key] = parsed.data;
  }
  return fields as Fields;
}

interface Resolved {
  schedule: Schedule;
  timeoutMs: number;
}

/** The schedule and deadline, and every rule that spans several fields. */
function resolveProbe(
  raw: Fields,
  at: KeyPath,
  source: SourceMap,
  settings: DaemonSettings,
  diagnostics: Diagnostic[],
): Resolved | undefined {
  const { every, cron, timezone, timeout } = raw;
  let schedule: Schedule;
  let longestRunMs: number;
  if (cron !== undefined) {
    if (every !== undefined) diagnostics.push(source.at([...at, 'cron'], 'expected either every or cron, not both'));
    schedule = { type: 'cron', cron: CronSchedule.compile(cron, timezone) };
    longestRunMs = cronShortestGapMs(schedule.cron, Date.UTC(2030, 0, 1));
  } else {
    if (timezone !== undefined) diagnostics.push(source.at([...at, 'timezone'], 'expected timezone only together with cron'));
    const everyMs = every ?? settings.defaults.every;
    schedule = { type: 'every', everyMs };
    longestRunMs = everyMs;
  }
  if (timeout !== undefined && timeout >= longestRunMs) {
    diagnostics.push(
      source.at([...at, 'timeout'], `expected a timeout shorter than the interval (${formatDuration(longestRunMs)}), found ${formatDuration(timeout)}`),
    );
  }
  const timeoutMs = timeout ?? Math.max(10, Math.min(settings.defaults.timeout, Math.floor(longestRunMs * 0.8)));
  // The kind's own rules across its fields (src/probers/<kind>/rules.ts).
  const rules = raw.kind === undefined ? undefined : (kindOf(raw.kind as ProbeKind).rules as ((r: Fields, c: { timeoutMs: number }) => Problem[]) | undefined);
  for (const p of rules?.(raw, { timeoutMs }) ?? []) diagnostics.push(p.atKey ? source.atKey([...at, ...p.path], p.message) : source.at([...at, ...p.path], p.message));
  checkFigure(raw, settings, at, source, diagnostics);
  checkCertificateLimit(raw, at, source, diagnostics);
  checkIpFamily(raw, at, source, diagnostics);
  return { schedule, timeoutMs };
}

function finish(raw: RawProbe, resolved: Resolved, at: KeyPath, source: SourceMap): ProbeSpec {
  const { every: _every, cron: _cron, timezone: _timezone, timeout: _timeout, ...rest } = raw;
  const where = source.at([...at, 'name'], '');
  const spec = { ...rest, ...resolved, source: `${where.file}:${where.line}` };
  return { ...spec, fingerprint: fingerprintOf(spec) } as ProbeSpec;
}

/** A degradation rule must watch a figure this probe has (its own rule, or the daemon's default). */
function checkFigure(raw: Fields, settings: DaemonSettings, at: KeyPath, source: SourceMap, diagnostics: Diagnostic[]): void {
  if (raw.kind === undefined) return;
  const own = raw.detect?.degraded?.figure;
  const figure: Figure | undefined = own ?? settings.detect.degraded?.figure;
  if (figure === undefined) return;
  const available = availableFigures(raw as RawProbe);
  const label = figureLabel(figure);
  if (available.includes(label)) return;
  const expected = `expected a figure a ${raw.kind} probe has (${available.join(', ')}), found "${label}"`;
  if (own !== undefined) diagnostics.push(source.at([...at, 'detect', 'degraded', 'figure'], expected));
  else diagnostics.push(source.at([...at, 'name'], `detect.degraded.figure (from the daemon config): ${expected}`));
}

/** Routes must name receivers that exist; receiver names are unique. A monitor that silently
 * cannot alert is worse than none, so these stop start-up. Read from the file as written, so
 * they are reported even while other parts of the config have problems. */
function checkAlerting(rawConfig: unknown, source: SourceMap, diagnostics: Diagnostic[]): void {
  const alerting = (rawConfig as { alerting?: unknown } | null)?.alerting as
    | { receivers?: unknown; routes?: unknown; defaultReceivers?: unknown }
    | undefined;
  if (!alerting || typeof alerting !== 'object') return;
  const receivers = Array.isArray(alerting.receivers) ? alerting.receivers : [];
  const names = receivers.map((r) => (r as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === 'string');
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i) diagnostics.push(source.at(['alerting', 'receivers', i, 'name'], `duplicate receiver name "${name}"`));
  });
  const expected = `expected one of the receivers (${names.join(', ') || 'none defined'})`;
  const checkNames = (list: unknown, at: KeyPath) => {
    if (!Array.isArray(list)) return;
    list.forEach((name, j) => {
      if (typeof name === 'string' && !names.includes(name)) diagnostics.push(source.at([...at, j], `${expected}, found "${name}"`));
    });
  };
  if (Array.isArray(alerting.routes)) alerting.routes.forEach((r, i) => checkNames((r as { receivers?: unknown } | null)?.receivers, ['alerting', 'routes', i, 'receivers']));
  checkNames(alerting.defaultReceivers, ['alerting', 'defaultReceivers']);
}

/** A certificate limit needs a probe that speaks TLS: on http:// or ws:// it could never be
 * checked, and check would have accepted a limit that never runs. */
function checkCertificateLimit(raw: Fields, at: KeyPath, source: SourceMap, diagnostics: Diagnostic[]): void {
  const url = (raw as { url?: unknown }).url;
  if (typeof url !== 'string' || raw.kind === undefined) return;
  // Which URLs speak TLS is the kind's to say.
  const tls = kindOf(raw.kind as ProbeKind).tlsSchemes;
  if (!tls || tls.some((scheme) => url.toLowerCase().startsWith(`${scheme}://`))) return;
  for (const part of ['expect', 'degradeWhen'] as const) {
    if ((raw as Record<string, { certExpiresIn?: unknown } | undefined>)[part]?.certExpiresIn === undefined) continue;
    diagnostics.push(source.at([...at, part, 'certExpiresIn'], `expected a TLS url (${tls.map((s) => `${s}://`).join(' or ')}) for a certificate limit, found ${url.split(':')[0]}://`));
  }
}

/** An IP address in the url has one family: ipFamily must be that one (or auto). */
function checkIpFamily(raw: Fields, at: KeyPath, source: SourceMap, diagnostics: Diagnostic[]): void {
  const { url, ipFamily } = raw as { url?: unknown; ipFamily?: unknown };
  if (typeof url !== 'string' || typeof ipFamily !== 'string' || ipFamily === 'auto') return;
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return;
  }
  const literal = isIP(host);
  if (literal === 0) return;
  const wanted = ipFamily === 'ipv4' ? 4 : ipFamily === 'ipv6' ? 6 : undefined;
  if (wanted === literal) return;
  diagnostics.push(source.at([...at, 'ipFamily'], wanted === undefined ? `expected a host name for ipFamily both (one per family), found the IPv${literal} address ${host}` : `expected ipFamily ipv${literal} or auto for the IPv${literal} address ${host}, found ${ipFamily}`));
}



interface YamlFile {
  raw: unknown;
  source: SourceMap;
}

function probesDirOf(raw: unknown): string | undefined {
  const dir = (raw as { probesDir?: unknown } | null)?.probesDir;
  return typeof dir === 'string' ? dir : undefined;
}

/** Reads, parses and interpolates one YAML file; undefined when it cannot be read or parsed. */
function readYaml(
  file: string,
  env: LoadOptions['env'],
  secrets: Set<string>,
  diagnostics: Diagnostic[],
): YamlFile | undefined {
  const read = readBoundedFile(file, LOAD_LIMITS.fileBytes);
  if (typeof read === 'string') {
    const directory = read === 'not a regular file' && isDirectory(file);
    diagnostics.push(fileProblem(file, directory ? `is a directory: expected a YAML file (like ${path.join(file, 'flowprobe.yaml')})` : `cannot read file (${read})`));
    return undefined;
  }
  const text = read.toString('utf8');
  // The parser recurses per level of [ or {: thousands of them overflowed its stack.
  const deepest = flowDepth(text);
  if (deepest.depth > LOAD_LIMITS.nesting) {
    const line = text.slice(0, deepest.at).split('\n').length;
    const col = deepest.at - text.lastIndexOf('\n', deepest.at - 1);
    diagnostics.push({ file: displayPath(file), line, col, key: '', message: `invalid YAML: expected at most ${LOAD_LIMITS.nesting} levels of [ and { nesting, found more` });
    return undefined;
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const source = new SourceMap(displayPath(file), text, doc, lines);
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const { line, col } = lines.linePos(error.pos[0]);
      diagnostics.push({ file: source.file, line, col, key: '', message: `invalid YAML: ${firstLine(error.message)}` });
    }
    return undefined;
  }
  interpolate(doc, source, env, secrets, diagnostics);
  try {
    return { raw: doc.toJS({ maxAliasCount: LOAD_LIMITS.aliases }), source };
  } catch (error) {
    // yaml refuses to expand more aliases than the limit (a "billion laughs" document).
    const alias = firstAlias(doc);
    const { line, col } = lines.linePos(alias?.range?.[0] ?? 0);
    const why = error instanceof ReferenceError ? `expected at most ${LOAD_LIMITS.aliases} alias expansions (*name), found more` : `cannot read the document: ${(error as Error).message}`;
    diagnostics.push({ file: source.file, line, col, key: '', message: `invalid YAML: ${why}` });
    return undefined;
  }
}

/** The deepest [ / { nesting outside quotes, and where it first went past the limit. */
function flowDepth(text: string): { depth: number; at: number } {
  let depth = 0;
  let deepest = 0;
  let at = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) i = Math.max(i, text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i));
    else if (c === '[' || c === '{') {
      depth++;
      if (depth > deepest) ((deepest = depth), depth === LOAD_LIMITS.nesting + 1 && (at = i));
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return { depth: deepest, at };
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

function firstAlias(doc: ReturnType<typeof parseDocument>): { range?: [number, number, number] | null } | undefined {
  let found: { range?: [number, number, number] | null } | undefined;
  visit(doc, {
    Alias(_key, node) {
      found = node;
      return visit.BREAK;
    },
  });
  return found ?? (isAlias(doc.contents) ? doc.contents : undefined);
}

/** Validates `raw` (found at `at` in the file); every issue becomes a positioned diagnostic. */
function validate<T>(
  schema: z.ZodType<T, unknown>,
  raw: unknown,
  at: KeyPath,
  source: SourceMap,
  diagnostics: Diagnostic[],
): T | undefined {
  const result = schema.safeParse(raw, { error: zodMessage });
  if (result.success) return result.data;
  // An unknown key names the nearest one the schema allows at that place.
  const hint = (keys: ReadonlyArray<string | number>, key: string) => suggestKey(schema as z.ZodType, raw, keys.slice(at.length), key);
  for (const issue of result.error.issues) {
    diagnostics.push(...issueDiagnostics({ ...issue, path: [...at, ...issue.path] } as Issue, source, hint));
  }
  return undefined;
}

/** Shorter secrets cannot be redacted without redacting ordinary words. */
const MIN_SECRET_CHARS = 8;

// `$${` is a literal `${`; `${NAME}` or `${file:/path}` a reference; a `${` without its `}` is an error.
const REFERENCE = /\$\$\{|\$\{([^}]*)(\})?/g;

/** Replaces ${ENV} and ${file:/path} in every scalar value; `$${` is a literal `${`. */
function interpolate(
  doc: ReturnType<typeof parseDocument>,
  source: SourceMap,
  env: LoadOptions['env'],
  secrets: Set<string>,
  diagnostics: Diagnostic[],
): void {
  visit(doc, {
    Scalar(key, node: Scalar, ancestry) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const keys = keyPathOf(ancestry, node);
      node.value = node.value.replace(REFERENCE, (match, reference: string | undefined, closed: string | undefined) => {
        if (reference === undefined) return '${';
        const resolved = closed === undefined ? { problem: `expected \${ENV_VAR} or \${file:/path} closed with "}", found an unterminated \${${reference.slice(0, 40)}` } : resolveReference(reference.trim(), env);
        if (typeof resolved === 'string') {
          // A secret is removed from every text the daemon shows; one this short cannot be (a
          // one-character secret turned "expected" into "e[REDACTED]pected" everywhere).
          if (resolved.length > 0 && resolved.length < MIN_SECRET_CHARS) {
            diagnostics.push(source.diagnostic(node, keys, `expected a secret of at least ${MIN_SECRET_CHARS} characters from \${${reference.trim().slice(0, 60)}}, found one of ${resolved.length}: shorter ones cannot be kept out of logs and alerts`));
            return '';
          }
          if (resolved.length > 0) secrets.add(resolved);
          return resolved;
        }
        diagnostics.push(source.diagnostic(node, keys, resolved.problem));
        return match;
      });
    },
  });
}

function resolveReference(reference: string, env: LoadOptions['env']): string | { problem: string } {
  if (reference.startsWith('file:')) {
    const file = reference.slice('file:'.length);
    const read = readBoundedFile(file, LOAD_LIMITS.secretFileBytes);
    if (typeof read === 'string') return { problem: `cannot read secret file ${file} (${read}; expected a regular file of at most ${formatSize(LOAD_LIMITS.secretFileBytes)})` };
    return read.toString('utf8').replace(/\r?\n$/, '');
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(reference)) {
    return { problem: `expected \${ENV_VAR} or \${file:/path}, found \${${reference.slice(0, 60)}}` };
  }
  const value = env[reference];
  if (value === undefined || value === '') return { problem: `environment variable ${reference} is not set` };
  return value;
}

function keyPathOf(ancestry: readonly unknown[], node: unknown): Array<string | number> {
  const keys: Array<string | number> = [];
  const chain = [...ancestry, node];
  for (let i = 1; i < chain.length; i++) {
    const parent = chain[i - 1] as { items?: unknown[]; key?: unknown };
    const child = chain[i];
    if (Array.isArray(parent.items)) {
      const index = parent.items.indexOf(child);
      const inSeq = (parent as { constructor: { name: string } }).constructor.name === 'YAMLSeq';
      if (inSeq) keys.push(index);
    } else if (parent.key !== undefined && isScalar(parent.key)) {
      keys.push(String(parent.key.value));
    }
  }
  return keys;
}

type Issue = z.core.$ZodIssue;

function issueDiagnostics(issue: Issue, source: SourceMap, hint: (keys: ReadonlyArray<string | number>, key: string) => string | undefined): Diagnostic[] {
  const keys = issue.path as Array<string | number>;
  if (issue.code === 'invalid_union') {
    // The alternative the value plainly meant (its keys all fit) reports its own problems,
    // deep inside it, instead of "expected one of …".
    const meant = issue.errors.find((branch) => branch.length > 0 && branch.every((inner) => !wrongShape(inner)));
    if (meant) return meant.flatMap((inner) => issueDiagnostics({ ...inner, path: [...keys, ...inner.path] } as Issue, source, hint));
  }
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const meant = hint(keys, key);
      return source.atKey([...keys, key], meant ? `unknown key — did you mean "${meant}"?` : 'unknown key');
    });
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? 'expected a valid key';
    return [source.atKey(keys, `${inner}, found key ${JSON.stringify(keys[keys.length - 1])}`)];
  }
  if (issue.code === 'custom' && (issue.params as { atKey?: boolean } | undefined)?.atKey) {
    return [source.atKey(keys, `${issue.message}, found key ${JSON.stringify(keys[keys.length - 1])}`)];
  }
  const found = source.found(keys);
  if (found === 'nothing') return [source.at(keys, `missing, ${issue.message}`)];
  return [source.at(keys, `${issue.message}, found ${found}`)];
}

/** An issue saying the value is another alternative altogether: unknown keys, a missing key,
 * or a different type at its root. */
function wrongShape(issue: Issue): boolean {
  if (issue.code === 'unrecognized_keys') return true;
  if (issue.code === 'invalid_type') return issue.path.length <= 1 && (issue.path.length === 0 || issue.input === undefined);
  if (issue.code === 'invalid_union' || issue.code === 'invalid_value') return issue.path.length === 0;
  return false;
}

function sortByPosition(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

function fileProblem(file: string, message: string): Diagnostic {
  return { file: displayPath(file), line: 0, col: 0, key: '', message };
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** A digest of everything a probe was compiled from, CA bytes and keys included. */
function fingerprintOf(spec: object): string {
  const canonical = JSON.stringify(spec, (_key, value: unknown) => {
    if (value instanceof Pattern) return `/${value.source}/`;
    if (value instanceof KeyObject) return value.type === 'secret' ? value.export().toString('hex') : value.export({ type: 'pkcs8', format: 'pem' });
    return value;
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** Freezes plain objects and arrays; compiled objects (RegExp, Buffer, keys, matchers) keep
 * their own invariants. */
function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)) {
    if (Object.isFrozen(value)) return value;
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}
