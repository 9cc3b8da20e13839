// The history store's bounds: CPU to keep 1,000 runs a second (beside the same runs made and
// dropped, no store), the database's size per probe for 90 days, and the time the page's views
// take at 1,000 probes with 90 days of history. A real SQLite file in a temporary directory.
//   node dist/bench/history.js [--rate 1000] [--seconds 20] [--probes 1000]
import { mkdtempSync, statSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import os from 'node:os';
import path from 'node:path';
import { systemClock, type Clock, type Timer } from '../src/scheduler/clock.js';
import { DAY_MS, HOUR_MS, openStore } from '../src/store/store.js';
import { dayBars, probeHistory, uptimeOfBars } from '../src/store/views.js';
import { arg, feedRuns, historyRun, percentile, table } from './lib.js';

const rate = arg('rate', 1000);
const seconds = arg('seconds', 20);
const probes = arg('probes', 1000);
const KEEP = { runsMs: 7 * DAY_MS, hourlyMs: 90 * DAY_MS, dailyMs: 400 * DAY_MS, incidentsMs: 400 * DAY_MS };



console.log(`history store: ${rate} runs/s for ${seconds}s; ${probes} probes with 90 days for the views; Node ${process.version}`);
const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-history-'));
const baseline = await feedRuns(undefined, { rate, seconds, probes });
const live = await openStore({ target: { engine: 'sqlite', file: path.join(dir, 'live.db') }, location: 'bench', shard: '0/1', keep: KEEP, clock: systemClock, owns: () => true, onWrite: (err) => err && console.error(err) });
live.store.start();
const withStore = await feedRuns((r) => live.store.add(r), { rate, seconds, probes });
await live.store.close();
const share = (cpu: number) => `${((cpu / seconds) * 100).toFixed(1)} %`;
console.log(
  table([
    { path: 'runs made, no store (baseline)', 'CPU s': baseline, 'of one core': share(baseline) },
    { path: 'runs kept in the store', 'CPU s': withStore, 'of one core': share(withStore) },
    { path: 'the store alone', 'CPU s': withStore - baseline, 'of one core': share(withStore - baseline) },
  ]),
);

// Size: 10 probes run every 30 s (the default) for 90 days, through the store on a clock of our
// own whose timers never fire (batches flushed by hand), pruned as the daemon would: runs kept 7
// days, hours 90. Views: `probes` probes with 90 days of hours and days (a run an hour each).
let now = Date.UTC(2026, 8, 1);
const clock: Clock = { now: () => now, setTimer: (): Timer => ({ cancel() {} }) };
async function filledStore(file: string, count: number, everyMs: number, recentEveryMs: number) {
  const { store } = await openStore({ target: { engine: 'sqlite', file: path.join(dir, file) }, location: 'bench', shard: '0/1', keep: KEEP, clock, owns: () => true, onWrite: (err) => err && console.error(err) });
  const start = now;
  let n = 0;
  for (let t = start; t < start + 90 * DAY_MS; ) {
    for (let p = 0; p < count; p++) store.add({ ...historyRun(n++, t + p, probes), probe: `checkout-api-${p}` });
    // A batch a simulated day: each hour's row is still written once, when its hour is over.
    if ((t - start) % DAY_MS < Math.max(everyMs, recentEveryMs)) await store.flush();
    t += t >= start + 83 * DAY_MS ? recentEveryMs : everyMs;
  }
  await store.flush();
  return { store, runs: n };
}
const sizeStarted = performance.now();
const sized = await filledStore('size.db', 10, 30_000, 30_000);
now += 90 * DAY_MS;
let passes = 0;
while (Object.values(await sized.store.prune()).some((n) => n > 0)) passes++;
await sized.store.close();
const fileBytes = () => ['size.db', 'size.db-wal'].reduce((n, f) => n + (statSync(path.join(dir, f), { throwIfNoEntry: false })?.size ?? 0), 0);
const highWater = fileBytes();
// What is kept, without the free pages the 83 older days of runs left (SQLite reuses them).
const compact = new DatabaseSync(path.join(dir, 'size.db'));
compact.exec('VACUUM; PRAGMA wal_checkpoint(TRUNCATE);');
const rows = compact.prepare("SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM aggregates WHERE span = 'hour') AS hours, (SELECT count(*) FROM aggregates WHERE span = 'day') AS days").get() as { runs: number; hours: number; days: number };
compact.close();
const kept = fileBytes();
console.log(`\nsize: 10 probes every 30 s for 90 days (${sized.runs.toLocaleString()} runs in ${((performance.now() - sizeStarted) / 1000).toFixed(0)} s), pruned in ${passes} passes: runs kept 7 d, hours 90 d, days 400 d`);
console.log(`kept: ${rows.runs.toLocaleString()} runs, ${rows.hours.toLocaleString()} hours, ${rows.days} days = ${(kept / 1e6).toFixed(1)} MB, ${(kept / 10 / 1e6).toFixed(2)} MB per probe (the file before VACUUM: ${(highWater / 1e6).toFixed(0)} MB, free pages of the pruned runs that SQLite reuses)`);

now = Date.UTC(2026, 8, 1);
const fleet = await filledStore('fleet.db', probes, HOUR_MS, HOUR_MS);
now += 90 * DAY_MS - HOUR_MS;
const views = { full: [] as number[], minute: [] as number[], cached: [] as number[], probe: [] as number[] };
for (let round = 0; round < 20; round++) {
  for (const kind of ['minute', 'cached'] as const) {
    if (kind === 'minute') now += 61_000; // past the minute the written days are kept for
    if (kind === 'minute' && round === 10) now += DAY_MS; // a new UTC day
    const started = performance.now();
    await fleet.store.refreshDays(now);
    for (let p = 0; p < probes; p++) uptimeOfBars(dayBars(fleet.store, `checkout-api-${p}`, now).slice(-30));
    views[round === 0 && kind === 'minute' ? 'full' : kind].push(performance.now() - started);
  }
  const started = performance.now();
  await probeHistory(fleet.store, `checkout-api-${round}`, now);
  views.probe.push(performance.now() - started);
}
await fleet.store.close();
console.log(
  `\n${table(
    Object.entries(views).map(([what, ms]) => {
      const sorted = [...ms].sort((a, b) => a - b);
      const how = { full: 'the first read: every day from the file', minute: "each minute: yesterday's and today's rows read (a new UTC day among them)", cached: 'within the minute: days cached' }[what as 'full'];
      const label = what === 'probe' ? 'one probe page (bars, uptime, 24 h + 7 d of hours, incidents)' : `overview: ${probes} probes' 90 bars + 30 d uptime (${how})`;
      return { view: label, n: sorted.length, 'p50 ms': percentile(sorted, 50), 'p95 ms': percentile(sorted, 95), 'max ms': sorted.at(-1) as number };
    }),
  )}`,
);
console.log('goal: p95 < 50 ms at 1,000 probes; write cost < 5 % of one core at 1,000 runs/s');
