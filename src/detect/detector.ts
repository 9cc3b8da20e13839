// Every probe's state machine, fed each result; settings are the daemon's defaults overridden
// per probe. Transitions go to whoever listens (log, metrics, alerting); a snapshot of every
// state is what the daemon persists, so a restart keeps outages and baselines.
import type { DetectConfig, ProbeSpec, Schedule } from '../config/schema.js';
import { cronShortestGapMs } from '../scheduler/cron.js';
import type { ProbeResult } from '../probers/types.js';
import { figureOf } from './figures.js';
import { keepRecords, type Salvage } from './state-file.js';
import { z } from 'zod';
import { ProbeState, probeStateSnapshotSchema, type DetectSettings, type ProbeStateSnapshot, type Transition } from './probe-state.js';

export type DetectorSnapshot = Record<string, ProbeStateSnapshot>;
export const detectorSnapshotSchema = z.record(z.string(), probeStateSnapshotSchema) as unknown as z.ZodType<DetectorSnapshot, unknown>;

/** detector.json probe by probe: one bad entry costs that probe's state, not every probe's. */
export const salvageDetectorSnapshot: Salvage<DetectorSnapshot> = (raw) => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const lost: string[] = [];
  const value = keepRecords(raw, probeStateSnapshotSchema, 'probe', lost) as DetectorSnapshot;
  return { value, lost };
};

export class Detector {
  private readonly states = new Map<string, ProbeState>();
  private settings = new Map<string, DetectSettings>();

  constructor(private restored: DetectorSnapshot = {}) {}

  /** Applies a (re)loaded config: new probes start (from a restored snapshot if there is one),
   * removed probes are forgotten, changed rules take effect. */
  configure(defaults: DetectConfig, probes: readonly ProbeSpec[]): void {
    this.settings = new Map(probes.map((spec) => [spec.name, settingsFor(defaults, spec)]));
    for (const name of this.states.keys()) if (!this.settings.has(name)) this.states.delete(name);
    for (const [name, settings] of this.settings) {
      const existing = this.states.get(name);
      if (existing) existing.setSettings(settings);
      else this.states.set(name, new ProbeState(name, settings, this.restored[name]));
    }
    this.restored = {};
  }

  observe(result: ProbeResult, now: number): Transition[] {
    const state = this.states.get(result.probe);
    const settings = this.settings.get(result.probe);
    if (!state || !settings) return [];
    const inconclusive = !result.ok && result.failure.code === 'inconclusive';
    return state.observe(
      {
        ok: result.ok,
        inconclusive,
        figureMs: settings.degraded ? figureOf(result, settings.degraded.figure) : undefined,
        degradedRun: result.verdict === 'degraded' ? result.degradation : undefined,
        failure: result.ok ? undefined : result.failure,
      },
      now,
    );
  }

  tick(now: number): Transition[] {
    return [...this.states.values()].flatMap((state) => state.tick(now));
  }

  /** The earliest moment a tick can produce a transition. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const state of this.states.values()) {
      const deadline = state.nextDeadline();
      if (deadline !== undefined && (next === undefined || deadline < next)) next = deadline;
    }
    return next;
  }

  state(probe: string): ProbeState | undefined {
    return this.states.get(probe);
  }

  snapshot(): DetectorSnapshot {
    return Object.fromEntries([...this.states].map(([name, state]) => [name, state.snapshot()]));
  }

  /** Every state as it is, to be serialised at once (see ProbeState.persisted). */
  persisted(): Readonly<DetectorSnapshot> {
    return Object.fromEntries([...this.states].map(([name, state]) => [name, state.persisted])) as DetectorSnapshot;
  }
}

/** How long degraded runs must last before the probe is degraded, when no rule says. */
const DEFAULT_SUSTAIN_MS = 60_000;

export function settingsFor(defaults: DetectConfig, spec: ProbeSpec): DetectSettings {
  const merged = { ...defaults, ...definedOnly(spec.detect ?? {}) } as DetectConfig;
  const degraded = merged.degraded;
  return {
    failAfter: merged.failAfter,
    recoverAfter: merged.recoverAfter,
    failureRatio: merged.failureRatio === false ? undefined : merged.failureRatio,
    recoverWithinMs: merged.recoverWithin,
    flapWindowMs: merged.flapWindow ?? defaultFlapWindowMs(spec.schedule),
    degradedRunsSustainMs: degraded?.sustain ?? DEFAULT_SUSTAIN_MS,
    degraded: degraded && {
      figure: degraded.figure,
      thresholdMs: degraded.threshold,
      factor: degraded.factor,
      sustainMs: degraded.sustain,
      minSamples: degraded.minSamples,
      baselineSamples: degraded.baselineSamples,
      percentile: degraded.percentile,
    },
  };
}

/** Two runs of the probe, at most five minutes: long enough to see a flap as one incident,
 * short enough that the all-clear is not held back for long (README: The alert lifecycle). */
export function defaultFlapWindowMs(schedule: Schedule): number {
  const everyMs = schedule.type === 'every' ? schedule.everyMs : cronShortestGapMs(schedule.cron, Date.now());
  return Math.min(2 * everyMs, 5 * 60_000);
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
