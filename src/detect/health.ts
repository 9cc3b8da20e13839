// Probe health as the daemon runs it: the detector (pure state machines), its state file, the
// timer for outages that outlive recoverWithin, and the periodic save. Every change is handed
// on together with the result that caused it (none for a deadline tick).
import path from 'node:path';
import type { DetectConfig, ProbeSpec } from '../config/schema.js';
import type { ProbeResult } from '../probers/types.js';
import type { Clock, Timer } from '../scheduler/clock.js';
import { Detector, detectorSnapshotSchema, salvageDetectorSnapshot } from './detector.js';
import type { ProbeState, Transition } from './probe-state.js';
import { StateFile } from './state-file.js';

export interface HealthOptions {
  clock: Clock;
  stateDir: string;
  /** Transitions, with the result that caused them (undefined: an outage became overdue). */
  onTransitions(transitions: Transition[], cause: ProbeResult | undefined): void;
  /** Every save: undefined when it worked, the error when not (the caller alerts once). */
  onSave(error: unknown | undefined, file: string): void;
  /** How long until the next periodic save: a minute, or a few seconds while the state
   * directory is in trouble, so freeing it is noticed at once. */
  saveEveryMs(): number;
  /** Runs `fn` right after the alert state's next write: the detector's state, written there, is
   * never newer on disk than the alerts its transitions made (a crash between them would lose a
   * page). Without it (tests of health alone) the state is written at once. */
  afterAlertsSaved?(fn: () => void): void;
}

export class Health {
  private readonly file: StateFile<ReturnType<Detector['snapshot']>>;
  private readonly detector: Detector;
  private deadline: { at: number; timer: Timer } | undefined;
  private saveTimer: Timer | undefined;
  private stopped = false;

  /** Why the saved state could not be (wholly) used at start, and what was lost. */
  readonly problem: { problem: string; lost: string[] } | undefined;

  constructor(private readonly options: HealthOptions) {
    this.file = new StateFile(path.join(options.stateDir, 'detector.json'), detectorSnapshotSchema, salvageDetectorSnapshot);
    this.detector = new Detector(this.file.load() ?? {});
    this.problem = this.file.problem === undefined ? undefined : { problem: this.file.problem, lost: this.file.lost };
  }

  configure(defaults: DetectConfig, probes: readonly ProbeSpec[]): void {
    this.detector.configure(defaults, probes);
  }

  start(): void {
    this.armDeadline();
    this.scheduleSave();
  }

  stop(): void {
    this.stopped = true;
    this.deadline?.timer.cancel();
    this.saveTimer?.cancel();
    this.save();
  }

  observe(result: ProbeResult): void {
    this.emit(this.detector.observe(result, result.startedAt + result.durationMs), result);
  }

  state(probe: string): ProbeState | undefined {
    return this.detector.state(probe);
  }

  /** What /metrics shows of each probe's health: its state, outage start and baseline. */
  gauges(probes: ReadonlyArray<{ name: string }>): Array<{ probe: string; health: ProbeState['health']; outageStartedAt: number | undefined; baselineMs: number | undefined }> {
    return probes.map(({ name }) => {
      const state = this.detector.state(name);
      return { probe: name, health: state?.health ?? 'pending', outageStartedAt: state?.incident?.failing ? state.incident.startedAt : undefined, baselineMs: state?.baselineMs };
    });
  }

  get detectorView(): Detector {
    return this.detector;
  }

  private emit(transitions: Transition[], cause: ProbeResult | undefined): void {
    if (transitions.length === 0) return;
    // The outbox is written (by the listener) before the detector's state: a crash in between
    // repeats a transition, which the alert state absorbs, instead of losing a notification.
    this.options.onTransitions(transitions, cause);
    if (this.options.afterAlertsSaved) this.options.afterAlertsSaved(() => this.save());
    else this.save();
    this.armDeadline();
  }

  /** One timer at the earliest moment an outage can become overdue (recoverWithin). */
  private armDeadline(): void {
    const at = this.detector.nextDeadline();
    if (this.deadline?.at === at) return;
    this.deadline?.timer.cancel();
    this.deadline = undefined;
    if (at === undefined || this.stopped) return;
    const { clock } = this.options;
    const timer = clock.setTimer(Math.max(0, at - clock.now()), () => {
      this.deadline = undefined;
      this.emit(this.detector.tick(clock.now()), undefined);
      this.armDeadline();
    });
    this.deadline = { at, timer };
  }

  /** (Re)arms the periodic save, at the interval the caller wants now. */
  scheduleSave(): void {
    this.saveTimer?.cancel();
    if (this.stopped) return;
    this.saveTimer = this.options.clock.setTimer(this.options.saveEveryMs(), () => {
      this.save();
      this.scheduleSave();
    });
  }

  /** Writes the state now (shutdown). */
  saveNow(): void {
    this.save();
  }

  private save(): void {
    let failure: unknown;
    try {
      this.file.save(this.detector.persisted());
    } catch (error) {
      failure = error;
    }
    this.options.onSave(failure, this.file.file);
  }
}
