// The heartbeat kind on a made-up timeline: what a run says at each moment of a job's life
// (every and cron cadences, a late ping, a failure it reported, a restart), and the book of
// pings: rate limit, saved and read back, a corrupt record dropped alone.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FakeClock } from '../../../test/fake-clock.js';
import { specOf } from '../../../test/probe-spec.js';
import type { ProberOutcome } from '../types.js';
import { HeartbeatBook, pingQuery, type PingRecord } from './book.js';
import { judge } from './prober.js';

const T0 = Date.UTC(2026, 10, 29, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const token = 'heartbeat-token-0123456789';
const spec = (pings: Record<string, unknown>, more: Record<string, unknown> = {}) => specOf('heartbeat', { name: 'nightly-export', token, pings, ...more }, 1_000);
const said = (o: ProberOutcome) => (o.failure ? `${o.failure.code}: ${o.failure.message}` : 'ok');
const ping = (at: number, status: 'ok' | 'fail' = 'ok', more: Partial<NonNullable<PingRecord['last']>> = {}): NonNullable<PingRecord['last']> => ({ at, status, durationMs: undefined, message: undefined, ...more });

describe('heartbeat verdicts on a timeline', () => {
  it('every: ok within the period and its grace, missed after, with the last ping named', () => {
    const daily = spec({ every: '24h', grace: '1h' });
    const record: PingRecord = { since: T0, last: ping(T0 + 1 * HOUR + 2 * MIN), pings: 1 };
    assert.equal(said(judge(daily, record, T0 + 25 * HOUR)), 'ok');
    assert.equal(said(judge(daily, record, T0 + 26 * HOUR)), 'ok', 'at the edge of the grace');
    assert.equal(said(judge(daily, record, T0 + 27 * HOUR)), 'missed: no ping from nightly-export for 1d 02h (expected every 1d ± 1h); last at 2026-11-29 01:02 UTC');
    // Never pinged: due from when the heartbeat was set up.
    assert.equal(said(judge(daily, { since: T0, last: undefined, pings: 0 }, T0 + 24 * HOUR)), 'ok');
    assert.equal(said(judge(daily, { since: T0, last: undefined, pings: 0 }, T0 + 25 * HOUR + MIN)), 'missed: no ping from nightly-export in the 1d 01h since it was set up at 2026-11-29 00:00 UTC (expected every 1d ± 1h)');
  });

  it('cron: a ping for each run once its grace is over; an early ping counts; nothing owed before the first run', () => {
    const nightly = spec({ cron: '0 2 * * *', timezone: 'UTC', grace: '1h' });
    const fresh: PingRecord = { since: T0, last: undefined, pings: 0 };
    assert.equal(said(judge(nightly, fresh, T0 + 2 * HOUR + 59 * MIN)), 'ok', 'the 02:00 run is still within its grace');
    assert.equal(said(judge(nightly, fresh, T0 + 3 * HOUR + MIN)), 'missed: no ping from nightly-export for the run due at 2026-11-29 02:00 UTC (cron 0 2 * * * (UTC), grace 1h); none yet');
    const early: PingRecord = { since: T0, last: ping(T0 + 1 * HOUR + 30 * MIN), pings: 1 };
    assert.equal(said(judge(nightly, early, T0 + 4 * HOUR)), 'ok', 'a job that started half an hour early');
    // The next night: yesterday's ping does not cover today's run.
    const yesterday: PingRecord = { since: T0, last: ping(T0 + 2 * HOUR + 40 * MIN), pings: 1 };
    assert.equal(said(judge(nightly, yesterday, T0 + 26 * HOUR + 30 * MIN)), 'ok');
    assert.equal(said(judge(nightly, yesterday, T0 + 27 * HOUR + MIN)), 'missed: no ping from nightly-export for the run due at 2026-11-30 02:00 UTC (cron 0 2 * * * (UTC), grace 1h); last at 2026-11-29 02:40 UTC');
    // Set up after the last run: nothing owed until the next one.
    assert.equal(said(judge(nightly, { since: T0 + 5 * HOUR, last: undefined, pings: 0 }, T0 + 20 * HOUR)), 'ok');
    assert.equal(judge(nightly, fresh, T0 + 3 * HOUR + MIN).detail.kind, 'heartbeat');
  });

  it('a ping that says the job failed fails the run with its message; a long run passes its limit only when it says so', () => {
    const daily = spec({ every: '24h', grace: '1h' }, { expect: { maxDuration: '30m' } });
    const failed: PingRecord = { since: T0, last: ping(T0 + HOUR, 'fail', { message: 'export: disk full', durationMs: 12 * MIN }), pings: 2 };
    assert.equal(said(judge(daily, failed, T0 + 2 * HOUR)), 'assertion: nightly-export reported a failure at 2026-11-29 01:00 UTC: export: disk full (ran 12m)');
    const slow: PingRecord = { since: T0, last: ping(T0 + HOUR, 'ok', { durationMs: 45 * MIN }), pings: 1 };
    assert.equal(said(judge(daily, slow, T0 + 2 * HOUR)), 'assertion: nightly-export ran 45m at 2026-11-29 01:00 UTC, over 30m');
    // Missed outranks what the last ping said: the job is not checking in at all.
    assert.match(said(judge(daily, failed, T0 + 30 * HOUR)), /^missed: no ping from nightly-export for 1d 05h/);
  });

  it('check refuses a cadence that is neither or both, and a short token', () => {
    assert.throws(() => spec({ grace: '1h' }), /expected either every .* or cron/);
    assert.throws(() => spec({ every: '1h', cron: '0 2 * * *' }), /expected either every .* or cron/);
    assert.throws(() => specOf('heartbeat', { name: 'x', token: 'short', pings: { every: '1h' } }, 1_000), /expected a token of at least 16 characters/);
    // The default grace: a tenth of the period, at least 1s, at most 1h.
    assert.equal(spec({ every: '24h' }).pings.text, 'every 1d ± 1h');
    assert.equal(spec({ every: '10m' }).pings.text, 'every 10m ± 1m');
  });
});

describe('the book of pings', () => {
  const dir = () => mkdtempSync(path.join(os.tmpdir(), 'flowprobe-heartbeats-'));

  it('takes a burst of 10, then one a second, and says how long to wait', async () => {
    const clock = new FakeClock(T0);
    const book = new HeartbeatBook(path.join(dir(), 'heartbeats.json'), clock, (err) => assert.fail(String(err)));
    book.configure(['job']);
    const query = pingQuery.parse({});
    const answers = Array.from({ length: 12 }, () => book.ping('job', query).accepted);
    assert.deepEqual(answers, [...Array(10).fill(true), false, false]);
    const refused = book.ping('job', query);
    assert.equal(refused.accepted ? 0 : refused.retryAfterMs, 1_000);
    await clock.advance(1_000);
    assert.equal(book.ping('job', query).accepted, true);
    assert.equal(book.get('job')?.pings, 11);
  });

  it('saves what it was sent and reads it back after a restart; a bad record is dropped alone and named', async () => {
    const file = path.join(dir(), 'heartbeats.json');
    const clock = new FakeClock(T0);
    const book = new HeartbeatBook(file, clock, (err) => assert.fail(String(err)));
    book.configure(['a', 'b']);
    book.ping('a', pingQuery.parse({ status: 'fail', duration: '90s', msg: 'line one\nline two' }));
    await clock.advance(1_000); // the debounced save
    const again = new HeartbeatBook(file, clock, () => undefined);
    assert.equal(again.problem, undefined);
    assert.deepEqual(again.get('a'), { since: T0, pings: 1, last: { at: T0, status: 'fail', durationMs: 90_000, message: 'line one line two' } });
    assert.deepEqual(again.get('b'), { since: T0, pings: 0, last: undefined });

    const saved = JSON.parse(readFileSync(file, 'utf8')) as { heartbeats: Record<string, { last?: { at: number } }> };
    (saved.heartbeats.a as { last: { at: number } }).last.at = 9e15;
    writeFileSync(file, JSON.stringify(saved));
    const salvaged = new HeartbeatBook(file, clock, () => undefined);
    assert.equal(salvaged.get('a'), undefined);
    assert.deepEqual(salvaged.get('b'), { since: T0, pings: 0, last: undefined });
    assert.match(salvaged.problem?.lost.join() ?? '', /^heartbeat "a": last\.at: expected a time between 2000 and/);
  });
});
