// A drift-free timer engine: one timer for the earliest due run, due times taken from each
// probe's schedule (never from when its last run ended), no probe overlapping itself, and a
// global cap on runs in flight with a FIFO queue for the rest.
import type { Schedule } from '../config/schema.js';
import type { Clock, Timer } from './clock.js';
import type { NextDue } from './cron.js';
import { MinHeap } from './min-heap.js';
import { deadlineReason } from '../probers/classify-error.js';

export interface Run {
  /** The slot this run was scheduled for (epoch ms). */
  slot: number;
  startedAt: number;
  /** Fires at the job's deadline or when the scheduler is stopped after its grace period. */
  signal: AbortSignal;
}

export interface Job {
  name: string;
  schedule: Schedule;
  timeoutMs: number;
  run(run: Run): Promise<void>;
}

export type SkipReason = 'overlap' | 'missed';

export interface SchedulerOptions {
  clock: Clock;
  maxConcurrent: number;
  /** The step probes are spread on (scheduler.spreadStep); SPREAD_STEP_MS when unset. */
  spreadStepMs?: number;
  /** Actual start minus due slot, for every run started. */
  onLateness?: (latenessMs: number) => void;
  onSkip?: (job: string, reason: SkipReason, count: number) => void;
}

interface Entry {
  job: Job;
  nextDue: NextDue;
  /** Bumped when the entry's schedule changes or it is removed: older heap items are stale. */
  version: number;
  removed: boolean;
  running: boolean;
  queuedSlot: number | undefined;
}

interface Due {
  at: number;
  /** Insertion order: runs due at the same moment start (and queue) in a stable order. */
  seq: number;
  entry: Entry;
  version: number;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new MinHeap<Due>((a, b) => a.at - b.at || a.seq - b.seq);
  private seq = 0;
  private readonly queue: Entry[] = [];
  /** Controllers of runs in flight: aborted together when the grace period ends. */
  private readonly running = new Set<AbortController>();
  private timer: { handle: Timer; at: number } | undefined;
  private inFlightCount = 0;
  private started = false;
  private stopping = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: SchedulerOptions) {}

  get inFlight(): number {
    return this.inFlightCount;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Replaces the set of jobs: new ones are scheduled, removed ones stop (runs in flight finish). */
  update(jobs: readonly Job[]): void {
    const names = new Set(jobs.map((job) => job.name));
    for (const [name, entry] of this.entries) {
      if (names.has(name)) continue;
      entry.removed = true;
      entry.version++;
      this.entries.delete(name);
    }
    for (const job of jobs) this.upsert(job);
    this.arm();
  }

  start(): void {
    this.started = true;
    this.arm();
  }

  /** Stops scheduling; waits up to `graceMs` for runs in flight, then aborts them and waits. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.timer?.handle.cancel();
    this.timer = undefined;
    for (const entry of this.queue.splice(0)) entry.queuedSlot = undefined;
    if (this.inFlightCount === 0) return;
    let graceTimer: Timer | undefined;
    const graceOver = new Promise<void>((resolve) => {
      graceTimer = this.options.clock.setTimer(graceMs, resolve);
    });
    await Promise.race([this.idle(), graceOver]);
    graceTimer?.cancel();
    if (this.inFlightCount > 0) {
      const reason = new DOMException('the daemon is stopping', 'AbortError');
      for (const controller of this.running) controller.abort(reason);
      await this.idle();
    }
  }

  private idle(): Promise<void> {
    if (this.inFlightCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private upsert(job: Job): void {
    const existing = this.entries.get(job.name);
    if (existing && sameSchedule(existing.job.schedule, job.schedule)) {
      existing.job = job;
      return;
    }
    const entry: Entry = existing ?? { job, nextDue: dueFunction(job, this.options.spreadStepMs), version: 0, removed: false, running: false, queuedSlot: undefined };
    entry.job = job;
    entry.nextDue = dueFunction(job, this.options.spreadStepMs);
    entry.version++;
    this.entries.set(job.name, entry);
    this.heap.push({ at: entry.nextDue(this.options.clock.now()), seq: this.seq++, entry, version: entry.version });
  }

  private arm(): void {
    if (!this.started || this.stopping) return;
    const top = this.peekLive();
    if (!top || !Number.isFinite(top.at)) return;
    if (this.timer?.at === top.at) return;
    this.timer?.handle.cancel();
    const delay = top.at - this.options.clock.now();
    this.timer = { at: top.at, handle: this.options.clock.setTimer(Math.max(0, delay), this.tick) };
  }

  private peekLive(): Due | undefined {
    let top = this.heap.peek();
    while (top && top.version !== top.entry.version) {
      this.heap.pop();
      top = this.heap.peek();
    }
    return top;
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    const now = this.options.clock.now();
    for (let top = this.peekLive(); top && top.at <= now; top = this.peekLive()) {
      this.heap.pop();
      const { entry, at: slot } = top;
      let next = entry.nextDue(slot);
      let missed = 0;
      while (next <= now) {
        missed++;
        next = entry.nextDue(next);
      }
      // Slots already past are skipped, not run in a burst: the next run keeps its own slot.
      if (missed > 0) this.options.onSkip?.(entry.job.name, 'missed', missed);
      this.heap.push({ at: next, seq: this.seq++, entry, version: entry.version });
      this.dispatch(entry, slot);
    }
    this.arm();
  };

  private dispatch(entry: Entry, slot: number): void {
    if (entry.running || entry.queuedSlot !== undefined) {
      this.options.onSkip?.(entry.job.name, 'overlap', 1);
      return;
    }
    if (this.inFlightCount >= this.options.maxConcurrent) {
      entry.queuedSlot = slot;
      this.queue.push(entry);
      return;
    }
    this.launch(entry, slot);
  }

  private launch(entry: Entry, slot: number): void {
    const { clock } = this.options;
    const startedAt = clock.now();
    this.options.onLateness?.(startedAt - slot);
    const { job } = entry;
    const controller = new AbortController();
    const deadline = clock.setTimer(job.timeoutMs, () => controller.abort(deadlineReason(job.timeoutMs)));
    // One controller per run, in a set that stop() aborts: cheaper than a listener per run on a
    // shared shutdown signal (EventTarget removal is linear), and no AbortSignal.any, which on
    // Node 20 keeps every composite alive as long as its long-lived source.
    this.running.add(controller);
    entry.running = true;
    this.inFlightCount++;
    void job
      .run({ slot, startedAt, signal: controller.signal })
      .catch(() => undefined)
      .finally(() => {
        deadline.cancel();
        this.running.delete(controller);
        entry.running = false;
        this.inFlightCount--;
        this.startQueued();
        if (this.inFlightCount === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
  }

  private startQueued(): void {
    while (!this.stopping && this.inFlightCount < this.options.maxConcurrent) {
      const entry = this.queue.shift();
      if (!entry) return;
      const slot = entry.queuedSlot;
      entry.queuedSlot = undefined;
      if (!entry.removed && slot !== undefined) this.launch(entry, slot);
    }
  }
}

/** Offsets are multiples of this by default: probes spread over the interval still share timer
 * wake-ups (each wake-up of the event loop costs more CPU than the runs it starts), and few enough
 * start together that they do not delay each other's timings (docs/benchmarks.md). */
export const SPREAD_STEP_MS = 10;

/** A stable offset in [0, every), a multiple of `stepMs`, from the probe name, so 500 probes do
 * not fire together and a restart keeps each probe on its slots. */
export function spreadOffset(name: string, everyMs: number, stepMs = SPREAD_STEP_MS): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  const slots = Math.max(1, Math.floor(everyMs / stepMs));
  return (hash % slots) * stepMs;
}

function dueFunction(job: Job, stepMs: number | undefined): NextDue {
  const { schedule } = job;
  switch (schedule.type) {
    case 'every': {
      const every = schedule.everyMs;
      const offset = spreadOffset(job.name, every, stepMs);
      return (after) => offset + (Math.floor((after - offset) / every) + 1) * every;
    }
    case 'cron':
      return (after) => schedule.cron.next(after);
    default:
      return schedule satisfies never;
  }
}

function sameSchedule(a: Schedule, b: Schedule): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
