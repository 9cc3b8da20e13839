import { Pattern } from '../config/fields.js';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { it } from 'node:test';
import { FakeClock } from '../../test/fake-clock.js';
import { waitFor } from '../../test/wait.js';
import type { ResourceTransition } from '../detect/budget.js';
import { findPid, ResourceMonitor } from './monitor.js';

it('sees a real process cross its memory and CPU budget, and sees it exit', async () => {
  // A child that takes ~150 MB and burns a core until killed.
  const child = spawn(process.execPath, ['-e', 'globalThis.keep = Buffer.alloc(150e6, 1); process.stdout.write("ready\\n"); for (;;) {}', 'flowprobe-monitor-test-child'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await once(child.stdout, 'data');
  const clock = new FakeClock();
  const seen: ResourceTransition[] = [];
  const monitor = new ResourceMonitor(
    clock,
    { interval: 10_000, self: { for: 60_000 }, processes: [{ name: 'hog', match: Pattern.compile('flowprobe-monitor-test-child') as Pattern, budget: { rss: 100 * 1024 * 1024, cpu: 50, for: 0 } }] },
    (transitions) => seen.push(...transitions),
    (_process, error) => assert.fail(String(error)),
  );
  try {
    assert.equal(findPid({ match: Pattern.compile('flowprobe-monitor-test-child') as Pattern }), child.pid);
    await waitFor('the child over its budget', async () => {
      await monitor.sample();
      return seen.find((t) => t.process === 'hog' && t.to === 'over-budget');
    });
    const over = seen.find((t) => t.to === 'over-budget');
    assert.match(String(over?.evidence.limits), /rss \d+ MB > 105 MB/);
    const reading = monitor.readingsNow().find((r) => r.process === 'hog');
    assert.equal(reading?.pid, child.pid);
    assert.ok((reading?.sample?.rssBytes ?? 0) > 140e6);
    child.kill('SIGKILL');
    await once(child, 'exit');
    await monitor.sample();
    assert.deepEqual(seen.at(-1) && [seen.at(-1)?.process, seen.at(-1)?.to], ['hog', 'gone']);
  } finally {
    child.kill('SIGKILL');
    monitor.stop();
  }
});

it('remembers when the daemon was starved', () => {
  const monitor = new ResourceMonitor(new FakeClock(), { interval: 10_000, self: { for: 60_000 }, processes: [] }, () => undefined, () => undefined);
  monitor.markStarved(1_000, 1_400);
  assert.equal(monitor.starvedDuring(1_300, 2_000), true);
  assert.equal(monitor.starvedDuring(0, 999), false);
  assert.equal(monitor.starvedDuring(1_401, 3_000), false);
});

it('stopping while a sample is in flight arms no further sample (a stopped daemon must be able to exit)', async () => {
  // A clock whose timers the test fires by hand: the sample starts, and the monitor stops
  // before it has finished.
  const armed: Array<{ fn: () => void; cancelled: boolean }> = [];
  const clock = { now: () => Date.now(), setTimer: (_ms: number, fn: () => void) => { const t = { fn, cancelled: false }; armed.push(t); return { cancel: () => void (t.cancelled = true) }; } };
  const monitor = new ResourceMonitor(clock, { interval: 10_000, self: { for: 60_000 }, processes: [] }, () => undefined, () => undefined);
  monitor.start();
  assert.equal(armed.length, 1);
  armed[0]?.fn(); // the sample begins (pidusage reads /proc asynchronously)…
  monitor.stop(); // …and the daemon stops meanwhile
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(armed.length, 1, 'no timer armed after stop');
});
