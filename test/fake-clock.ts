// A clock for tests: time moves only when the test says so, and timers fire in due order.
import type { Clock, Timer } from '../src/scheduler/clock.js';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private pending: Pending[] = [];
  private seq = 0;

  constructor(private current = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, fn: () => void): Timer {
    const entry = { at: this.current + Math.max(0, delayMs), seq: this.seq++, fn };
    this.pending.push(entry);
    return { cancel: () => void (this.pending = this.pending.filter((p) => p !== entry)) };
  }

  /** Moves time forward by `ms`, firing each due timer at its own time, and letting promise
   * callbacks settle after each (so async work started by a timer runs before the next). */
  async advance(ms: number): Promise<void> {
    const until = this.current + ms;
    await settle();
    for (;;) {
      const next = this.pending.filter((p) => p.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.current = Math.max(this.current, next.at);
      next.fn();
      await settle();
    }
    this.current = until;
    await settle();
  }

  get timers(): number {
    return this.pending.length;
  }
}

/** Lets queued promise callbacks and immediates run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** For probes on `cron: "* * * * * *"`: moves the clock to just past the next whole second, where
 * they all start, then waits (in real time) for `ran` — their runs finishing — before anything
 * later in fake time (a run's deadline) can fire. Advancing a whole second at once let a deadline
 * fire before a loaded machine had answered the request. */
export async function nextSecond(clock: FakeClock, ran: () => Promise<unknown>): Promise<void> {
  const next = (Math.floor(clock.now() / 1000) + 1) * 1000;
  await clock.advance(next - 1 - clock.now());
  await clock.advance(1.5);
  await ran();
}
