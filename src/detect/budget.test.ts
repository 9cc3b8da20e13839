import assert from 'node:assert/strict';
import { it } from 'node:test';
import { BudgetState, type ResourceSample } from './budget.js';

const sample = (rssMb: number, cpuPercent: number): ResourceSample => ({ rssBytes: rssMb * 1e6, cpuPercent });

it('budget: over only when sustained, back within at the first good sample, gone and back', () => {
  const state = new BudgetState('api', { rss: 500e6, cpu: 90, for: 60_000 });
  const feed: Array<[ResourceSample | 'gone', number]> = [
    [sample(100, 10), 0],
    [sample(600, 10), 10_000], // over from here
    [sample(100, 10), 20_000], // a blip: the clock restarts
    [sample(100, 95), 30_000],
    [sample(100, 95), 60_000],
    [sample(100, 95), 90_000], // 60 s over: over-budget
    [sample(100, 95), 100_000],
    [sample(100, 20), 110_000], // within again
    ['gone', 120_000],
    ['gone', 130_000],
    [sample(100, 20), 140_000],
  ];
  const transitions = feed.flatMap(([s, at]) => state.observe(s, at)).map((t) => `${t.from}→${t.to}:${t.reason}@${t.at / 1000}s`);
  assert.deepEqual(transitions, ['ok→over-budget:over-budget@90s', 'over-budget→ok:within-budget@110s', 'ok→gone:gone@120s', 'gone→ok:back@140s']);
});

it('budget: names every broken limit', () => {
  const state = new BudgetState('flowprobe', { rss: 100e6, cpu: 50, eventLoopDelay: 200, for: 0 });
  const [t] = state.observe({ rssBytes: 150e6, cpuPercent: 75, eventLoopDelayMs: 300 }, 0);
  assert.equal(t?.evidence.limits, 'rss 150 MB > 100 MB, cpu 75% > 50%, event-loop delay 300ms > 200ms');
});
