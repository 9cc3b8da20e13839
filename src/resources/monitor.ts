// Samples the daemon itself and the configured processes (by pid, pidfile or command-line
// match) with pidusage on an interval, feeds budgets, and keeps a record of when the daemon was
// starved (its event loop late beyond its budget) so a run taken then is inconclusive.
import { readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pidusage from 'pidusage';
import { readBoundedFile, readProcFile } from '../config/files.js';
import type { DaemonSettings } from '../config/schema.js';
import { BudgetState, type ResourceSample, type ResourceTransition } from '../detect/budget.js';
import type { ProbeResult } from '../probers/types.js';
import type { Clock, Timer } from '../scheduler/clock.js';
import { watchLoopDelay, type LoopDelay } from './loop-delay.js';

export const SELF = 'flowprobe';
const LAG_EVERY_MS = 50;
const STARVED_KEEP = 256;

type ResourceSettings = DaemonSettings['resources'];
type WatchedProcess = ResourceSettings['processes'][number];

export interface ProcessReading {
  process: string;
  pid: number | undefined;
  sample: ResourceSample | undefined;
  state: BudgetState['state'];
}

export class ResourceMonitor {
  private budgets = new Map<string, BudgetState>();
  private readings = new Map<string, ProcessReading>();
  private settings: ResourceSettings;
  private timer: Timer | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private loopDelay: LoopDelay | undefined;
  /** [start, end] epoch ms of moments the daemon could not keep up. */
  private starved: Array<[number, number]> = [];
  private sampling = false;

  constructor(
    private readonly clock: Clock,
    settings: ResourceSettings,
    private readonly onTransitions: (transitions: ResourceTransition[]) => void,
    private readonly onError: (process: string, error: unknown) => void,
  ) {
    this.settings = settings;
    this.configure(settings);
  }

  configure(settings: ResourceSettings): void {
    this.settings = settings;
    const wanted = new Map<string, ResourceSettings['self']>([[SELF, settings.self], ...settings.processes.map((p) => [p.name, p.budget] as const)]);
    for (const name of this.budgets.keys()) if (!wanted.has(name)) (this.budgets.delete(name), this.readings.delete(name));
    for (const [name, budget] of wanted) {
      const existing = this.budgets.get(name);
      if (existing) existing.setBudget(budget);
      else this.budgets.set(name, new BudgetState(name, budget));
    }
  }

  private stopped = false;

  start(): void {
    this.stopped = false;
    this.loopDelay = watchLoopDelay();
    this.startLagWatch();
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    clearInterval(this.lagTimer);
    this.loopDelay?.stop();
    pidusage.clear();
  }

  readingsNow(): ProcessReading[] {
    return [...this.readings.values()];
  }

  /** A failure taken while the daemon itself was starved says nothing about the target: it
   * becomes inconclusive (and keeps the target's answer in its message). */
  judge(result: ProbeResult): ProbeResult {
    if (result.ok || result.failure.code === 'inconclusive') return result;
    if (!this.starvedDuring(result.startedAt, result.startedAt + result.durationMs)) return result;
    return { ...result, failure: { code: 'inconclusive', message: `the daemon was starved during this run (its event loop late beyond its budget); the target's answer: ${result.failure.code}: ${result.failure.message}` } };
  }

  /** Whether the daemon was starved at any moment of [from, to] (epoch ms). */
  starvedDuring(from: number, to: number): boolean {
    return this.starved.some(([start, end]) => start <= to && end >= from);
  }

  /** Records a starved span directly (a late timer, an over-budget sample). */
  markStarved(from: number, to: number): void {
    this.starved.push([from, to]);
    if (this.starved.length > STARVED_KEEP) this.starved.splice(0, this.starved.length - STARVED_KEEP);
  }

  private arm(): void {
    // A sample in flight when the monitor stopped must not start the next one: that timer would
    // keep a stopped daemon's process alive for ever.
    if (this.stopped) return;
    this.timer = this.clock.setTimer(this.settings.interval, () => {
      void this.sample().finally(() => this.arm());
    });
  }

  /** A timer that should fire every 50 ms: when it is late by more than the daemon's event-loop
   * budget, the loop was blocked for that long. Cheaper and finer than waiting for a sample. */
  private startLagWatch(): void {
    const limit = this.settings.self.eventLoopDelay;
    if (limit === undefined) return;
    let expected = performance.now() + LAG_EVERY_MS;
    this.lagTimer = setInterval(() => {
      const now = performance.now();
      const late = now - expected;
      if (late > limit) {
        const end = this.clock.now();
        this.markStarved(end - late, end);
      }
      expected = now + LAG_EVERY_MS;
    }, LAG_EVERY_MS);
    this.lagTimer.unref();
  }

  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const now = this.clock.now();
      const transitions = [await this.sampleSelf(now), ...(await Promise.all(this.settings.processes.map((p) => this.sampleProcess(p, now))))].flat();
      if (transitions.length > 0) this.onTransitions(transitions);
    } finally {
      this.sampling = false;
    }
  }

  private async sampleSelf(now: number): Promise<ResourceTransition[]> {
    const usage = await pidusage(process.pid);
    const sample: ResourceSample = { cpuPercent: usage.cpu, rssBytes: usage.memory, eventLoopDelayMs: this.loopDelay?.maxMs() ?? 0 };
    this.loopDelay?.reset();
    const budget = this.budgets.get(SELF) as BudgetState;
    // Only a late event loop stops the daemon from measuring (the lag watch marks exactly
    // those spans); CPU or memory over budget is an alert about the daemon, not a reason to
    // doubt what its probes saw.
    const transitions = budget.observe(sample, now);
    this.readings.set(SELF, { process: SELF, pid: process.pid, sample, state: budget.state });
    return transitions;
  }

  private async sampleProcess(watched: WatchedProcess, now: number): Promise<ResourceTransition[]> {
    const budget = this.budgets.get(watched.name) as BudgetState;
    const pid = findPid(watched);
    let sample: ResourceSample | undefined;
    if (pid !== undefined) {
      try {
        const usage = await pidusage(pid);
        sample = { cpuPercent: usage.cpu, rssBytes: usage.memory };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !String((error as Error).message).includes('No matching pid')) this.onError(watched.name, error);
      }
    }
    const transitions = budget.observe(sample ?? 'gone', now);
    this.readings.set(watched.name, { process: watched.name, pid, sample, state: budget.state });
    return transitions;
  }
}

const PIDFILE_BYTES = 64;
const CMDLINE_BYTES = 4_096;

/** The pid of a watched process right now, or undefined when it is not running. */
export function findPid(watched: Pick<WatchedProcess, 'pid' | 'pidfile' | 'match'>): number | undefined {
  if (watched.pid !== undefined) return alive(watched.pid) ? watched.pid : undefined;
  if (watched.pidfile !== undefined) {
    // A pid file is a few bytes: /dev/zero or a FIFO named as one is refused, never read.
    const read = readBoundedFile(watched.pidfile, PIDFILE_BYTES);
    if (typeof read === 'string') return undefined;
    const pid = Number(read.toString('utf8').trim());
    return Number.isInteger(pid) && pid > 0 && pid < 2 ** 31 && alive(pid) ? pid : undefined;
  }
  const pattern = watched.match;
  if (!pattern) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    // Process ended while we looked: undefined. Command lines are cut at 4 KiB (the pattern runs
    // in linear time on what is there).
    const cmdline = readProcFile(`/proc/${entry}/cmdline`, CMDLINE_BYTES)?.toString('utf8').split('\0').join(' ').trim();
    if (cmdline && pattern.test(cmdline)) return Number(entry);
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
