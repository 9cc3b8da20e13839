// Cron expressions are node-cron's: its parser and matcher give the due times, our timer engine
// fires them (node-cron's own per-job timers are ~12x the CPU per fire and far later at p99).
import cron from 'node-cron';

interface TimeMatcher {
  getNextMatch(after: Date): Date;
}

/** The next due time strictly after `afterMs` (epoch ms). */
export type NextDue = (afterMs: number) => number;

export function cronNextDue(expression: string, timezone: string | undefined): NextDue {
  const task = cron.createTask(expression, () => undefined, timezone === undefined ? {} : { timezone });
  // node-cron 4 keeps its matcher on the task; createTask neither starts a timer nor holds the loop.
  const matcher = (task as unknown as { timeMatcher?: TimeMatcher }).timeMatcher;
  if (typeof matcher?.getNextMatch !== 'function') {
    throw new Error('node-cron no longer exposes timeMatcher.getNextMatch; pin node-cron 4.x');
  }
  return (afterMs) => matcher.getNextMatch(new Date(afterMs)).getTime();
}

/** The shortest gap between the next `count` fires from `fromMs`: the most a run may take. */
export function cronShortestGapMs(next: NextDue, fromMs: number, count = 16): number {
  let shortest = Number.POSITIVE_INFINITY;
  let previous = next(fromMs);
  for (let i = 1; i < count; i++) {
    const due = next(previous);
    shortest = Math.min(shortest, due - previous);
    previous = due;
  }
  return shortest;
}
