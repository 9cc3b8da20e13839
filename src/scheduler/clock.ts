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

const MAX_DELAY_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer(delayMs, fn) {
    // libuv timers count whole milliseconds from the loop's cached time, so they can fire a
    // fraction of a millisecond early: round up, and callers re-arm if woken before their due
    // time (a 1 ms timer, not a setImmediate spin that would burn a core).
    if (delayMs <= 0) {
      const handle = setImmediate(fn);
      return { cancel: () => clearImmediate(handle) };
    }
    // Past MAX_DELAY_MS Node fires at once (with a warning): wake at the limit instead; every
    // caller checks the time when woken.
    const handle = setTimeout(fn, Math.min(MAX_DELAY_MS, Math.max(1, Math.ceil(delayMs))));
    return { cancel: () => clearTimeout(handle) };
  },
};
