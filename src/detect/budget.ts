// Resource budgets as a pure state machine per watched process: over budget once every sample
// for `for` ms broke a limit; within budget again at the first sample inside all limits; gone
// when the process disappears, and back when it returns.
import type { Budget } from '../config/schema.js';

export type ResourceHealth = 'ok' | 'over-budget' | 'gone';

export interface ResourceSample {
  cpuPercent: number;
  rssBytes: number;
  /** The daemon only: worst event-loop delay since the previous sample. */
  eventLoopDelayMs?: number;
}

export interface ResourceTransition {
  process: string;
  from: ResourceHealth;
  to: ResourceHealth;
  reason: 'over-budget' | 'within-budget' | 'gone' | 'back';
  at: number;
  evidence: Record<string, string | number>;
}

export class BudgetState {
  private health: ResourceHealth = 'ok';
  private overSince: number | undefined;

  constructor(
    readonly process: string,
    private budget: Budget,
  ) {}

  get state(): ResourceHealth {
    return this.health;
  }

  setBudget(budget: Budget): void {
    this.budget = budget;
  }

  observe(sample: ResourceSample | 'gone', now: number): ResourceTransition[] {
    if (sample === 'gone') {
      this.overSince = undefined;
      return this.health === 'gone' ? [] : [this.move('gone', 'gone', now, {})];
    }
    if (this.health === 'gone') return [this.move('ok', 'back', now, {}), ...this.observe(sample, now)];
    const broken = this.broken(sample);
    if (broken.length === 0) {
      this.overSince = undefined;
      return this.health === 'over-budget' ? [this.move('ok', 'within-budget', now, describe(sample))] : [];
    }
    this.overSince ??= now;
    if (this.health === 'over-budget' || now - this.overSince < this.budget.for) return [];
    return [this.move('over-budget', 'over-budget', now, { ...describe(sample), limits: broken.join(', '), over_for_ms: now - this.overSince })];
  }

  /** Which limits this sample breaks, as "rss 1.2 GB > 1 GB". */
  broken(sample: ResourceSample): string[] {
    const { rss, cpu, eventLoopDelay } = this.budget;
    const out: string[] = [];
    if (rss !== undefined && sample.rssBytes > rss) out.push(`rss ${mb(sample.rssBytes)} > ${mb(rss)}`);
    if (cpu !== undefined && sample.cpuPercent > cpu) out.push(`cpu ${sample.cpuPercent.toFixed(0)}% > ${cpu}%`);
    if (eventLoopDelay !== undefined && sample.eventLoopDelayMs !== undefined && sample.eventLoopDelayMs > eventLoopDelay) {
      out.push(`event-loop delay ${sample.eventLoopDelayMs.toFixed(0)}ms > ${eventLoopDelay}ms`);
    }
    return out;
  }

  private move(to: ResourceHealth, reason: ResourceTransition['reason'], at: number, evidence: ResourceTransition['evidence']): ResourceTransition {
    const from = this.health;
    this.health = to;
    return { process: this.process, from, to, reason, at, evidence };
  }
}

function describe(sample: ResourceSample): Record<string, number> {
  return {
    cpu_percent: Math.round(sample.cpuPercent * 10) / 10,
    rss_bytes: sample.rssBytes,
    ...(sample.eventLoopDelayMs !== undefined ? { event_loop_delay_ms: Math.round(sample.eventLoopDelayMs) } : {}),
  };
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}
