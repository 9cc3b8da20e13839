// Reads config/flowprobe.yaml and probes/*.yaml into one typed, immutable Config, or into the
// full list of problems: every file is read and every problem reported before anything fails.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, visit, isScalar, type Scalar } from 'yaml';
import type { z } from 'zod';
import { cronNextDue, cronShortestGapMs } from '../scheduler/cron.js';
import { displayPath, SourceMap, type Diagnostic, type KeyPath } from './diagnostics.js';
import {
  daemonConfigSchema,
  probeSchema,
  type DaemonSettings,
  type ProbeSpec,
  type Schedule,
} from './schema.js';
import { formatDuration } from './units.js';

export interface Config {
  readonly configFile: string;
  readonly settings: DaemonSettings & { stateDir: string; probesDir: string };
  readonly probes: readonly ProbeSpec[];
  /** Every value that came from ${ENV} or ${file:…}: scrubbed from logs, API output and alerts. */
  readonly secrets: readonly string[];
}

export type LoadResult = { ok: true; config: Config } | { ok: false; diagnostics: Diagnostic[] };

export interface LoadOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Overrides settings.probesDir (resolved against the working directory). */
  probesDir?: string;
}

export function loadConfig(configFile: string, options: LoadOptions): LoadResult {
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
  const settings = {
    ...raw,
    stateDir: path.resolve(baseDir, raw.stateDir),
    probesDir: options.probesDir ? path.resolve(options.probesDir) : path.resolve(baseDir, raw.probesDir),
  };
  checkAlerting(raw, settingsFile.source, diagnostics);
  const probes = loadProbes(settings, options.env, secrets, diagnostics);
  if (diagnostics.length > 0) return { ok: false, diagnostics: sortByPosition(diagnostics) };
  const config: Config = { configFile: absConfig, settings, probes, secrets: [...secrets] };
  return { ok: true, config: deepFreeze(config) };
}

function loadProbes(
  settings: DaemonSettings & { probesDir: string },
  env: LoadOptions['env'],
  secrets: Set<string>,
  diagnostics: Diagnostic[],
): ProbeSpec[] {
  let files: string[];
  try {
    files = readdirSync(settings.probesDir)
      .filter((name) => /\.ya?ml$/.test(name))
      .sort()
      .map((name) => path.join(settings.probesDir, name));
  } catch (error) {
    diagnostics.push(fileProblem(settings.probesDir, `cannot read probes directory (${errorCode(error)})`));
    return [];
  }
  const probes: ProbeSpec[] = [];
  const firstSeen = new Map<string, string>();
  for (const file of files) {
    const parsed = readYaml(file, env, secrets, diagnostics);
    if (!parsed) continue;
    const isList = Array.isArray(parsed.raw);
    const items: unknown[] = isList ? (parsed.raw as unknown[]) : [parsed.raw];
    items.forEach((item, index) => {
      const at: KeyPath = isList ? [index] : [];
      const raw = validate(probeSchema, item, at, parsed.source, diagnostics);
      if (!raw) return;
      const spec = resolveProbe(raw, at, parsed.source, settings, diagnostics);
      const where = parsed.source.at([...at, 'name'], '');
      const previous = firstSeen.get(raw.name);
      if (previous) {
        diagnostics.push(parsed.source.at([...at, 'name'], `duplicate probe name "${raw.name}", first defined at ${previous}`));
      } else {
        firstSeen.set(raw.name, `${where.file}:${where.line}:${where.col}`);
      }
      if (spec) probes.push(spec);
    });
  }
  return probes;
}

type RawProbe = z.output<typeof probeSchema>;

function resolveProbe(
  raw: RawProbe,
  at: KeyPath,
  source: SourceMap,
  settings: DaemonSettings,
  diagnostics: Diagnostic[],
): ProbeSpec | undefined {
  const { every, cron, timezone, timeout, ...rest } = raw;
  const problems = diagnostics.length;
  let schedule: Schedule;
  let longestRunMs: number;
  if (cron !== undefined) {
    if (every !== undefined) diagnostics.push(source.at([...at, 'cron'], 'expected either every or cron, not both'));
    schedule = { type: 'cron', expression: cron, timezone };
    longestRunMs = cronShortestGapMs(cronNextDue(cron, timezone), Date.UTC(2030, 0, 1));
  } else {
    if (timezone !== undefined) diagnostics.push(source.at([...at, 'timezone'], 'expected timezone only together with cron'));
    const everyMs = every ?? settings.defaults.every;
    if (everyMs < 100) diagnostics.push(source.at([...at, 'every'], `expected at least 100ms, found ${formatDuration(everyMs)}`));
    schedule = { type: 'every', everyMs };
    longestRunMs = everyMs;
  }
  if (timeout !== undefined && timeout >= longestRunMs) {
    diagnostics.push(
      source.at([...at, 'timeout'], `expected a timeout shorter than the interval (${formatDuration(longestRunMs)}), found ${formatDuration(timeout)}`),
    );
  }
  if (timeout !== undefined && timeout <= 0) diagnostics.push(source.at([...at, 'timeout'], 'expected a timeout above 0'));
  const timeoutMs = timeout ?? Math.min(settings.defaults.timeout, Math.floor(longestRunMs * 0.8));
  if (raw.kind === 'sse') checkSseWindow(raw, timeoutMs, at, source, diagnostics);
  if (raw.kind === 'flow') checkFlowNames(raw, at, source, diagnostics);
  if (diagnostics.length > problems) return undefined;
  const where = source.at([...at, 'name'], '');
  return { ...rest, schedule, timeoutMs, source: `${where.file}:${where.line}` } as ProbeSpec;
}

/** Routes must name receivers that exist; receiver names are unique. A monitor that silently
 * cannot alert is worse than none, so these stop start-up. */
function checkAlerting(settings: DaemonSettings, source: SourceMap, diagnostics: Diagnostic[]): void {
  const { receivers, routes, defaultReceivers } = settings.alerting;
  const names = receivers.map((r) => r.name);
  receivers.forEach((r, i) => {
    if (names.indexOf(r.name) !== i) diagnostics.push(source.at(['alerting', 'receivers', i, 'name'], `duplicate receiver name "${r.name}"`));
  });
  const known = (name: string) => names.includes(name);
  const expected = `expected one of the receivers (${names.join(', ') || 'none defined'})`;
  routes.forEach((r, i) =>
    r.receivers.forEach((name, j) => {
      if (!known(name)) diagnostics.push(source.at(['alerting', 'routes', i, 'receivers', j], `${expected}, found "${name}"`));
    }),
  );
  (defaultReceivers ?? []).forEach((name, j) => {
    if (!known(name)) diagnostics.push(source.at(['alerting', 'defaultReceivers', j], `${expected}, found "${name}"`));
  });
}

/** An SSE run holds the stream for `hold`: its deadline must leave room for it. */
function checkSseWindow(raw: Extract<RawProbe, { kind: 'sse' }>, timeoutMs: number, at: KeyPath, source: SourceMap, diagnostics: Diagnostic[]): void {
  if (raw.hold >= timeoutMs) {
    diagnostics.push(source.at([...at, 'hold'], `expected a hold window shorter than the timeout (${formatDuration(timeoutMs)}), found ${formatDuration(raw.hold)}`));
  }
  if (raw.resume && raw.resume.after >= raw.hold) {
    diagnostics.push(source.at([...at, 'resume', 'after'], `expected resume.after inside the hold window (${formatDuration(raw.hold)}), found ${formatDuration(raw.resume.after)}`));
  }
}

/** A flow's awaits must name a watcher, and legs in expect.legs must exist. */
function checkFlowNames(raw: Extract<RawProbe, { kind: 'flow' }>, at: KeyPath, source: SourceMap, diagnostics: Diagnostic[]): void {
  const watchers = raw.watch.map((w) => w.name);
  const legs = new Set<string>();
  raw.watch.forEach((w, i) => {
    if (watchers.indexOf(w.name) !== i) diagnostics.push(source.at([...at, 'watch', i, 'name'], `duplicate watcher name "${w.name}"`));
  });
  raw.steps.forEach((step, i) => {
    if ('await' in step) {
      legs.add(step.await.on);
      if (!watchers.includes(step.await.on)) {
        diagnostics.push(source.at([...at, 'steps', i, 'await', 'on'], `expected one of the watchers (${watchers.join(', ') || 'none defined'}), found "${step.await.on}"`));
      }
    }
    if ('poll' in step) legs.add(step.poll.name);
  });
  for (const leg of Object.keys(raw.expect.legs ?? {})) {
    if (!legs.has(leg)) diagnostics.push(source.atKey([...at, 'expect', 'legs', leg], `expected a leg of this flow (${[...legs].join(', ')}), found "${leg}"`));
  }
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
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    diagnostics.push(fileProblem(file, `cannot read file (${errorCode(error)})`));
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
  return { raw: doc.toJS(), source };
}

/** Validates `raw` (found at `at` in the file); every issue becomes a positioned diagnostic. */
function validate<T>(
  schema: z.ZodType<T, unknown>,
  raw: unknown,
  at: KeyPath,
  source: SourceMap,
  diagnostics: Diagnostic[],
): T | undefined {
  const result = schema.safeParse(raw, { error: defaultMessage });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    diagnostics.push(...issueDiagnostics({ ...issue, path: [...at, ...issue.path] } as Issue, source));
  }
  return undefined;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;

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
      node.value = node.value.replace(REFERENCE, (match, reference: string | undefined) => {
        if (reference === undefined) return '${';
        const resolved = resolveReference(reference.trim(), env);
        if (typeof resolved === 'string') {
          if (resolved.length >= 4) secrets.add(resolved);
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
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      return { problem: `cannot read secret file ${file} (${errorCode(error)})` };
    }
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(reference)) {
    return { problem: `expected \${ENV_VAR} or \${file:/path}, found \${${reference}}` };
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

/** Our wording for zod's built-in checks: "expected …" (the loader adds "found …"). */
function defaultMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${article(issue.expected)}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${issue.minimum} item(s)`
        : issue.origin === 'string'
          ? `expected at least ${issue.minimum} character(s)`
          : `expected a value of at least ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array' || issue.origin === 'string'
        ? `expected at most ${issue.maximum} ${issue.origin === 'array' ? 'item(s)' : 'character(s)'}`
        : `expected a value of at most ${issue.maximum}`;
    case 'invalid_value':
      return `expected one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `expected ${issue.format === 'regex' ? 'a value in the documented format' : issue.format}`;
    default:
      return undefined;
  }
}

function article(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'int':
      return 'a whole number';
    case 'integer':
      return 'a whole number';
    default:
      return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
  }
}

function issueDiagnostics(issue: Issue, source: SourceMap): Diagnostic[] {
  const keys = issue.path as Array<string | number>;
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => source.atKey([...keys, key], 'unknown key'));
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? 'expected a valid key';
    return [source.atKey(keys, `${inner}, found key ${JSON.stringify(keys[keys.length - 1])}`)];
  }
  const found = source.found(keys);
  if (found === 'nothing') return [source.at(keys, `missing, ${issue.message}`)];
  return [source.at(keys, `${issue.message}, found ${found}`)];
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

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
