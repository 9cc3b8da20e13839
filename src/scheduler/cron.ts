// Cron schedules, compiled once per expression at load: croner computes "the next due time
// after t" (node-cron 4 offers that only through a private field of a task it registers
// globally, which leaked one task per call). Our timer engine fires them.
import { Cron } from 'croner';

/** The next due time strictly after `afterMs` (epoch ms). */
export type NextDue = (afterMs: number) => number;

export class CronSchedule {
  private readonly cron: Cron;

  private constructor(
    readonly expression: string,
    readonly timezone: string | undefined,
  ) {
    this.cron = new Cron(expression, { paused: true, ...(timezone === undefined ? {} : { timezone }) });
  }

  /** Why `expression` is not a usable cron expression, or undefined. */
  static problem(expression: string): string | undefined {
    if (expression.trim().split(/\s+/).length > 6) return 'expected 5 or 6 fields';
    try {
      const cron = new Cron(expression, { paused: true });
      if (cron.nextRun(new Date(Date.UTC(2030, 0, 1))) === null) return 'it never fires';
      return undefined;
    } catch (error) {
      return (error as Error).message.replace(/^CronPattern: /, '');
    }
  }

  /** Compiles an expression that `problem` accepted. */
  static compile(expression: string, timezone: string | undefined): CronSchedule {
    return new CronSchedule(expression, timezone);
  }

  /** The next due time strictly after `afterMs`; Infinity if there is none. */
  next(afterMs: number): number {
    return this.cron.nextRun(new Date(afterMs))?.getTime() ?? Number.POSITIVE_INFINITY;
  }

  /** The last due time at or before `atMs`; undefined if there is none (croner looks back a
   * bounded distance). */
  previous(atMs: number): number | undefined {
    // croner counts in whole seconds, strictly before its reference.
    return this.cron.previousRuns(1, new Date(Math.floor(atMs / 1000) * 1000 + 1000))[0]?.getTime();
  }

  toJSON(): string {
    return this.timezone ? `${this.expression} (${this.timezone})` : this.expression;
  }
}

/** The shortest gap between the next `count` fires from `fromMs`: the most a run may take. */
export function cronShortestGapMs(schedule: CronSchedule, fromMs: number, count = 16): number {
  let shortest = Number.POSITIVE_INFINITY;
  let previous = schedule.next(fromMs);
  for (let i = 1; i < count && Number.isFinite(previous); i++) {
    const due = schedule.next(previous);
    shortest = Math.min(shortest, due - previous);
    previous = due;
  }
  return shortest;
}
