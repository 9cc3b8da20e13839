// Event-loop delay as a number that means "how late": Node's histogram records the interval
// between its timer's wake-ups, resolution included, so an idle loop reads ~10 ms at a 10 ms
// resolution. We subtract the resolution.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESOLUTION_MS = 10;

export interface LoopDelay {
  percentileMs(p: number): number;
  maxMs(): number;
  reset(): void;
  stop(): void;
}

export function watchLoopDelay(): LoopDelay {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const late = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - RESOLUTION_MS) : 0);
  return {
    percentileMs: (p) => late(histogram.percentile(p)),
    maxMs: () => late(histogram.max),
    reset: () => histogram.reset(),
    stop: () => histogram.disable(),
  };
}
