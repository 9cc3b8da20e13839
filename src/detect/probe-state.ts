// Per-probe health as a pure state machine: observe(result, now) → transitions. No clock, no
// I/O: the daemon feeds it results and ticks, and persists its snapshot.
//
//   pending ──first conclusive run──► healthy (no transition: nothing happened to anyone)
//   healthy ──failAfter consecutive failures, or failure ratio over a window──► failing   (an incident opens)
//   failing ──recoverAfter consecutive successes (and, for an incident the ratio opened, the ratio
//             back under its limit)──► healthy   (the incident settles)
//   settling, flapWindow passed with no failure streak ──► incident-closed   (the all-clear)
//   settling, failing again ──► failing   (the same incident, flapping: a new failing period)
//   healthy ──a figure over threshold or factor × baseline, sustained──► degraded ──recoverAfter fast──► healthy
//   failing for recoverWithin in total ──► a "not-recovered-within" transition of its own, once per incident
// An incident's duration is the time it was actually failing (the sum of its failing periods);
// its span runs from its first failed run to the first good run of the recovery that held.
// Inconclusive results (the daemon itself was starved) neither fail nor heal.
import { z } from 'zod';
import { figureLabel, type Figure } from '../config/probe-fields.js';
import { percentile } from '../probers/stats.js';
import { epochMs } from './state-file.js';

export type Health = 'pending' | 'healthy' | 'degraded' | 'failing';

export type TransitionReason =
  | 'consecutive-failures'
  | 'failure-ratio'
  | 'recovered'
  | 'incident-closed'
  | 'slow'
  | 'fast-again'
  | 'not-recovered-within';

export interface DetectSettings {
  failAfter: number;
  recoverAfter: number;
  /** Failing when more than `above` of the last `window` conclusive runs failed. */
  failureRatio: { window: number; above: number } | undefined;
  /** Failing this long in total (of one incident) raises its own transition. */
  recoverWithinMs: number | undefined;
  degraded: DegradedSettings | undefined;
  /** After a recovery held, the incident stays open this long: failing again within it is the
   * same incident (flapping); once it passed, the incident is closed and all-cleared. */
  flapWindowMs: number;
  /** Runs with the verdict degraded (over a `degradeWhen` limit), sustained this long, make the
   * probe degraded too — whatever figures those limits were on. */
  degradedRunsSustainMs: number;
}

export interface DegradedSettings {
  /** Which figure of a result: duration, phase.<name>, rtt_p95, leg.<name>, total. */
  figure: Figure;
  /** Slow when above this (ms)… */
  thresholdMs: number | undefined;
  /** …or above factor × the learned baseline. */
  factor: number | undefined;
  /** How long every sample must have been slow before the probe is degraded. */
  sustainMs: number;
  /** Samples needed before the baseline is trusted. */
  minSamples: number;
  /** Samples in the rolling baseline, and which percentile of them is the baseline. */
  baselineSamples: number;
  percentile: number;
}

export interface Observation {
  ok: boolean;
  inconclusive: boolean;
  /** The degradation figure of this result, if it has one (ms). */
  figureMs: number | undefined;
  /** The run's verdict was degraded: what was over its degrade limit. */
  degradedRun?: string | undefined;
  failure: { code: string; message: string } | undefined;
}

type Failure = { code: string; message: string };
type OpenedBy = 'consecutive-failures' | 'failure-ratio';

/** One fault, told once: from its first failed run until a recovery held and settled. */
export interface Incident {
  startedAt: number;
  /** Failing time of the failing periods that ended (ms). */
  failedMs: number;
  /** Failing periods so far: 1, more when it flapped. */
  periods: number;
  /** The current failing period: when it started and which rule opened it. Undefined while the
   * probe is up again and the incident settles. */
  failing: { since: number; openedBy: OpenedBy } | undefined;
  /** The last recovery that held: its first good run, and when recoverAfter was reached. */
  recovery: { firstGoodAt: number; heldAt: number } | undefined;
  /** Set once the not-recovered-within transition fired for this incident. */
  overdueAt: number | undefined;
  lastFailure: Failure | undefined;
}

/** What a transition tells of its incident. */
export interface IncidentFigures {
  startedAt: number;
  /** The first good run of the recovery that held (closed incidents). */
  endedAt: number | undefined;
  /** Time actually failing, over every failing period (so far, while it goes on). */
  durationMs: number;
  /** From the first failed run to the end (or to now). */
  spanMs: number;
  periods: number;
  /** The incident outlived recoverWithin. */
  overdue: boolean;
}

export interface Transition {
  probe: string;
  from: Health;
  to: Health;
  reason: TransitionReason;
  at: number;
  /** What led here, for a human: counts, figures, the last error. */
  evidence: Record<string, string | number>;
  /** Every transition of an incident (failing, recovered, not-recovered-within, closed). */
  outage?: IncidentFigures;
}

const time = epochMs();
const span = z.number().finite().nonnegative().max(100 * 365 * 86_400_000);
const count = z.number().int().nonnegative();
const failure = z.object({ code: z.string().max(100), message: z.string().max(10_000) });
const openedBy = z.enum(['consecutive-failures', 'failure-ratio']);

const incidentSchema = z.object({
  startedAt: time,
  failedMs: span,
  periods: count.min(1),
  failing: z.object({ since: time, openedBy }).optional(),
  recovery: z.object({ firstGoodAt: time, heldAt: time }).optional(),
  overdueAt: time.optional(),
  lastFailure: failure.optional(),
});

/** Snapshots written before incidents had periods: an `outage` of a failing probe becomes its
 * incident, one of a healthy probe a failure streak; `lastRecovery` is no longer needed. */
function migrate(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('outage' in value)) return value;
  const { outage, lastRecovery: _gone, ...rest } = value as Record<string, unknown> & { outage?: { startedAt?: unknown; lastFailure?: unknown; overdueAt?: unknown } };
  if (!outage) return rest;
  if (rest.health === 'failing') {
    return { ...rest, incident: { startedAt: outage.startedAt, failedMs: 0, periods: 1, failing: { since: outage.startedAt, openedBy: 'consecutive-failures' }, overdueAt: outage.overdueAt, lastFailure: outage.lastFailure } };
  }
  return { ...rest, streak: { startedAt: outage.startedAt, lastFailure: outage.lastFailure } };
}

/** What survives a restart, checked on load like any other input (one probe at a time). */
export const probeStateSnapshotSchema = z.preprocess(
  migrate,
  z.object({
    health: z.enum(['pending', 'healthy', 'degraded', 'failing']),
    /** Failures in a row that have not (yet) made the probe failing. */
    streak: z.object({ startedAt: time, lastFailure: failure.optional() }).optional(),
    incident: incidentSchema.optional(),
    consecutiveFailures: count,
    consecutiveSuccesses: count,
    /** The last conclusive runs, for the failure ratio. */
    window: z.array(z.object({ ok: z.boolean(), at: time })).max(10_000),
    baseline: z.array(z.number().finite().nonnegative()).max(10_000),
    slowSince: time.optional(),
    fastStreak: count,
    firstSuccessAt: time.optional(),
  }).refine((s) => (s.health === 'failing') === (s.incident?.failing !== undefined), { error: 'expected a failing probe to have a failing incident, and only a failing one' }),
);

export interface ProbeStateSnapshot {
  health: Health;
  streak: { startedAt: number; lastFailure: Failure | undefined } | undefined;
  incident: Incident | undefined;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  window: Array<{ ok: boolean; at: number }>;
  baseline: number[];
  slowSince: number | undefined;
  fastStreak: number;
  firstSuccessAt: number | undefined;
}

export function initialSnapshot(): ProbeStateSnapshot {
  return { health: 'pending', streak: undefined, incident: undefined, consecutiveFailures: 0, consecutiveSuccesses: 0, window: [], baseline: [], slowSince: undefined, fastStreak: 0, firstSuccessAt: undefined };
}

export class ProbeState {
  private s: ProbeStateSnapshot;
  /** The baseline samples in ascending order (derived, not persisted): a percentile is an index. */
  private sorted: number[];

  constructor(
    readonly probe: string,
    private settings: DetectSettings,
    snapshot: ProbeStateSnapshot = initialSnapshot(),
  ) {
    this.s = structuredClone(snapshot);
    this.sorted = [...this.s.baseline].sort((a, b) => a - b);
  }

  get health(): Health {
    return this.s.health;
  }

  /** The open incident (failing, or up again and settling), if there is one. */
  get incident(): Readonly<Incident> | undefined {
    return this.s.incident;
  }

  /** Failing and some good runs in already: how many of the needed. */
  get recovering(): { good: number; needed: number } | undefined {
    if (this.s.health !== 'failing' || this.s.consecutiveSuccesses === 0) return undefined;
    return { good: this.s.consecutiveSuccesses, needed: this.settings.recoverAfter };
  }

  /** Up again, the incident still open: when it closes unless the probe fails again. */
  get settlingUntil(): number | undefined {
    const recovery = this.s.incident?.recovery;
    return recovery && this.s.incident?.failing === undefined ? recovery.heldAt + this.settings.flapWindowMs : undefined;
  }

  /** The learned baseline (ms), once there are enough samples. */
  get baselineMs(): number | undefined {
    const d = this.settings.degraded;
    if (!d || this.sorted.length < d.minSamples) return undefined;
    return percentile(this.sorted, d.percentile);
  }

  /** The live state, for a writer that serialises it at once (no copy: a copy of every probe's
   * state on every save was a tenth of the daemon's CPU under 300 transitions a second). */
  get persisted(): Readonly<ProbeStateSnapshot> {
    return this.s;
  }

  snapshot(): ProbeStateSnapshot {
    return structuredClone(this.s);
  }

  setSettings(settings: DetectSettings): void {
    this.settings = settings;
  }

  observe(observation: Observation, now: number): Transition[] {
    if (observation.inconclusive) return [];
    if (this.s.health === 'pending') this.s.health = 'healthy';
    const transitions = observation.ok ? this.onSuccess(now) : this.onFailure(observation, now);
    if (observation.ok && this.s.health !== 'failing') transitions.push(...this.onFigure(observation.figureMs, observation.degradedRun, now));
    return transitions;
  }

  /** The next moment a tick has something to do: the incident becomes overdue, or settles. */
  nextDeadline(): number | undefined {
    const incident = this.s.incident;
    if (!incident) return undefined;
    const within = this.settings.recoverWithinMs;
    if (incident.failing) {
      if (within === undefined || incident.overdueAt !== undefined) return undefined;
      return incident.failing.since + Math.max(0, within - incident.failedMs);
    }
    // A failure streak in progress decides: it re-opens the incident, or a success closes it.
    if (this.s.consecutiveFailures > 0) return undefined;
    return this.settlingUntil;
  }

  /** Fires what is due: not-recovered-within, or the close of a settled incident. */
  tick(now: number): Transition[] {
    const deadline = this.nextDeadline();
    const incident = this.s.incident;
    if (deadline === undefined || now < deadline || !incident) return [];
    if (!incident.failing) return this.close(now);
    incident.overdueAt = now;
    return [
      this.transition('failing', 'not-recovered-within', now, {
        recover_within_ms: this.settings.recoverWithinMs ?? 0,
        last_error: incident.lastFailure ? `${incident.lastFailure.code}: ${incident.lastFailure.message}` : '',
      }),
    ];
  }

  private onFailure(observation: Observation, now: number): Transition[] {
    const s = this.s;
    s.consecutiveFailures++;
    s.consecutiveSuccesses = 0;
    s.firstSuccessAt = undefined;
    this.pushWindow(false, now);
    if (s.incident?.failing) {
      s.incident.lastFailure = observation.failure;
      return [];
    }
    s.streak ??= { startedAt: now, lastFailure: undefined };
    s.streak.lastFailure = observation.failure;
    const openedBy = this.failingReason();
    if (!openedBy) return [];
    // With a ratio, the failing period began at the first failure still in the window.
    const since = openedBy === 'failure-ratio' ? (s.window.find((w) => !w.ok)?.at ?? s.streak.startedAt) : s.streak.startedAt;
    s.streak = undefined;
    s.slowSince = undefined;
    s.fastStreak = 0;
    const settling = s.incident;
    if (settling) {
      // Failing again before the recovery settled: the same incident, flapping.
      const upMs = since - (settling.recovery?.firstGoodAt ?? since);
      settling.periods++;
      settling.failing = { since, openedBy };
      settling.recovery = undefined;
      settling.lastFailure = observation.failure;
      return [this.transition('failing', openedBy, now, { ...this.failingEvidence(observation), flapping: 1, up_for_ms: Math.round(upMs), failing_periods: settling.periods })];
    }
    s.incident = { startedAt: since, failedMs: 0, periods: 1, failing: { since, openedBy }, recovery: undefined, overdueAt: undefined, lastFailure: observation.failure };
    return [this.transition('failing', openedBy, now, this.failingEvidence(observation))];
  }

  private failingEvidence(observation: Observation): Transition['evidence'] {
    const s = this.s;
    return {
      consecutive_failures: s.consecutiveFailures,
      failed_in_window: s.window.filter((w) => !w.ok).length,
      window: s.window.length,
      last_error: observation.failure ? `${observation.failure.code}: ${observation.failure.message}` : '',
    };
  }

  private failingReason(): OpenedBy | undefined {
    const s = this.s;
    if (s.consecutiveFailures >= this.settings.failAfter) return 'consecutive-failures';
    return this.overRatio() ? 'failure-ratio' : undefined;
  }

  private overRatio(): boolean {
    const ratio = this.settings.failureRatio;
    const window = this.s.window;
    if (!ratio || window.length < ratio.window) return false;
    return window.filter((w) => !w.ok).length / window.length > ratio.above;
  }

  private onSuccess(now: number): Transition[] {
    const s = this.s;
    s.consecutiveFailures = 0;
    s.consecutiveSuccesses++;
    s.streak = undefined;
    this.pushWindow(true, now);
    const incident = s.incident;
    if (!incident?.failing) {
      // Settling: a failure streak that ended may have held the close back past its moment.
      const until = this.settlingUntil;
      return until !== undefined && now >= until ? this.close(now) : [];
    }
    s.firstSuccessAt ??= now;
    if (s.consecutiveSuccesses < this.settings.recoverAfter) return [];
    // An intermittent fault (the ratio opened it) is over only when the ratio is back under its
    // limit, or a probe failing one run in three would recover and fail again for ever. A hard
    // fault is over after recoverAfter good runs, however full of failures the window is.
    if (incident.failing.openedBy === 'failure-ratio' && this.overRatio()) return [];
    const firstGoodAt = s.firstSuccessAt;
    incident.failedMs += Math.max(0, firstGoodAt - incident.failing.since);
    incident.failing = undefined;
    incident.recovery = { firstGoodAt, heldAt: now };
    s.firstSuccessAt = undefined;
    // What comes next starts from a clean slate: these failures must not count toward the
    // failure ratio of a later incident.
    s.window = [];
    const recovered = this.transition('healthy', 'recovered', now, { consecutive_successes: s.consecutiveSuccesses });
    return this.settings.flapWindowMs === 0 ? [recovered, ...this.close(now)] : [recovered];
  }

  /** The recovery held through the flap window: the incident is over. */
  private close(now: number): Transition[] {
    const incident = this.s.incident;
    if (!incident?.recovery) return [];
    const transition = this.transition(this.s.health, 'incident-closed', now, { failing_periods: incident.periods, flap_window_ms: this.settings.flapWindowMs });
    this.s.incident = undefined;
    return [transition];
  }

  /** Slow when the run's verdict was degraded, or the rule's figure is over its threshold or
   * factor × baseline; degraded once slow for the sustain window, healthy after recoverAfter
   * runs that are not. */
  private onFigure(figureMs: number | undefined, degradedRun: string | undefined, now: number): Transition[] {
    const d = this.settings.degraded;
    const s = this.s;
    // With a rule but no figure in this result (and a run that was not degraded), nothing to judge.
    if (degradedRun === undefined && (d ? figureMs === undefined : s.health !== 'degraded' && s.slowSince === undefined)) return [];
    const baseline = this.baselineMs;
    const overThreshold = d !== undefined && figureMs !== undefined && d.thresholdMs !== undefined && figureMs > d.thresholdMs;
    const overBaseline = d !== undefined && figureMs !== undefined && d.factor !== undefined && baseline !== undefined && figureMs > d.factor * baseline;
    const figure = d ? figureLabel(d.figure) : 'verdict';
    if (!overThreshold && !overBaseline && degradedRun === undefined) {
      s.slowSince = undefined;
      // Only normal samples teach the baseline: a slowdown must not become the new normal.
      if (d && figureMs !== undefined) this.learn(figureMs, d.baselineSamples);
      if (s.health !== 'degraded') return [];
      s.fastStreak++;
      if (s.fastStreak < this.settings.recoverAfter) return [];
      s.fastStreak = 0;
      return [this.transition('healthy', 'fast-again', now, { figure, ...(figureMs !== undefined ? { observed_ms: round(figureMs) } : {}), ...(baseline !== undefined ? { baseline_ms: round(baseline) } : {}) })];
    }
    if (d && figureMs !== undefined && !overThreshold && !overBaseline) this.learn(figureMs, d.baselineSamples);
    s.fastStreak = 0;
    s.slowSince ??= now;
    const sustainMs = overThreshold || overBaseline ? (d as DegradedSettings).sustainMs : this.settings.degradedRunsSustainMs;
    if (s.health === 'degraded' || now - s.slowSince < sustainMs) return [];
    if (!overThreshold && !overBaseline) {
      return [this.transition('degraded', 'slow', now, { figure: 'verdict', degradation: degradedRun ?? '', slow_for_ms: now - s.slowSince })];
    }
    return [this.transition('degraded', 'slow', now, {
      figure,
      observed_ms: round(figureMs as number),
      ...(baseline !== undefined ? { baseline_ms: round(baseline) } : {}),
      ...(d?.thresholdMs !== undefined ? { threshold_ms: d.thresholdMs } : {}),
      ...(d?.factor !== undefined ? { factor: d.factor } : {}),
      slow_for_ms: now - s.slowSince,
    })];
  }

  private learn(sample: number, keep: number): void {
    this.s.baseline.push(sample);
    this.sorted.splice(insertionPoint(this.sorted, sample), 0, sample);
    while (this.s.baseline.length > keep) {
      const evicted = this.s.baseline.shift() as number;
      this.sorted.splice(insertionPoint(this.sorted, evicted), 1);
    }
  }

  private pushWindow(ok: boolean, at: number): void {
    const size = this.settings.failureRatio?.window ?? 0;
    if (size === 0) return;
    this.s.window.push({ ok, at });
    if (this.s.window.length > size) this.s.window.splice(0, this.s.window.length - size);
  }

  private transition(to: Health, reason: TransitionReason, at: number, evidence: Transition['evidence']): Transition {
    const from = this.s.health;
    this.s.health = to;
    const outage = this.s.incident && INCIDENT_REASONS.has(reason) ? figuresOf(this.s.incident, at) : undefined;
    return { probe: this.probe, from, to, reason, at, evidence, ...(outage ? { outage } : {}) };
  }
}

const INCIDENT_REASONS: ReadonlySet<TransitionReason> = new Set(['consecutive-failures', 'failure-ratio', 'recovered', 'incident-closed', 'not-recovered-within']);

/** An incident's times as of `now`: failing time so far, and its span. */
export function figuresOf(incident: Readonly<Incident>, now: number): IncidentFigures {
  const endedAt = incident.failing ? undefined : incident.recovery?.firstGoodAt;
  const durationMs = incident.failedMs + (incident.failing ? Math.max(0, now - incident.failing.since) : 0);
  return { startedAt: incident.startedAt, endedAt, durationMs, spanMs: Math.max(0, (endedAt ?? now) - incident.startedAt), periods: incident.periods, overdue: incident.overdueAt !== undefined };
}

/** The first index in ascending `sorted` whose value is >= `value`. */
function insertionPoint(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((sorted[mid] as number) < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
