// What the daemon knows about its probes, as documents: a summary line per probe (the status
// API by default, and the status page's overview rows) and one probe in full (its recent
// results, failures and incident timeline). The API and the page read the same documents;
// the caller removes secrets before either is shown.
import type { Alert } from '../alerting/alert.js';
import type { ReceiverStatus } from '../alerting/engine.js';
import type { Silence } from '../alerting/maintenance.js';
import type { Config } from '../config/load.js';
import type { ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import type { Detector } from '../detect/detector.js';
import { figuresOf, type Health } from '../detect/probe-state.js';
import { redactDeep, type Redact } from '../logging/redact.js';
import { figureOf } from '../detect/figures.js';
import { kindOf } from '../probers/kinds.js';
import { headlineOf, targetOf } from '../probers/run-probe.js';
import type { CheckResult, Failure, ProbeResult } from '../probers/types.js';
import type { ProcessReading } from '../resources/monitor.js';
import type { History, TimelineEntry } from '../results/history.js';
import type { FleetProbe, HistoryStore, IncidentRecord, StoreHealth } from '../store/store.js';
import { dayBars, probeHistory, uptimeOfBars, type DayBar, type ProbeHistory } from '../store/views.js';

export interface StatusInputs {
  config: Config;
  version: string;
  startedAt: number;
  lastReload: { at: number; ok: boolean; problems: string[] };
  now: number;
  history: History;
  /** The history store, when there is one (history.store). */
  store: HistoryStore | undefined;
  detector: Detector;
  resources: ProcessReading[];
}

/** How the last run went; `pending` before the first, `inconclusive` when the daemon itself was starved. */
export type LastVerdict = 'ok' | 'degraded' | 'failed' | 'inconclusive' | 'pending';

export interface ProbeSummary {
  name: string;
  kind: string;
  labels: Record<string, string>;
  target: string;
  schedule: string;
  state: Health;
  verdict: LastVerdict;
  /** The last run's headline: its failure or degradation in words. */
  headline: string | undefined;
  lastAt: number | undefined;
  /** The kind's main figure: the last run's value, and the recent runs' (oldest first). A failed
   * run has none (nothing was measured to its end): null, and marked failed. */
  main: { label: string; ms: number | undefined; recent: Array<{ ms: number | null; failed: boolean }> };
  /** The open incident: since its first failure; how long it has been failing in all, and in
   * how many periods (more than one: it flapped). */
  outage: { since: number; ageMs: number; failingMs: number; periods: number } | undefined;
  /** Failing, with good runs coming in: how many of the needed. */
  recovering: { good: number; needed: number } | undefined;
  /** Up again, the incident still open: when it closes (and is all-cleared) unless it fails again. */
  settlingUntil: number | undefined;
}

export interface RunSummary {
  runId: string;
  at: number;
  verdict: LastVerdict;
  headline: string | undefined;
  durationMs: number;
  mainMs: number | undefined;
  failure: Failure | undefined;
  phases: Record<string, number>;
  checks: CheckResult[];
  /** The kind's figures in words (gaps, ids, RTT, legs…). */
  figures: string[];
  detail: ProbeResult['detail'];
}

export interface ProbeDocument extends ProbeSummary {
  source: string;
  timeout: string;
  baselineMs: number | undefined;
  last: RunSummary | undefined;
  recent: RunSummary[];
  failures: RunSummary[];
  timeline: TimelineEntry[];
}

export interface StatusSummary {
  location: string;
  version: string;
  startedAt: string;
  config: { file: string; lastReload: { at: string; ok: boolean; problems: string[] } };
  resources: ProcessReading[];
  counts: Record<Health, number> & { probes: number };
  probes: ProbeSummary[];
  /** What someone reading the page must know about the daemon itself (no receiver). */
  warnings: string[];
}

export interface AlertsDocument {
  alerts: Alert[];
  silences: Silence[];
  /** Where alerts go; none configured means they are delivered nowhere, and `warning` says so. */
  receivers: ReceiverStatus[];
  warning: string | undefined;
}

/** What a daemon with no receiver says wherever its alerts are shown. */
export const NO_RECEIVER = 'no receiver: alerts are not delivered anywhere (add one under alerting.receivers)';

/** Failing first, then degraded, then the rest; by name within each. */
const RANK: Record<Health, number> = { failing: 0, degraded: 1, healthy: 2, pending: 3 };
export function rankOf(summary: Pick<ProbeSummary, 'state'>): number {
  return RANK[summary.state];
}

export function statusSummary(inputs: StatusInputs): StatusSummary {
  const probes = inputs.config.probes.map((spec) => probeSummary(inputs, spec)).sort((a, b) => rankOf(a) - rankOf(b) || a.name.localeCompare(b.name));
  const counts = { probes: probes.length, failing: 0, degraded: 0, healthy: 0, pending: 0 };
  for (const p of probes) counts[p.state]++;
  return {
    location: inputs.config.settings.location,
    version: inputs.version,
    startedAt: new Date(inputs.startedAt).toISOString(),
    config: { file: inputs.config.configFile, lastReload: { ...inputs.lastReload, at: new Date(inputs.lastReload.at).toISOString() } },
    resources: inputs.resources,
    counts,
    probes,
    warnings: inputs.config.settings.alerting.receivers.length === 0 && probes.length > 0 ? [NO_RECEIVER] : [],
  };
}

export function probeSummary(inputs: StatusInputs, spec: ProbeSpec, recent = inputs.history.recentOf(spec.name)): ProbeSummary {
  const { detector, now } = inputs;
  const last = recent[0];
  const detected = detector.state(spec.name);
  const state = detected?.health ?? 'pending';
  const incident = detected?.incident;
  const figures = incident && figuresOf(incident, now);
  const main = kindOf(spec.kind).main;
  return {
    name: spec.name,
    kind: spec.kind,
    labels: { ...spec.labels },
    target: targetOf(spec),
    schedule: describeSchedule(spec),
    state,
    verdict: verdictOf(last),
    headline: last && headlineOf(last),
    lastAt: last?.startedAt,
    main: { label: main.label, ms: last && mainFigure(last, main.figure), recent: [...recent].reverse().map((r) => ({ ms: mainFigure(r, main.figure) ?? null, failed: !r.ok && r.failure.code !== 'inconclusive' })) },
    outage: figures && { since: figures.startedAt, ageMs: Math.round(now - figures.startedAt), failingMs: Math.round(figures.durationMs), periods: figures.periods },
    recovering: detected?.recovering,
    settlingUntil: detected?.settlingUntil,
  };
}

export function probeDocument(inputs: StatusInputs, spec: ProbeSpec): ProbeDocument {
  const { history } = inputs;
  const summarize = runSummary(spec);
  const recent = history.recentOf(spec.name);
  return {
    ...probeSummary(inputs, spec, recent),
    source: spec.source,
    timeout: formatDuration(spec.timeoutMs),
    baselineMs: inputs.detector.state(spec.name)?.baselineMs,
    last: recent[0] && summarize(recent[0]),
    recent: recent.map(summarize),
    failures: history.failuresOf(spec.name).map(summarize),
    timeline: [...history.timelineOf(spec.name)],
  };
}

export interface StoreDocuments {
  health(): StoreHealth | undefined;
  /** Reads the fleet's daily rows again when the last read is old (before a page draws bars). */
  refresh(): Promise<void>;
  /** A probe's 90 daily bars at a location and its 30-day uptime, from the last read. */
  days(name: string, location: string): { bars: DayBar[]; uptime30d: number | undefined } | undefined;
  /** A probe's history at a location. Rejects when the store cannot be read. */
  history(name: string, location: string): Promise<ProbeHistory | undefined>;
  /** Incidents, newest first. Rejects when the store cannot be read. */
  incidents(filter: { probe: string | undefined; state: 'open' | 'closed' | undefined; limit: number }): Promise<IncidentRecord[] | undefined>;
  /** Every probe of the fleet the store knows. Rejects when the store cannot be read. */
  fleet(): Promise<FleetProbe[] | undefined>;
}

/** The three documents the API and the page show, read fresh each time, every secret removed
 * (one probe no bigger than the API allows). */
export function statusDocuments(read: {
  inputs(): StatusInputs;
  redact(): Redact;
  spec(name: string): ProbeSpec | undefined;
  alerts(): AlertsDocument;
}): {
  summary(): StatusSummary;
  probe(name: string): ProbeDocument | undefined;
  alerts(): AlertsDocument;
  /** The history store's side of the page; every answer undefined when no store is kept. */
  store: StoreDocuments;
} {
  const withStore = <T>(body: (store: HistoryStore, now: number) => T): T | undefined => {
    const { store, now } = read.inputs();
    return store && body(store, now);
  };
  return {
    store: {
      health: () => withStore((store) => redactDeep(store.health(), read.redact())),
      refresh: async () => withStore((store, now) => store.refreshDays(now)),
      days: (name, location) =>
        withStore((store, now) => {
          const bars = dayBars(store, name, now, 90, location);
          return { bars, uptime30d: uptimeOfBars(bars.slice(-30)) };
        }),
      history: async (name, location) => withStore(async (store, now) => redactDeep(await probeHistory(store, name, now, location), read.redact())),
      incidents: async (filter) => withStore(async (store) => redactDeep(await store.incidentList(filter), read.redact())),
      fleet: async () => withStore(async (store) => redactDeep(await store.fleet(), read.redact())),
    },
    summary: () => redactDeep(statusSummary(read.inputs()), read.redact()),
    probe: (name) => {
      const spec = read.spec(name);
      return spec && fitWithin(redactDeep(probeDocument(read.inputs(), spec), read.redact()), MAX_PROBE_DOCUMENT_BYTES);
    },
    alerts: () => redactDeep(read.alerts(), read.redact()),
  };
}

const MAX_PROBE_DOCUMENT_BYTES = 512 * 1024;

/** A document no bigger than `maxBytes` as JSON: the oldest recent results and failures go
 * first, and `truncated` says how many. */
export function fitWithin(doc: ProbeDocument, maxBytes: number): ProbeDocument & { truncated?: string } {
  let fitted: ProbeDocument & { truncated?: string } = doc;
  while (Buffer.byteLength(JSON.stringify(fitted)) > maxBytes && (fitted.recent.length > 1 || fitted.failures.length > 0 || fitted.timeline.length > 0)) {
    const recent = fitted.recent.slice(0, Math.ceil(fitted.recent.length / 2));
    const failures = fitted.failures.slice(0, Math.floor(fitted.failures.length / 2));
    const timeline = fitted.timeline.slice(0, Math.floor(fitted.timeline.length / 2));
    fitted = { ...fitted, recent, failures, timeline, truncated: `kept ${recent.length}/${doc.recent.length} recent, ${failures.length}/${doc.failures.length} failures, ${timeline.length}/${doc.timeline.length} timeline entries to stay under ${maxBytes} bytes` };
  }
  return fitted;
}

function verdictOf(result: ProbeResult | undefined): LastVerdict {
  if (!result) return 'pending';
  if (!result.ok && result.failure.code === 'inconclusive') return 'inconclusive';
  return result.verdict;
}

/** A run's main figure, only when it ran to its end: a failed flow has no end-to-end time, a
 * failed request no response time. */
function mainFigure(result: ProbeResult, figure: Parameters<typeof figureOf>[1]): number | undefined {
  return result.ok ? round(figureOf(result, figure)) : undefined;
}

function runSummary(spec: ProbeSpec): (result: ProbeResult) => RunSummary {
  const kind = kindOf(spec.kind);
  return (result) => ({
    runId: result.runId,
    at: result.startedAt,
    verdict: verdictOf(result),
    headline: headlineOf(result),
    durationMs: round(result.durationMs) ?? 0,
    mainMs: mainFigure(result, kind.main.figure),
    failure: result.ok ? undefined : result.failure,
    phases: Object.fromEntries(Object.entries(result.phases).map(([phase, ms]) => [phase, Math.round(ms * 1000) / 1000])),
    checks: result.checks,
    figures: kind.describe(result.detail as never),
    detail: result.detail,
  });
}

function describeSchedule(spec: ProbeSpec): string {
  const { schedule } = spec;
  switch (schedule.type) {
    case 'every':
      return `every ${formatDuration(schedule.everyMs)}`;
    case 'cron':
      return `cron ${schedule.cron.toJSON()}`;
    default:
      return schedule satisfies never;
  }
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 100) / 100;
}
