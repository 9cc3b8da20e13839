// Time is passed in, never read directly: the scheduler and detectors run on a fake clock in tests.
import { performance } from 'node:perf_hooks';

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Epoch milliseconds with sub-millisecond precision. */
  now(): number;
  /** Calls `fn` once, `delayMs` from now (never earlier than the timer engine allows). */
  setTimer(delayMs: number, fn: () => void): Timer;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer(delayMs, fn) {
    // libuv timers have millisecond resolution and may fire just before a fractional due time:
    // round up, and let sub-millisecond remainders run on the next loop turn.
    if (delayMs < 1) {
      const handle = setImmediate(fn);
      return { cancel: () => clearImmediate(handle) };
    }
    const handle = setTimeout(fn, Math.ceil(delayMs));
    return { cancel: () => clearTimeout(handle) };
  },
};
