// The history store on a real SQLite file and a fake clock: sequences of runs and incidents,
// restarts in the middle of an hour, retention, a corrupt file moved aside, a newer schema refused.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DatabaseSync } from 'node:sqlite';
import { FakeClock } from '../../test/fake-clock.js';
import type { Transition } from '../detect/probe-state.js';
import { Sketch } from './sketch.js';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from './sqlite.js';
import { DAY_MS, HOUR_MS, NewerSchemaError, openStore, type RetentionSettings, type RunSummary, type Verdict } from './store.js';
import { dayBars, dayState, formatUptime, uptimeOf } from './views.js';

const KEEP: RetentionSettings = { runsMs: 7 * DAY_MS, hourlyMs: 90 * DAY_MS, dailyMs: 400 * DAY_MS, incidentsMs: 400 * DAY_MS };
const START = Date.UTC(2026, 5, 1); // a midnight

async function storeIn(dir: string, clock: FakeClock, writes: unknown[] = []) {
  return openStore({ target: { engine: 'sqlite', file: path.join(dir, 'history.db') }, location: 'eu-west', shard: '0/1', keep: KEEP, clock, owns: () => true, onWrite: (err) => writes.push(err) });
}

function run(probe: string, at: number, verdict: Verdict, figure?: number, headline?: string): RunSummary {
  return { probe, kind: 'http', at, verdict, figure, headline, phases: figure === undefined ? {} : { connect: figure / 4 } } as RunSummary;
}

function transition(probe: string, at: number, to: Transition['to'], reason: Transition['reason'], outage?: Partial<NonNullable<Transition['outage']>>): Transition {
  return { probe, from: to === 'failing' ? 'healthy' : 'failing', to, reason, at, evidence: {}, ...(outage ? { outage: { startedAt: START, durationMs: 0, spanMs: 0, periods: 1, ...outage } as NonNullable<Transition['outage']> } : {}) };
}

describe('history sketch', () => {
  it('reads percentiles back within 2 % of a figure that was seen, and merges hours into a day', () => {
    const a = Sketch.empty();
    const b = Sketch.empty();
    for (let i = 1; i <= 1000; i++) (i % 2 ? a : b).add(i);
    for (const [p, exact] of [[50, 500], [95, 950], [99, 990]] as const) {
      const merged = Sketch.from(a.toJSON());
      merged.merge(b);
      const got = merged.percentile(p) as number;
      assert.ok(Math.abs(got - exact) / exact <= 0.02, `p${p} ${got} vs ${exact}`);
    }
    assert.equal(Sketch.empty().percentile(50), undefined);
    assert.equal(Sketch.from({ x: 1, '3': -2, '4': 1.5 }).size, 0, 'a malformed row reads as empty');
  });
});

describe('history store', () => {
  it('keeps runs and hourly and daily aggregates, readable before and after they are written', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const clock = new FakeClock(START);
    const { store, problem } = await storeIn(dir, clock);
    assert.equal(problem, undefined);
    store.start();
    // Two hours of a run a minute: the second hour has 6 failures, a minute apart.
    for (let m = 0; m < 120; m++) {
      const failed = m >= 90 && m < 96;
      store.add(run('api', START + m * 60_000, failed ? 'failed' : 'ok', failed ? undefined : 10 + (m % 10), failed ? 'HTTP 503' : undefined));
    }
    const unwritten = await store.aggregates('api', 'hour', START, START + 2 * HOUR_MS);
    assert.deepEqual(unwritten.map((a) => [a.runs, a.failed]), [[60, 0], [60, 6]], 'read from memory before the first batch');
    await clock.advance(1_000);
    const hours = await store.aggregates('api', 'hour', START, START + 2 * HOUR_MS);
    assert.deepEqual(hours.map((a) => [a.runs, a.ok, a.failed, a.downMs]), [[60, 60, 0, 0], [60, 54, 6, 6 * 60_000]]);
    assert.ok(Math.abs((hours[0]?.p50 as number) - 14) <= 14 * 0.02, `p50 ${hours[0]?.p50} (the 30th of 60 figures is 14)`);
    const [day] = await store.aggregates('api', 'day', START, START + DAY_MS);
    assert.deepEqual([day?.runs, day?.failed, day?.downMs], [120, 6, 360_000]);
    assert.equal((await store.runs('api', START, START + DAY_MS)).length, 120);
    assert.equal((await store.runs('api', START + 90 * 60_000, START + 91 * 60_000))[0]?.headline, 'HTTP 503');
    await store.close();
  });

  it('goes on with the hour and the day it was in after a restart, and with an incident left open', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const clock = new FakeClock(START + 10 * HOUR_MS);
    const first = (await storeIn(dir, clock)).store;
    first.start();
    for (let m = 0; m < 30; m++) first.add(run('api', clock.now() + m * 60_000, m < 25 ? 'ok' : 'failed', m < 25 ? 20 : undefined, 'connection refused'));
    first.transition(transition('api', clock.now() + 29 * 60_000, 'failing', 'consecutive-failures', { startedAt: clock.now() + 25 * 60_000 }));
    first.notified('api', clock.now() + 29 * 60_000, 'notified oncall');
    await first.close();
    // The daemon restarts 30 minutes into the hour.
    const second = (await storeIn(dir, clock)).store;
    second.start();
    for (let m = 30; m < 60; m++) second.add(run('api', clock.now() + m * 60_000, m < 40 ? 'failed' : 'ok', m < 40 ? undefined : 20, 'connection refused'));
    second.transition(transition('api', clock.now() + 50 * 60_000, 'healthy', 'incident-closed', { startedAt: clock.now() + 25 * 60_000, durationMs: 15 * 60_000, periods: 1 }));
    await clock.advance(1_000);
    const [hour] = await second.aggregates('api', 'hour', START + 10 * HOUR_MS, START + 11 * HOUR_MS);
    assert.deepEqual([hour?.runs, hour?.failed], [60, 15], 'one hour, counted across the restart');
    const [incident, ...more] = await second.incidentList({ limit: 10 });
    assert.equal(more.length, 0, 'one incident, not one per daemon run');
    assert.equal(incident?.cause, 'connection refused');
    assert.equal(incident?.startedAt, START + 10 * HOUR_MS + 25 * 60_000);
    assert.equal(incident?.durationMs, 15 * 60_000);
    assert.deepEqual(incident?.timeline.map((e) => e.text), ['healthy → failing (consecutive failures)', 'notified oncall', 'closed: failing 15m']);
    assert.equal((await second.incidentList({ state: 'open', limit: 10 })).length, 0);
    await second.close();
  });

  it('makes two faults two incidents, and a flap inside one the same incident', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const clock = new FakeClock(START);
    const { store } = await storeIn(dir, clock);
    store.start();
    const at = (min: number) => START + min * 60_000;
    store.add(run('api', at(1), 'failed', undefined, 'HTTP 500'));
    store.transition(transition('api', at(2), 'failing', 'consecutive-failures', { startedAt: at(1) }));
    store.transition(transition('api', at(4), 'healthy', 'recovered', { startedAt: at(1) }));
    store.transition(transition('api', at(5), 'failing', 'consecutive-failures', { startedAt: at(1), periods: 2 })); // a flap
    await clock.advance(1_000); // written open…
    store.transition(transition('api', at(9), 'healthy', 'incident-closed', { startedAt: at(1), durationMs: 5 * 60_000, periods: 2 }));
    assert.deepEqual(await store.incidentList({ state: 'open', limit: 10 }), [], '…and closed in memory: the written row no longer says open');
    await clock.advance(1_000);
    store.add(run('api', at(60), 'failed', undefined, 'timeout'));
    store.transition(transition('api', at(61), 'failing', 'consecutive-failures', { startedAt: at(60) }));
    const list = await store.incidentList({ probe: 'api', limit: 10 });
    assert.deepEqual(list.map((i) => [i.cause, i.endedAt === undefined ? 'open' : 'closed', i.durationMs]), [['timeout', 'open', undefined], ['HTTP 500', 'closed', 5 * 60_000]]);
    assert.match(list[1]?.timeline.at(-1)?.text ?? '', /in 2 periods/);
    await store.close();
  });

  it('shows 90 daily bars and uptime from the same rows', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const clock = new FakeClock(START + 95 * DAY_MS + 12 * HOUR_MS);
    const { store } = await storeIn(dir, clock);
    // Days 93 and 94 before today: 1 of 100 runs failed, then none; today 50 of 100.
    for (const [day, failed] of [[93, 1], [94, 0], [95, 50]] as const) {
      for (let i = 0; i < 100; i++) store.add(run('api', START + day * DAY_MS + i * 60_000, i < failed ? 'failed' : 'ok', 5));
    }
    await store.refreshDays(clock.now());
    const bars = dayBars(store, 'api', clock.now());
    assert.equal(bars.length, 90);
    assert.deepEqual(bars.slice(-3).map((b) => [b.state, b.runs, b.failed]), [['failed', 100, 1], ['ok', 100, 0], ['failed', 100, 50]]);
    assert.equal(bars[0]?.state, 'none');
    const uptime = await uptimeOf(store, 'api', clock.now(), bars);
    assert.equal(uptime['7d'], 249 / 300);
    assert.equal(uptime['90d'], uptime['7d'], 'the same runs, the same figure');
    assert.equal(uptime['24h'], 50 / 100, 'the last 24 hours hold today only');
    assert.equal(dayState({ runs: 1000, failed: 1, degraded: 0 }), 'degraded', 'under 1 % failed');
    assert.equal(formatUptime(0.99999), '99.99 %', 'never rounded up to 100 %');
    assert.equal(formatUptime(1), '100 %');
    await store.close();
  });

  it('reads every day once, then only yesterday and today each minute, and moves on at midnight', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const clock = new FakeClock(START + 100 * DAY_MS + 12 * HOUR_MS);
    const { store } = await storeIn(dir, clock);
    // 90 days written by a daemon before this one (another shard, say): one run a day.
    for (let d = 0; d < 90; d++) store.add(run('api', START + (11 + d) * DAY_MS, d === 0 ? 'failed' : 'ok', 5));
    await store.flush();
    await store.refreshDays(clock.now());
    const first = dayBars(store, 'api', clock.now());
    assert.deepEqual([first[0]?.state, first[0]?.runs, first.filter((b) => b.runs === 1).length], ['failed', 1, 90]);
    // A row of today written behind this store's back (another daemon of the fleet): seen after
    // the minute, without reading the other 89 days again.
    const other = new DatabaseSync(path.join(dir, 'history.db'));
    const today = Math.floor(clock.now() / DAY_MS) * DAY_MS;
    other.prepare("UPDATE aggregates SET runs = 7, ok = 7 WHERE probe = 'api' AND span = 'day' AND start = ?").run(today);
    other.prepare("DELETE FROM aggregates WHERE probe = 'api' AND span = 'day' AND start = ?").run(today - 50 * DAY_MS);
    other.close();
    await clock.advance(61_000);
    await store.refreshDays(clock.now());
    const minute = dayBars(store, 'api', clock.now());
    assert.equal(minute.at(-1)?.runs, 7, "today's row read again");
    assert.equal(minute.at(-51)?.runs, 1, 'an older day not read again (days before yesterday do not change)');
    // Midnight: the first day drops off the strip, the new one is empty.
    await clock.advance(DAY_MS);
    await store.refreshDays(clock.now());
    const next = dayBars(store, 'api', clock.now());
    assert.deepEqual([next.length, next[0]?.state, next.at(-1)?.state, next.at(-2)?.runs], [90, 'ok', 'none', 7]);
    await store.close();
  });

  it('deletes what is past its retention, by itself', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const clock = new FakeClock(START);
    const writes: unknown[] = [];
    const { store } = await storeIn(dir, clock, writes);
    store.setRetention({ ...KEEP, runsMs: DAY_MS, hourlyMs: 2 * DAY_MS });
    store.start();
    store.add(run('api', START, 'ok', 5));
    await clock.advance(1_000);
    await clock.advance(DAY_MS + HOUR_MS); // the hourly prune runs
    assert.deepEqual(writes, [], 'no write or prune failed');
    assert.equal((await store.runs('api', 0, clock.now())).length, 0, 'the run is past a day');
    assert.equal((await store.aggregates('api', 'hour', 0, clock.now())).length, 1, 'its hour is kept two days');
    await clock.advance(DAY_MS);
    assert.equal((await store.aggregates('api', 'hour', 0, clock.now())).length, 0);
    assert.equal((await store.aggregates('api', 'day', 0, clock.now())).length, 1, 'its day is kept 400 days');
    await store.close();
  });

  it('moves a corrupt database aside and starts a new one, saying what was lost', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    writeFileSync(path.join(dir, 'history.db'), 'this is not a database '.repeat(200));
    const clock = new FakeClock(START);
    const { store, problem } = await storeIn(dir, clock);
    assert.match(problem?.problem ?? '', /could not be read .*moved to .*history\.db\.unreadable-/);
    assert.ok(readdirSync(dir).some((f) => f.startsWith('history.db.unreadable-')), 'the old file is kept');
    store.add(run('api', START, 'ok', 5));
    await store.flush();
    assert.equal((await store.runs('api', 0, START + 1)).length, 1, 'and the new one works');
    await store.close();
  });

  it('refuses a database of a newer schema rather than guess at it, and migrates an empty one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const db = new DatabaseSync(path.join(dir, 'history.db'));
    db.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    await assert.rejects(storeIn(dir, new FakeClock(START)), (err) => err instanceof NewerSchemaError && /schema version 3; this flowprobe knows up to 2/.test(err.message));
    assert.ok(existsSync(path.join(dir, 'history.db')), 'left where it was');
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const { store } = await storeIn(fresh, new FakeClock(START));
    await store.close();
    const check = new DatabaseSync(path.join(fresh, 'history.db'));
    assert.equal((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, SQLITE_SCHEMA_VERSION);
    check.close();
  });

  it('migrates a version-1 database (the first release\'s) and keeps everything in it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const file = path.join(dir, 'history.db');
    // Laid out as the first release wrote it: its schema, its rows, user_version 1.
    const v1 = new DatabaseSync(file);
    v1.exec(SQLITE_MIGRATIONS[0] as string);
    const insertRun = v1.prepare("INSERT INTO runs (probe, location, shard, at, verdict, figure, headline, phases) VALUES (?, 'eu-west', '0/1', ?, ?, ?, ?, '{}')");
    insertRun.run('api', START + 1_000, 'ok', 12, null);
    insertRun.run('api', START + 61_000, 'failed', null, 'HTTP 503');
    insertRun.run('web', START + 5_000, 'ok', 40, null);
    v1.prepare("INSERT INTO aggregates (probe, location, span, start, shard, runs, ok, degraded, failed, down_ms, p50, p95, p99, sketch) VALUES ('api', 'eu-west', 'hour', ?, '0/1', 2, 1, 0, 1, 60000, 12, 12, 12, '{}')").run(START);
    v1.prepare("INSERT INTO incidents (probe, location, shard, started_at, ended_at, duration_ms, cause, timeline) VALUES ('api', 'eu-west', '0/1', ?, NULL, NULL, 'HTTP 503', '[]')").run(START + 61_000);
    v1.exec('PRAGMA user_version = 1');
    v1.close();

    const clock = new FakeClock(START + 2 * 60_000);
    const { store, problem } = await storeIn(dir, clock);
    assert.equal(problem, undefined, 'migrated, not moved aside');
    const fleet = await store.fleet();
    assert.deepEqual(
      fleet.map((p) => [p.probe, p.location, p.verdict, p.headline, p.lastAt]),
      [
        ['api', 'eu-west', 'failed', 'HTTP 503', START + 61_000],
        ['web', 'eu-west', 'ok', undefined, START + 5_000],
      ],
      "the new directory of probes, filled from the old runs (each probe's newest)",
    );
    assert.equal((await store.runs('api', 0, START + DAY_MS)).length, 2);
    assert.deepEqual((await store.aggregates('api', 'hour', START, START + HOUR_MS)).map((a) => [a.runs, a.failed]), [[2, 1]]);
    // The incident the old release left open goes on, and closes.
    store.transition(transition('api', START + 3 * 60_000, 'healthy', 'incident-closed', { startedAt: START + 61_000, durationMs: 120_000 }));
    await store.flush();
    assert.deepEqual((await store.incidentList({ limit: 10 })).map((i) => [i.cause, i.durationMs]), [['HTTP 503', 120_000]]);
    await store.close();
    const check = new DatabaseSync(file);
    assert.equal((check.prepare('PRAGMA user_version').get() as { user_version: number }).user_version, SQLITE_SCHEMA_VERSION);
    check.close();
  });

  it('keeps runs in memory while it cannot write, alerts once, and writes them when it can', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-store-'));
    const clock = new FakeClock(START);
    const writes: unknown[] = [];
    const { store } = await storeIn(dir, clock, writes);
    store.start();
    // Another connection holds the write lock: every batch meets SQLITE_BUSY.
    const other = new DatabaseSync(path.join(dir, 'history.db'));
    other.exec('BEGIN IMMEDIATE');
    store.add(run('api', START, 'failed', undefined, 'HTTP 502'));
    await clock.advance(1_000);
    await clock.advance(1_000);
    assert.ok(writes.length >= 1 && writes.every((w) => w instanceof Error), 'each failed batch reported');
    assert.equal((await store.runs('api', 0, START + 1)).length, 1, 'the run is still readable, from memory');
    other.exec('ROLLBACK');
    other.close();
    await clock.advance(1_000);
    assert.equal(writes.at(-1), undefined, 'written again: reported once');
    const check = new DatabaseSync(path.join(dir, 'history.db'));
    assert.equal((check.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 1);
    check.close();
    await store.close();
  });
});
