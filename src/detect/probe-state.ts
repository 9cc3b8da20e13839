// Per-probe health as a pure state machine: observe(result, now) → transitions. No clock, no
// I/O: the daemon feeds it results and ticks, and persists its snapshot.
//
//   healthy ──failAfter consecutive failures, or failure ratio over a window──► failing
//   failing ──recoverAfter consecutive successes──► healthy   (the outage's duration is recorded)
//   healthy ──a figure over threshold or factor × baseline, sustained──► degraded ──recoverAfter fast──► healthy
//   failing, past recoverWithin ──► a "not-recovered-within" transition of its own, once per outage
// Inconclusive results (the daemon itself was starved) neither fail nor heal.
import { z } from 'zod';
import { figureLabel, type Figure } from '../config/probe-fields.js';
import { percentile } from '../probers/stats.js';

export type Health = 'healthy' | 'degraded' | 'failing';

export type TransitionReason =
  | 'consecutive-failures'
  | 'failure-ratio'
  | 'recovered'
  | 'slow'
  | 'fast-again'
  | 'not-recovered-within';

export interface DetectSettings {
  failAfter: number;
  recoverAfter: number;
  /** Failing when more than `above` of the last `window` conclusive runs failed. */
  failureRatio: { window: number; above: number } | undefined;
  recoverWithinMs: number | undefined;
  degraded: DegradedSettings | undefined;
  /** Failing again within this long after a recovery re-opens the same incident. */
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

export interface Outage {
  startedAt: number;
  /** Set once the not-recovered-within transition fired for this outage. */
  overdueAt: number | undefined;
  lastFailure: { code: string; message: string } | undefined;
}

export interface Transition {
  probe: string;
  from: Health;
  to: Health;
  reason: TransitionReason;
  at: number;
  /** What led here, for a human: counts, figures, the last error. */
  evidence: Record<string, string | number>;
  /** For failing→healthy: the outage that ended. For →failing and not-recovered-within: the one
   * going on (it started at its first failed run). */
  outage?: { startedAt: number; endedAt: number | undefined; durationMs: number };
}

const time = z.number().finite().nonnegative();
const count = z.number().int().nonnegative();
const failure = z.object({ code: z.string(), message: z.string() });

/** What survives a restart, checked on load like any other input. */
export const probeStateSnapshotSchema = z.object({
  health: z.enum(['healthy', 'degraded', 'failing']),
  outage: z.object({ startedAt: time, overdueAt: time.optional(), lastFailure: failure.optional() }).optional(),
  consecutiveFailures: count,
  consecutiveSuccesses: count,
  /** The last conclusive runs, for the failure ratio. */
  window: z.array(z.object({ ok: z.boolean(), at: time })).max(10_000),
  baseline: z.array(z.number().finite()).max(10_000),
  slowSince: time.optional(),
  fastStreak: count,
  firstSuccessAt: time.optional(),
  lastRecovery: z.object({ at: time, startedAt: time, times: count }).optional(),
});

export interface ProbeStateSnapshot {
  health: Health;
  outage: Outage | undefined;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  window: Array<{ ok: boolean; at: number }>;
  baseline: number[];
  slowSince: number | undefined;
  fastStreak: number;
  firstSuccessAt: number | undefined;
  /** The last recovery: when, the incident's start, and how many times it recovered within the
   * flap window (a probe failing again soon re-opens that incident). */
  lastRecovery?: { at: number; startedAt: number; times: number } | undefined;
}

export function initialSnapshot(): ProbeStateSnapshot {
  return { health: 'healthy', outage: undefined, consecutiveFailures: 0, consecutiveSuccesses: 0, window: [], baseline: [], slowSince: undefined, fastStreak: 0, firstSuccessAt: undefined };
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

  get outage(): Outage | undefined {
    return this.s.outage;
  }

  /** The learned baseline (ms), once there are enough samples. */
  get baselineMs(): number | undefined {
    const d = this.settings.degraded;
    if (!d || this.sorted.length < d.minSamples) return undefined;
    return percentile(this.sorted, d.percentile);
  }

  snapshot(): ProbeStateSnapshot {
    return structuredClone(this.s);
  }

  setSettings(settings: DetectSettings): void {
    this.settings = settings;
  }

  observe(observation: Observation, now: number): Transition[] {
    if (observation.inconclusive) return [];
    const transitions = observation.ok ? this.onSuccess(now) : this.onFailure(observation, now);
    if (observation.ok && this.s.health !== 'failing') transitions.push(...this.onFigure(observation.figureMs, observation.degradedRun, now));
    return transitions;
  }

  /** When the current outage becomes overdue (for the caller's timer), if it will. */
  nextDeadline(): number | undefined {
    const { outage } = this.s;
    const within = this.settings.recoverWithinMs;
    if (this.s.health !== 'failing' || !outage || within === undefined || outage.overdueAt !== undefined) return undefined;
    return outage.startedAt + within;
  }

  /** Fires the not-recovered-within transition when its moment has come. */
  tick(now: number): Transition[] {
    const deadline = this.nextDeadline();
    const outage = this.s.outage;
    if (deadline === undefined || now < deadline || !outage) return [];
    outage.overdueAt = now;
    return [
      this.transition('failing', 'not-recovered-within', now, {
        recover_within_ms: this.settings.recoverWithinMs ?? 0,
        last_error: outage.lastFailure ? `${outage.lastFailure.code}: ${outage.lastFailure.message}` : '',
      }, { startedAt: outage.startedAt, endedAt: undefined, durationMs: now - outage.startedAt }),
    ];
  }

  private onFailure(observation: Observation, now: number): Transition[] {
    const s = this.s;
    if (s.health !== 'failing' && s.consecutiveFailures === 0) s.outage = { startedAt: now, overdueAt: undefined, lastFailure: undefined };
    s.consecutiveFailures++;
    s.consecutiveSuccesses = 0;
    s.firstSuccessAt = undefined;
    this.pushWindow(false, now);
    if (s.outage) s.outage.lastFailure = observation.failure;
    if (s.health === 'failing') return [];
    const reason = this.failingReason();
    if (!reason) return [];
    // With a ratio, the outage began at the first failure still in the window.
    const firstFailure = s.window.find((w) => !w.ok);
    if (reason === 'failure-ratio' && s.outage && firstFailure) s.outage.startedAt = firstFailure.at;
    s.slowSince = undefined;
    s.fastStreak = 0;
    // Failing again soon after a recovery: the same incident, re-opened — its start stays the
    // first failure of the incident, and the alert says it is failing again.
    const flap = s.lastRecovery && s.outage && now - s.lastRecovery.at <= this.settings.flapWindowMs ? s.lastRecovery : undefined;
    if (flap && s.outage) s.outage.startedAt = flap.startedAt;
    return [this.transition('failing', reason, now, {
      consecutive_failures: s.consecutiveFailures,
      failed_in_window: s.window.filter((w) => !w.ok).length,
      window: s.window.length,
      last_error: observation.failure ? `${observation.failure.code}: ${observation.failure.message}` : '',
      ...(flap ? { reopened_after_ms: Math.round(now - flap.at), reopened_times: flap.times + 1, flap_window_ms: this.settings.flapWindowMs } : {}),
    }, s.outage && { startedAt: s.outage.startedAt, endedAt: undefined, durationMs: now - s.outage.startedAt })];
  }

  private failingReason(): TransitionReason | undefined {
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
    this.pushWindow(true, now);
    if (s.health !== 'failing') {
      // A failure streak that ended before it became an outage.
      s.outage = undefined;
      return [];
    }
    s.firstSuccessAt ??= now;
    // Hysteresis: enough successes in a row, and (with a ratio rule) the window below its limit,
    // so a probe failing one run in three stays failing instead of flapping.
    if (s.consecutiveSuccesses < this.settings.recoverAfter || this.overRatio()) return [];
    const outage = s.outage;
    const endedAt = s.firstSuccessAt;
    s.outage = undefined;
    s.firstSuccessAt = undefined;
    // A new incident starts from a clean slate: the failures of this one must not count
    // toward the failure ratio of the next.
    s.window = [];
    if (outage) {
      const again = s.lastRecovery && now - s.lastRecovery.at <= this.settings.flapWindowMs && s.lastRecovery.startedAt === outage.startedAt;
      s.lastRecovery = { at: now, startedAt: outage.startedAt, times: again ? (s.lastRecovery?.times ?? 0) + 1 : 1 };
    }
    return [this.transition('healthy', 'recovered', now, { consecutive_successes: s.consecutiveSuccesses }, outage && { startedAt: outage.startedAt, endedAt, durationMs: endedAt - outage.startedAt })];
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

  private transition(to: Health, reason: TransitionReason, at: number, evidence: Transition['evidence'], outage?: Transition['outage']): Transition {
    const from = this.s.health;
    this.s.health = to;
    return { probe: this.probe, from, to, reason, at, evidence, ...(outage ? { outage } : {}) };
  }
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
