import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock, settle } from '../../test/fake-clock.js';
import type { Schedule } from '../config/schema.js';
import { CronSchedule } from './cron.js';
import { Scheduler, spreadOffset, type Job, type Run } from './scheduler.js';

interface Started {
  name: string;
  slot: number;
  at: number;
  signal: AbortSignal;
  finish: () => void;
}

/** Jobs whose runs stay open until the test finishes them (or, with `autoFinishMs`, after that long). */
function harness(clock: FakeClock, maxConcurrent = 100, spreadStepMs?: number) {
  const started: Started[] = [];
  const skipped: string[] = [];
  const lateness: number[] = [];
  const scheduler = new Scheduler({
    clock,
    maxConcurrent,
    spreadStepMs,
    onLateness: (ms) => lateness.push(ms),
    onSkip: (name, reason, count) => skipped.push(`${name}:${reason}:${count}`),
  });
  const job = (name: string, schedule: Schedule, timeoutMs = 1000, autoFinishMs?: number): Job => ({
    name,
    schedule,
    timeoutMs,
    run: (run: Run) =>
      new Promise<void>((resolve) => {
        started.push({ name, slot: run.slot, at: clock.now(), signal: run.signal, finish: resolve });
        run.signal.addEventListener('abort', () => resolve());
        if (autoFinishMs !== undefined) clock.setTimer(autoFinishMs, resolve);
      }),
  });
  return { scheduler, started, skipped, lateness, job };
}

const every = (ms: number): Schedule => ({ type: 'every', everyMs: ms });

describe('scheduler (fake clock)', () => {
  it('spreads probes deterministically across the interval', () => {
    const offsets = Array.from({ length: 500 }, (_, i) => spreadOffset(`probe-${i}`, 30_000));
    assert.deepEqual(offsets, Array.from({ length: 500 }, (_, i) => spreadOffset(`probe-${i}`, 30_000)), 'same names, same offsets');
    const perSecond = new Map<number, number>();
    for (const offset of offsets) perSecond.set(Math.floor(offset / 1000), (perSecond.get(Math.floor(offset / 1000)) ?? 0) + 1);
    assert.equal(perSecond.size, 30, 'every second of the interval is used');
    assert.ok(Math.max(...perSecond.values()) < 40, `no second holds more than 40 of 500 (max ${Math.max(...perSecond.values())})`);
  });

  it('spreads on a coarser step when told: every slot a multiple of it, the runs of a step started together', async () => {
    const clock = new FakeClock();
    const h = harness(clock, 100, 50);
    h.scheduler.update(Array.from({ length: 60 }, (_, i) => h.job(`p${i}`, every(1000), 900, 10)));
    h.scheduler.start();
    await clock.advance(3000);
    assert.equal(h.started.length, 180, 'every probe ran once a second');
    assert.ok(h.started.every((run) => run.slot % 50 === 0 && run.at === run.slot), 'each run started on a multiple of 50 ms, on time');
    for (const run of h.started) assert.equal(run.slot % 1000, spreadOffset(run.name, 1000, 50), `${run.name} keeps its own offset`);
    const steps = new Set(h.started.map((run) => run.slot % 1000));
    assert.ok(steps.size > 1 && steps.size <= 20, `60 probes on at most 20 steps of 50 ms (${steps.size})`);
    // The default step spreads the same probes finer.
    assert.ok(new Set(Array.from({ length: 60 }, (_, i) => spreadOffset(`p${i}`, 1000))).size > steps.size);
  });

  it('fires on its slots, drift-free, whatever each run takes', async () => {
    const clock = new FakeClock();
    const h = harness(clock);
    h.scheduler.update([h.job('a', every(1000), 900, 700)]);
    h.scheduler.start();
    await clock.advance(10_000);
    const offset = spreadOffset('a', 1000);
    assert.equal(h.started.length, 10);
    h.started.forEach((run, i) => {
      assert.equal(run.slot % 1000, offset, 'every slot keeps the offset');
      assert.equal(run.at, run.slot, 'started exactly on the slot');
      if (i > 0) assert.equal(run.slot - (h.started[i - 1]?.slot ?? 0), 1000);
    });
    assert.deepEqual(h.lateness, Array(10).fill(0));
  });

  it('never overlaps a probe with itself: a slot is skipped while the last run is going', async () => {
    const clock = new FakeClock();
    const h = harness(clock);
    h.scheduler.update([h.job('slow', every(1000), 5000)]);
    h.scheduler.start();
    await clock.advance(spreadOffset('slow', 1000) || 1000);
    assert.equal(h.started.length, 1, 'the first run started');
    await clock.advance(3500);
    assert.equal(h.started.length, 1, 'no second run while the first is going');
    assert.deepEqual(h.skipped, ['slow:overlap:1', 'slow:overlap:1', 'slow:overlap:1']);
    h.started[0]?.finish();
    await clock.advance(1000);
    assert.equal(h.started.length, 2, 'the next slot after it finished runs');
    assert.equal((h.started[1]?.slot ?? 0) % 1000, spreadOffset('slow', 1000));
  });

  it('aborts a run at its deadline', async () => {
    const clock = new FakeClock();
    const h = harness(clock);
    h.scheduler.update([h.job('a', every(10_000), 300)]);
    h.scheduler.start();
    await clock.advance(spreadOffset('a', 10_000) || 10_000);
    const run = h.started[0];
    assert.ok(run);
    assert.equal(run.signal.aborted, false);
    await clock.advance(299);
    assert.equal(run.signal.aborted, false);
    await clock.advance(1);
    assert.equal(run.signal.aborted, true);
    assert.equal((run.signal.reason as Error).name, 'TimeoutError');
  });

  it('caps runs in flight and queues the rest in order, counting queue time as lateness', async () => {
    const clock = new FakeClock();
    const h = harness(clock, 2);
    // Four probes due at the same moment (cron, so no spread).
    const cron: Schedule = { type: 'cron', cron: CronSchedule.compile('*/10 * * * * *', 'UTC') };
    h.scheduler.update(['a', 'b', 'c', 'd'].map((n) => h.job(n, cron, 5000)));
    h.scheduler.start();
    await clock.advance(10_000);
    assert.deepEqual(h.started.map((s) => s.name), ['a', 'b']);
    assert.equal(h.scheduler.queued, 2);
    await clock.advance(50);
    h.started[0]?.finish();
    await settle();
    assert.deepEqual(h.started.map((s) => s.name), ['a', 'b', 'c']);
    assert.equal(h.lateness[2], 50, 'queued run reports its wait');
    assert.equal(h.scheduler.inFlight, 2);
  });

  it('fires cron schedules at their times, in their time zone', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
    const h = harness(clock);
    h.scheduler.update([h.job('daily', { type: 'cron', cron: CronSchedule.compile('0 30 9 * * *', 'Europe/Berlin') }, 1000, 10)]);
    h.scheduler.start();
    await clock.advance(2 * 86_400_000);
    assert.deepEqual(h.started.map((s) => new Date(s.slot).toISOString()), ['2026-01-01T08:30:00.000Z', '2026-01-02T08:30:00.000Z']);
  });

  it('skips slots it could not fire in time instead of running a burst', async () => {
    const clock = new FakeClock();
    const h = harness(clock);
    h.scheduler.update([h.job('a', every(1000), 500, 10)]);
    h.scheduler.start();
    // Simulate a blocked event loop: time jumps 5.5 s without timers firing in between.
    const first = h.started.length;
    (clock as unknown as { current: number }).current += 5500;
    await clock.advance(0);
    assert.equal(h.started.length - first, 1, 'one late run, not five');
    assert.ok(h.skipped.some((s) => s.startsWith('a:missed:')), h.skipped.join());
  });

  it('applies updates: new probes start, removed ones stop, unchanged ones keep their slots', async () => {
    const clock = new FakeClock();
    const h = harness(clock);
    h.scheduler.update([h.job('keep', every(1000), 500, 10), h.job('drop', every(1000), 500, 10)]);
    h.scheduler.start();
    await clock.advance(2000);
    h.scheduler.update([h.job('keep', every(1000), 500, 10), h.job('new', every(1000), 500, 10)]);
    h.started.length = 0;
    await clock.advance(3000);
    const names = new Set(h.started.map((s) => s.name));
    assert.deepEqual([...names].sort(), ['keep', 'new']);
    assert.ok(h.started.filter((s) => s.name === 'keep').every((s) => s.slot % 1000 === spreadOffset('keep', 1000)));
  });

  it('stop lets runs finish within the grace period, then aborts them', async () => {
    const clock = new FakeClock();
    const h = harness(clock);
    const cron: Schedule = { type: 'cron', cron: CronSchedule.compile('*/10 * * * * *', undefined) };
    h.scheduler.update([h.job('a', cron, 9000), h.job('b', cron, 9000)]);
    h.scheduler.start();
    await clock.advance(10_000);
    assert.equal(h.scheduler.inFlight, 2);
    let stopped = false;
    const stopping = h.scheduler.stop(2000).then(() => (stopped = true));
    h.started[0]?.finish();
    await clock.advance(1999);
    assert.equal(stopped, false, 'still waiting for b within the grace period');
    assert.equal(h.started[1]?.signal.aborted, false);
    await clock.advance(1);
    await stopping;
    assert.equal(h.started[1]?.signal.aborted, true, 'b aborted after the grace period');
    assert.equal((h.started[1]?.signal.reason as Error).name, 'AbortError');
    const count = h.started.length;
    await clock.advance(30_000);
    assert.equal(h.started.length, count, 'nothing starts after stop');
  });
});
