// The alert lifecycle end to end on a fake clock: probe results → health (the detector with its
// own deadline timer) → alert events → group/dedup → a receiver. One page and one all-clear per
// incident, true durations, detection and all-clear within the documented bounds — proved with
// sequences of faults, not one fault at a time.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { alertingConfig } from '../../test/alerting.js';
import { FakeClock } from '../../test/fake-clock.js';
import { httpSpec } from '../../test/probe-spec.js';
import { daemonConfigSchema, type ProbeSpec } from '../config/schema.js';
import { Health } from '../detect/health.js';
import type { ProbeResult } from '../probers/types.js';
import { eventsFromTransition, type Notification } from './alert.js';
import { AlertEngine } from './engine.js';
import type { Receiver } from './receivers/receiver.js';

// The bundled config's rules: demo-health every 5 s, timeout 2 s, failAfter 3, recoverAfter 2,
// the ratio rule (more than 5 of the last 10), group wait 2 s and interval 5 s; the flap window is
// its default, two runs (10 s).
const EVERY = 5_000;
const TIMEOUT = 2_000;
const FLAP_WINDOW = 2 * EVERY;

interface Options {
  every?: number;
  detect?: Record<string, unknown>;
  probes?: string[];
  routes?: unknown[];
}

function pipeline(options: Options = {}) {
  const every = options.every ?? EVERY;
  const clock = new FakeClock();
  const got: Array<Notification & { at: number }> = [];
  const receiver = (name: string): Receiver => ({ name, kind: 'webhook', send: async (n) => (got.push({ ...n, at: clock.now() }), { ok: true }) });
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-lifecycle-'));
  const engine = new AlertEngine({
    clock,
    stateDir,
    location: 'lab',
    config: alertingConfig({
      receivers: [{ name: 'pager', webhook: { url: 'http://127.0.0.1:9/' } }, { name: 'boss', webhook: { url: 'http://127.0.0.1:9/' } }],
      routes: options.routes ?? [{ match: {}, receivers: ['pager'] }],
      group: { by: ['alertname', 'probe'], wait: '2s', interval: '5s', repeat: '4h' },
    }),
    events: { attempt: () => undefined, decision: () => undefined, saveError: (e) => assert.fail(String(e)) },
    receivers: new Map([['pager', receiver('pager')], ['boss', receiver('boss')]]),
  });
  const names = options.probes ?? ['api'];
  const specs = new Map(names.map((name) => [name, { ...httpSpec({ url: 'http://127.0.0.1:9/' }), name, schedule: { type: 'every', everyMs: every } } as ProbeSpec<'http'>]));
  const lastError = new Map<string, string | undefined>();
  const health = new Health({
    clock,
    stateDir,
    onTransitions: (transitions) => engine.handle(transitions.flatMap((t) => eventsFromTransition(t, { kind: 'http', labels: {}, checks: [], lastError: lastError.get(t.probe) }, 'lab', {}))),
    onSave: (error) => assert.equal(error, undefined),
    saveEveryMs: () => 60_000,
  });
  health.configure(daemonConfigSchema.parse({ detect: options.detect ?? {} }).detect, [...specs.values()]);
  engine.start();
  health.start();
  const result = (probe: string, ok: boolean, tookMs: number): ProbeResult => {
    const base = { probe, kind: 'http' as const, runId: String(clock.now()), slot: clock.now() - tookMs, startedAt: clock.now() - tookMs, durationMs: tookMs, phases: {}, checks: [], detail: { kind: 'http' as const, status: ok ? 200 : 503, bytes: 0, redirects: 0 } };
    return ok ? { ...base, ok: true, verdict: 'ok' } : { ...base, ok: false, verdict: 'failed', failure: { code: 'http_status', message: 'status: expected 2xx, observed 503' } };
  };
  /** One slot for every probe: each `pattern` letter is its run (S ok, F failed), ending
   * `tookMs` into the slot; then time moves on to the next slot. */
  const slot = async (runs: Record<string, boolean>, tookMs = 10) => {
    await clock.advance(tookMs);
    for (const [probe, ok] of Object.entries(runs)) {
      lastError.set(probe, ok ? undefined : 'http_status: status: expected 2xx, observed 503');
      health.observe(result(probe, ok, tookMs));
    }
    await clock.advance(every - tookMs);
  };
  const run = (ok: boolean, tookMs = ok ? 10 : TIMEOUT) => slot({ api: ok }, tookMs);
  const runs = async (pattern: string, tookMs?: number) => {
    for (const c of pattern) await run(c === 'S', tookMs ?? (c === 'S' ? 10 : 10));
  };
  const stop = () => (health.stop(), engine.stop());
  return { clock, got, run, runs, slot, engine, stop };
}

type Got = Array<Notification & { at: number }>;
const firingOf = (got: Got, name = 'ProbeFailing') => got.filter((n) => n.alerts.some((a) => a.status === 'firing' && a.labels.alertname === name));
const resolvedOf = (got: Got) => got.filter((n) => n.status === 'resolved');
const show = (got: Got) => JSON.stringify(got.map((n) => [n.receiver, n.status, n.at, n.alerts.map((a) => [a.labels.alertname, a.status, a.summary, a.durationMs])]));

describe('alert lifecycle (fake clock)', () => {
  it('fail 15 s, recover, one more failure, recover: one page and one all-clear that says 15 s', async () => {
    const p = pipeline();
    await p.runs('SSSSSS');
    const faultAt = p.clock.now();
    await p.runs('FFF'); // 3 hard failures: 0, 5, 10 s
    await p.runs('SS');
    await p.runs('F'); // one blip after the recovery: the old failures no longer count
    await p.runs('SSSSSS');
    await p.clock.advance(30_000);
    p.stop();
    assert.equal(firingOf(p.got).length, 1, show(p.got));
    const resolved = resolvedOf(p.got);
    assert.equal(resolved.length, 1, show(p.got));
    const alert = resolved[0]?.alerts[0];
    // First failure at +10 ms (0 s), first good run at +15 s: 15 s, within one interval.
    assert.ok(alert && Math.abs((alert.durationMs ?? 0) - 15_000) <= EVERY, `lasted ${alert?.durationMs}`);
    assert.match(alert?.summary ?? '', /recovered after 15s$/);
    assert.ok((alert?.startsAt ?? 0) - faultAt <= EVERY);
  });

  it('two faults 2 minutes apart are two incidents: two pages, two all-clears, each with its own duration', async () => {
    // Fault A 30 s → mend 2 min → fault B 40 s → mend (a probe every 5 s).
    const p = pipeline({ detect: { recoverWithin: '5m' } });
    await p.runs('SSSS');
    await p.runs('F'.repeat(6));
    await p.runs('S'.repeat(24));
    await p.runs('F'.repeat(8));
    await p.runs('S'.repeat(12));
    p.stop();
    assert.equal(firingOf(p.got).length, 2, show(p.got));
    const durations = resolvedOf(p.got).map((n) => n.alerts[0]?.durationMs);
    assert.deepEqual(durations, [30_000, 40_000], show(p.got));
    assert.deepEqual(resolvedOf(p.got).map((n) => n.alerts[0]?.summary.replace(/^api \(http\) /, '')), ['recovered after 30s', 'recovered after 40s']);
    assert.equal(firingOf(p.got, 'ProbeNotRecovered').length, 0);
  });

  it('the same fault 20 s after the mend is a new incident once the recovery held; within the flap window it is the same one, flapping', async () => {
    // Held and settled (10 s flap window), then 20 s later the fault again: two incidents.
    const held = pipeline();
    await held.runs('SS' + 'FFFFFF' + 'SS' + 'SSSS' + 'FFFF' + 'SSSSSSS');
    held.stop();
    assert.equal(firingOf(held.got).length, 2, show(held.got));
    assert.equal(resolvedOf(held.got).length, 2, show(held.got));
    // Up for two runs (held), failing again at once: one incident, flapping, one all-clear.
    const flap = pipeline();
    await flap.runs('SS' + 'FFFFFF' + 'SS' + 'FFFF' + 'SSSSSSS');
    flap.stop();
    const pages = firingOf(flap.got);
    assert.equal(pages.length, 2, `a page and a flapping update: ${show(flap.got)}`);
    assert.match(pages[1]?.alerts[0]?.summary ?? '', /^api \(http\) is flapping: failing again 10s after it recovered \(failing period 2; failing 40s of 50s so far\): http_status/);
    const resolved = resolvedOf(flap.got);
    assert.equal(resolved.length, 1, show(flap.got));
    // Failing 30 s + 20 s, over 60 s from the first failure to the last first good run.
    assert.equal(resolved[0]?.alerts[0]?.durationMs, 50_000);
    assert.match(resolved[0]?.alerts[0]?.summary ?? '', /recovered after flapping: failing 50s in 2 periods over 1m$/);
  });

  it('two 12 s outages 45 s apart with recoverWithin 30s: 12 s each, no "not recovered" page', async () => {
    const p = pipeline({ every: 1_000, detect: { recoverWithin: '30s' } });
    for (const c of 'SSSSS' + 'F'.repeat(12) + 'S'.repeat(45) + 'F'.repeat(12) + 'S'.repeat(20)) await p.run(c === 'S', 10);
    p.stop();
    assert.deepEqual(resolvedOf(p.got).map((n) => n.alerts.map((a) => [a.labels.alertname, a.durationMs])), [[['ProbeFailing', 12_000]], [['ProbeFailing', 12_000]]], show(p.got));
    assert.equal(firingOf(p.got, 'ProbeNotRecovered').length, 0, show(p.got));
  });

  it('one all-clear per incident per receiver: a "not recovered" page ends with the incident\'s all-clear, not a second one', async () => {
    const p = pipeline({ every: 1_000, detect: { recoverWithin: '10s' }, routes: [{ match: { alertname: 'ProbeNotRecovered' }, receivers: ['pager', 'boss'] }, { match: {}, receivers: ['pager'] }] });
    for (const c of 'SS' + 'F'.repeat(20) + 'S'.repeat(10)) await p.run(c === 'S', 10);
    p.stop();
    assert.equal(firingOf(p.got, 'ProbeNotRecovered').length, 2, 'pager and boss both paged as overdue');
    const pager = resolvedOf(p.got).filter((n) => n.receiver === 'pager');
    const boss = resolvedOf(p.got).filter((n) => n.receiver === 'boss');
    assert.equal(pager.length, 1, `pager gets one all-clear: ${show(p.got)}`);
    assert.equal(boss.length, 1, `boss, who never got ProbeFailing, gets the not-recovered one's: ${show(p.got)}`);
    assert.equal(pager[0]?.alerts[0]?.labels.alertname, 'ProbeFailing');
    assert.equal(boss[0]?.alerts[0]?.labels.alertname, 'ProbeNotRecovered');
    const texts = resolvedOf(p.got).map((n) => `${n.receiver}:${n.alerts.map((a) => a.summary).join('|')}`);
    assert.equal(new Set(texts).size, texts.length, 'never two with the same text to one receiver');
  });

  it('three overlapping faults on three probes: three pages, three all-clears, each its own duration', async () => {
    const p = pipeline({ probes: ['a', 'b', 'c'] });
    const patterns = { a: 'SS' + 'F'.repeat(6) + 'S'.repeat(12), b: 'SSSS' + 'F'.repeat(8) + 'S'.repeat(8), c: 'S'.repeat(6) + 'F'.repeat(3) + 'S'.repeat(11) };
    for (let i = 0; i < 20; i++) await p.slot(Object.fromEntries(Object.entries(patterns).map(([probe, pattern]) => [probe, pattern[i] === 'S'])));
    p.stop();
    const resolved = Object.fromEntries(resolvedOf(p.got).map((n) => [n.alerts[0]?.labels.probe, n.alerts[0]?.durationMs]));
    assert.deepEqual(resolved, { a: 30_000, b: 40_000, c: 15_000 }, show(p.got));
    assert.equal(firingOf(p.got).length, 3);
  });

  it('pages within failAfter × every + timeout + group.wait of a hard fault, and all-clears within recoverAfter × every + timeout + flapWindow of the mend, after a long outage', async () => {
    const p = pipeline();
    await p.runs('SSSS');
    // The worst case: the fault starts just after a good run, and every failing run takes its
    // whole timeout; it lasts long enough to fill the failure-ratio window with failures.
    const faultAt = p.clock.now();
    for (let i = 0; i < 40; i++) await p.run(false);
    const page = firingOf(p.got)[0];
    assert.ok(page, 'paged');
    const toPage = page.at - faultAt;
    assert.ok(toPage <= 3 * EVERY + TIMEOUT + 2_000, `paged ${toPage / 1000}s after the fault`);
    assert.ok(toPage <= 20_000, 'within 20 s with the bundled defaults');
    const mendAt = p.clock.now();
    for (let i = 0; i < 8; i++) await p.run(true);
    p.stop();
    const allClear = resolvedOf(p.got)[0];
    assert.ok(allClear, 'all clear sent');
    const toClear = allClear.at - mendAt;
    assert.ok(toClear <= 2 * EVERY + TIMEOUT + FLAP_WINDOW, `all clear ${toClear / 1000}s after the mend`);
    assert.ok(toClear <= 22_000, 'within 22 s with the bundled defaults');
    const lasted = allClear.alerts[0]?.durationMs ?? 0;
    assert.ok(Math.abs(lasted - 200_000) <= EVERY, `failing from the first failed run to the first good one: ${lasted}`);
  });
});
