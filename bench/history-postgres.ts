// The history store on PostgreSQL (a cluster of its own from Debian's binaries, on loopback):
// the daemon's CPU to keep 1,000 runs a second and the server's own beside it, against the same
// runs made and dropped (no store) in the same run; then the page's views at 1,000 probes with
// 90 days of history, and what the database holds per probe.
//   node dist/bench/history-postgres.js [--rate 1000] [--seconds 20] [--probes 1000]
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { systemClock, type Clock, type Timer } from '../src/scheduler/clock.js';
import { DAY_MS, HOUR_MS, openStore } from '../src/store/store.js';
import { dayBars, probeHistory, uptimeOfBars } from '../src/store/views.js';
import { startPostgres } from '../test/postgres.js';
import { arg, feedRuns, historyRun, percentile, table } from './lib.js';

const rate = arg('rate', 1000);
const seconds = arg('seconds', 20);
const probes = arg('probes', 1000);
const KEEP = { runsMs: 7 * DAY_MS, hourlyMs: 90 * DAY_MS, dailyMs: 400 * DAY_MS, incidentsMs: 400 * DAY_MS };
const CLOCK_TICKS = 100;


/** CPU seconds of the server: the postmaster and every backend it started. */
function serverCpu(postmaster: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(entry) === postmaster || Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / CLOCK_TICKS;
}


const server = await startPostgres();
if (!server) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql');
const pid = server.pid();
try {
  console.log(`history store on PostgreSQL (a cluster of its own, loopback, fsync off): ${rate} runs/s for ${seconds}s; ${probes} probes with 90 days for the views; Node ${process.version}`);
  const baseline = await feedRuns(undefined, { rate, seconds, probes });
  const liveUrl = await server.database('live');
  const live = await openStore({ target: { engine: 'postgres', url: liveUrl }, location: 'bench', shard: '0/1', keep: KEEP, clock: systemClock, owns: () => true, onWrite: (err) => err && console.error(err) });
  live.store.start();
  const serverBefore = serverCpu(pid);
  const withStore = await feedRuns((r) => live.store.add(r), { rate, seconds, probes });
  const serverUsed = serverCpu(pid) - serverBefore;
  await live.store.close();
  const share = (cpu: number) => `${((cpu / seconds) * 100).toFixed(1)} %`;
  console.log(
    table([
      { path: 'runs made, no store (baseline)', 'CPU s': baseline, 'of one core': share(baseline) },
      { path: 'runs kept in PostgreSQL: the daemon', 'CPU s': withStore, 'of one core': share(withStore) },
      { path: 'the store alone, in the daemon', 'CPU s': withStore - baseline, 'of one core': share(withStore - baseline) },
      { path: 'PostgreSQL itself (postmaster + backends)', 'CPU s': serverUsed, 'of one core': share(serverUsed) },
    ]),
  );

  // Views: `probes` probes with 90 days of a run an hour, written a simulated day a batch.
  let now = Date.UTC(2026, 8, 1);
  const clock: Clock = { now: () => now, setTimer: (): Timer => ({ cancel() {} }) };
  const fleetUrl = await server.database('fleet');
  const { store } = await openStore({ target: { engine: 'postgres', url: fleetUrl }, location: 'bench', shard: '0/1', keep: KEEP, clock, owns: () => true, onWrite: (err) => err && console.error(err) });
  const filled = performance.now();
  const start = now;
  let n = 0;
  for (let t = start; t < start + 90 * DAY_MS; t += HOUR_MS) {
    for (let p = 0; p < probes; p++) store.add({ ...historyRun(n++, t + p, probes), probe: `checkout-api-${p}` });
    if ((t - start) % DAY_MS === DAY_MS - HOUR_MS) await store.flush();
  }
  await store.flush();
  now += 90 * DAY_MS - HOUR_MS;
  while (Object.values(await store.prune()).some((deleted) => deleted > 0));
  // What autovacuum does over 90 days, done at once: the pruned rows' space, the planner's figures.
  const maintenance = new pg.Client({ connectionString: fleetUrl });
  await maintenance.connect();
  await maintenance.query('VACUUM ANALYZE');
  await maintenance.end();
  console.log(`\nfilled ${n.toLocaleString()} runs (${probes} probes, a run an hour for 90 days) in ${((performance.now() - filled) / 1000).toFixed(0)} s; runs pruned to 7 days; VACUUM ANALYZE`);
  const views = { full: [] as number[], minute: [] as number[], cached: [] as number[], probe: [] as number[] };
  for (let round = 0; round < 20; round++) {
    for (const kind of ['minute', 'cached'] as const) {
      if (kind === 'minute') now += 61_000; // past the minute the written days are kept for
      if (round === 10 && kind === 'minute') now += DAY_MS; // a new UTC day
      const started = performance.now();
      await store.refreshDays(now);
      for (let p = 0; p < probes; p++) uptimeOfBars(dayBars(store, `checkout-api-${p}`, now).slice(-30));
      views[round === 0 && kind === 'minute' ? 'full' : kind].push(performance.now() - started);
    }
    const started = performance.now();
    await probeHistory(store, `checkout-api-${round}`, now);
    views.probe.push(performance.now() - started);
  }
  await store.close();
  const client = new pg.Client({ connectionString: fleetUrl });
  await client.connect();
  const size = Number((await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]?.n);
  await client.end();
  const labels = { full: 'the first read: every day', minute: "each minute: yesterday's and today's rows read (a new UTC day among them)", cached: 'within the minute: days cached', probe: 'one probe page (bars, uptime, 24 h + 7 d of hours, incidents)' } as const;
  console.log(
    `\n${table(
      Object.entries(views).map(([what, ms]) => {
        const sorted = [...ms].sort((a, b) => a - b);
        return { view: what === 'probe' ? labels.probe : `overview, ${probes} probes: ${labels[what as keyof typeof labels]}`, n: sorted.length, 'p50 ms': percentile(sorted, 50), 'p95 ms': percentile(sorted, 95), 'max ms': sorted.at(-1) as number };
      }),
    )}`,
  );
  console.log(`database: ${(size / 1e6).toFixed(0)} MB for ${probes} probes (90 days of hours and days, 7 of runs at one an hour) = ${(size / probes / 1e6).toFixed(3)} MB per probe (after VACUUM ANALYZE, which keeps the files at their high-water mark)`);
  console.log('goal: p95 < 50 ms at 1,000 probes; write cost < 5 % of one core at 1,000 runs/s');
} finally {
  await server.close();
}
