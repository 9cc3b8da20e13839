// The history store on a real PostgreSQL (Debian's binaries, a cluster of the test's own): two
// daemons of one location migrate at once and write to one store, each sees the other's probes;
// a restart in the middle of an hour goes on with it; a newer schema is refused; the server
// stops and comes back and nothing is lost.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { FakeClock } from '../../test/fake-clock.js';
import { startPostgres, type Postgres } from '../../test/postgres.js';
import type { Transition } from '../detect/probe-state.js';
import { POSTGRES_SCHEMA_VERSION } from './postgres.js';
import { DAY_MS, HOUR_MS, NewerSchemaError, openStore, type RunSummary, type Verdict } from './store.js';

const KEEP = { runsMs: 7 * DAY_MS, hourlyMs: 90 * DAY_MS, dailyMs: 400 * DAY_MS, incidentsMs: 400 * DAY_MS };
const START = Date.UTC(2026, 5, 1, 10);

function run(probe: string, at: number, verdict: Verdict, figure?: number, headline?: string): RunSummary {
  return { probe, kind: 'http', at, verdict, figure, headline, phases: {} };
}

async function storeAt(url: string, clock: FakeClock, shard: string, owns: (probe: string) => boolean, writes: unknown[] = []) {
  return (await openStore({ target: { engine: 'postgres', url }, location: 'eu-west', shard, keep: KEEP, clock, owns, onWrite: (err) => writes.push(err) })).store;
}

async function count(url: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]?.n);
  } finally {
    await client.end();
  }
}

describe('history store on PostgreSQL', () => {
  let server: Postgres | undefined;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.close();
  });

  it('lets two daemons migrate at once and write to one store; each reads the fleet', async (t) => {
    if (!server) return t.skip('PostgreSQL is not installed');
    const url = await server.database('two_daemons');
    const clock = new FakeClock(START);
    // Both start at the same moment on an empty database: one migrates, the other waits for it.
    const [a, b] = await Promise.all([storeAt(url, clock, '0/2', (p) => p === 'api'), storeAt(url, clock, '1/2', (p) => p === 'web')]);
    assert.equal(await count(url, 'SELECT version AS n FROM flowprobe_schema'), POSTGRES_SCHEMA_VERSION);
    for (let m = 0; m < 30; m++) {
      a.add(run('api', START + m * 60_000, m < 28 ? 'ok' : 'failed', m < 28 ? 10 + m : undefined, 'HTTP 503'));
      b.add(run('web', START + m * 60_000, 'ok', 40));
    }
    a.transition({ probe: 'api', from: 'healthy', to: 'failing', reason: 'consecutive-failures', at: START + 29 * 60_000, evidence: {}, outage: { startedAt: START + 28 * 60_000, durationMs: 0, spanMs: 0, periods: 1 } } as Transition);
    await Promise.all([a.flush(), b.flush()]);
    const fleet = await b.fleet();
    assert.deepEqual(
      fleet.map((p) => [p.probe, p.shard, p.verdict, p.headline]),
      [
        ['api', '0/2', 'failed', 'HTTP 503'],
        ['web', '1/2', 'ok', undefined],
      ],
      "b knows a's probe, with a's shard",
    );
    const [hour] = await b.aggregates('api', 'hour', START, START + HOUR_MS);
    assert.deepEqual([hour?.runs, hour?.failed, hour?.location], [30, 2, 'eu-west']);
    assert.ok(Math.abs((hour?.p50 as number) - 23.5) < 1, `p50 ${hour?.p50}`);
    const [incident] = await b.incidentList({ state: 'open', limit: 10 });
    assert.deepEqual([incident?.probe, incident?.cause, incident?.startedAt], ['api', 'HTTP 503', START + 28 * 60_000]);
    await b.refreshDays(START);
    assert.equal(b.daysOf('api', START).days[0]?.runs, 30, "the overview's days of a's probe, read by b");

    // a restarts half an hour into the hour: it takes up only its own open incident, and its
    // hour goes on from what it wrote (read back in one query for every probe's bucket).
    await a.close();
    const a2 = await storeAt(url, clock, '0/2', (p) => p === 'api');
    for (let m = 30; m < 60; m++) a2.add(run('api', START + m * 60_000, 'ok', 10));
    a2.transition({ probe: 'api', from: 'failing', to: 'healthy', reason: 'incident-closed', at: START + 40 * 60_000, evidence: {}, outage: { startedAt: START + 28 * 60_000, endedAt: START + 30 * 60_000, durationMs: 120_000, spanMs: 120_000, periods: 1 } } as Transition);
    await a2.flush();
    const [after] = await b.aggregates('api', 'hour', START, START + HOUR_MS);
    assert.deepEqual([after?.runs, after?.failed], [60, 2], 'one hour across the restart');
    assert.deepEqual((await b.incidentList({ limit: 10 })).map((i) => [i.probe, i.durationMs]), [['api', 120_000]], 'one incident, closed by the restarted daemon');
    assert.equal(await count(url, 'SELECT count(*) AS n FROM runs'), 90);
    await Promise.all([a2.close(), b.close()]);
  });

  it('refuses a database a newer release migrated', async (t) => {
    if (!server) return t.skip('PostgreSQL is not installed');
    const url = await server.database('newer');
    await (await storeAt(url, new FakeClock(START), '0/1', () => true)).close();
    await count(url, `UPDATE flowprobe_schema SET version = ${POSTGRES_SCHEMA_VERSION + 1} RETURNING version AS n`);
    await assert.rejects(storeAt(url, new FakeClock(START), '0/1', () => true), (err) => err instanceof NewerSchemaError && new RegExp(`schema version ${POSTGRES_SCHEMA_VERSION + 1}; this flowprobe knows up to ${POSTGRES_SCHEMA_VERSION}`).test(err.message));
  });

  it('lives through its connection ended in the middle of a batch: the batch fails in words, then goes in whole', async (t) => {
    if (!server) return t.skip('PostgreSQL is not installed');
    const url = await server.database('cut_mid_batch');
    const clock = new FakeClock(START);
    const store = await storeAt(url, clock, '0/1', () => true);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // The batch is held at its first insert by a lock, so that it is surely in flight when
      // another connection ends it.
      const runs = 1_000;
      for (let i = 0; i < runs; i++) store.add(run(`p${i % 100}`, START + Math.floor(i / 100) * 1_000, 'ok', 10));
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE runs IN ACCESS EXCLUSIVE MODE');
      const flushing = store.flush();
      let ended = 0;
      const deadline = Date.now() + 10_000;
      while (ended === 0 && Date.now() < deadline) {
        const { rows } = await admin.query<{ ended: boolean }>("SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = 'flowprobe' AND wait_event_type = 'Lock'");
        ended += rows.filter((r) => r.ended).length;
      }
      await admin.query('ROLLBACK');
      await flushing;
      assert.ok(ended > 0, 'the batch\'s connection was ended while it wrote');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(uncaught, [], 'no error escaped the store');
      const health = store.health();
      assert.match(health.problem ?? '', /^(the connection was (reset|closed)|the server is shutting down)\b/, 'the failed batch said why, in words');
      assert.equal(health.queued, runs, 'every run held');
      await store.flush();
      assert.equal(store.health().problem, undefined);
      assert.equal(await count(url, 'SELECT count(*) AS n FROM runs'), runs, 'then every run written');
    } finally {
      process.off('uncaughtException', onUncaught);
      await admin.end();
      await store.close();
    }
  });

  it('holds runs while the server is down, says why, and writes every one when it is back', async (t) => {
    if (!server) return t.skip('PostgreSQL is not installed');
    const url = await server.database('down_and_up');
    const clock = new FakeClock(START);
    const writes: unknown[] = [];
    const store = await storeAt(url, clock, '0/1', () => true, writes);
    store.add(run('api', START, 'ok', 10));
    await store.flush();
    await server.stop();
    for (let s = 1; s <= 120; s++) store.add(run('api', START + s * 1_000, s % 10 === 0 ? 'failed' : 'ok', 10, 'HTTP 502'));
    await store.flush();
    const down = store.health();
    assert.match(down.problem ?? '', /^connection refused: 127\.0\.0\.1:\d+\/down_and_up/, 'the cause in words, where, and never a password');
    assert.equal(down.queued, 120, 'every run held');
    assert.ok(writes.at(-1) instanceof Error, 'the failed batch reported');
    await assert.rejects(store.aggregates('api', 'hour', START, START + HOUR_MS), /connection refused/);
    await server.start();
    await store.flush();
    assert.equal(store.health().problem, undefined);
    assert.equal(store.health().queued, 0);
    assert.equal(writes.at(-1), undefined, 'written again, and said so');
    assert.equal(await count(url, 'SELECT count(*) AS n FROM runs'), 121, 'nothing lost');
    const [hour] = await store.aggregates('api', 'hour', START, START + HOUR_MS);
    assert.deepEqual([hour?.runs, hour?.failed], [121, 12]);
    await store.close();
  });
});
