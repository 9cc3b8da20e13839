// The alert lifecycle end to end on a fake clock: probe results → health → alert events →
// group/dedup → a receiver. One page per incident, true outage times, detection within the
// documented bound.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { alertingConfig } from '../../test/alerting.js';
import { FakeClock } from '../../test/fake-clock.js';
import { ProbeState, type DetectSettings } from '../detect/probe-state.js';
import { eventsFromTransition, type Notification } from './alert.js';
import { AlertEngine } from './engine.js';
import type { Receiver } from './receivers/receiver.js';

// The bundled config's rules: every 5 s (demo-health), timeout 2 s, failAfter 3, recoverAfter 2,
// group wait 2 s and interval 5 s.
const EVERY = 5_000;
const TIMEOUT = 2_000;
const SETTINGS: DetectSettings = { failAfter: 3, recoverAfter: 2, failureRatio: { window: 10, above: 0.5 }, recoverWithinMs: undefined, degraded: undefined, degradedRunsSustainMs: 60_000, flapWindowMs: 600_000 };

function pipeline() {
  const clock = new FakeClock();
  const got: Array<Notification & { at: number }> = [];
  const pager: Receiver = { name: 'pager', kind: 'webhook', send: async (n) => (got.push({ ...n, at: clock.now() }), { ok: true }) };
  const engine = new AlertEngine({
    clock,
    stateDir: mkdtempSync(path.join(os.tmpdir(), 'flowprobe-lifecycle-')),
    location: 'lab',
    config: alertingConfig({ receivers: [{ name: 'pager', webhook: { url: 'http://127.0.0.1:9/' } }], group: { by: ['alertname', 'probe'], wait: '2s', interval: '5s', repeat: '4h' } }),
    events: { attempt: () => undefined, decision: () => undefined, saveError: (e) => assert.fail(String(e)) },
    receivers: new Map([['pager', pager]]),
  });
  engine.start();
  const state = new ProbeState('api', SETTINGS);
  const info = (ok: boolean) => ({ kind: 'http', labels: {}, checks: [], lastError: ok ? undefined : 'http_status: status: expected 2xx, observed 503' });
  /** One run that ends `tookMs` from now; then time moves on to the next slot. */
  const run = async (ok: boolean, tookMs = ok ? 10 : TIMEOUT) => {
    await clock.advance(tookMs);
    const transitions = state.observe({ ok, inconclusive: false, figureMs: undefined, failure: ok ? undefined : { code: 'http_status', message: '503' } }, clock.now());
    engine.handle(transitions.flatMap((t) => eventsFromTransition(t, info(ok), 'lab', {})));
    await clock.advance(EVERY - tookMs);
  };
  return { clock, got, run, engine };
}

const pages = <N extends Notification>(got: N[]): N[] => got.filter((n) => n.alerts.some((a) => a.status === 'firing' && a.labels.alertname === 'ProbeFailing'));

describe('alert lifecycle (fake clock)', () => {
  it('fail 15 s, recover, one more failure, recover: one page and one all-clear that says 15 s', async () => {
    const p = pipeline();
    for (let i = 0; i < 6; i++) await p.run(true);
    const faultAt = p.clock.now();
    for (let i = 0; i < 3; i++) await p.run(false, 10); // 3 hard failures: 0, 5, 10 s
    await p.run(true);
    await p.run(true);
    await p.run(false, 10); // one blip after the recovery: the old failures no longer count
    for (let i = 0; i < 6; i++) await p.run(true);
    await p.clock.advance(30_000);
    assert.equal(pages(p.got).length, 1, JSON.stringify(p.got.map((n) => [n.status, n.at, n.alerts.map((a) => [a.status, a.summary, a.durationMs])])));
    const resolved = p.got.filter((n) => n.status === 'resolved');
    assert.equal(resolved.length, 1);
    const alert = resolved[0]?.alerts[0];
    // First failure at +10 ms (0 s), first good run at +15 s: 15 s, within one interval.
    assert.ok(alert && Math.abs((alert.durationMs ?? 0) - 15_000) <= EVERY, `lasted ${alert?.durationMs}`);
    assert.match(alert?.summary ?? '', /recovered after 15s$/);
    assert.ok((alert?.startsAt ?? 0) - faultAt <= EVERY);
  });

  it('a probe failing again soon after recovering re-opens the same incident, and says so', async () => {
    const p = pipeline();
    await p.run(true);
    for (let i = 0; i < 3; i++) await p.run(false, 10);
    await p.run(true);
    await p.run(true);
    for (let i = 0; i < 3; i++) await p.run(false, 10);
    await p.clock.advance(10_000);
    const firing = pages(p.got);
    assert.equal(firing.length, 2);
    assert.match(firing[1]?.alerts[0]?.summary ?? '', /^api \(http\) is failing again 1[05]s after recovering \(2nd time in 10m; the same incident\): http_status/);
  });

  it('pages within failAfter × every + timeout + group.wait of a hard fault, and all-clears within recoverAfter × every + timeout + group.interval of the mend', async () => {
    const p = pipeline();
    for (let i = 0; i < 4; i++) await p.run(true);
    // The worst case: the fault starts just after a good run, and every failing run takes its
    // whole timeout.
    const faultAt = p.clock.now();
    for (let i = 0; i < 4; i++) await p.run(false);
    const page = pages(p.got)[0];
    assert.ok(page, 'paged');
    const toPage = page.at - faultAt;
    assert.ok(toPage <= 3 * EVERY + TIMEOUT + 2_000, `paged ${toPage / 1000}s after the fault`);
    assert.ok(toPage <= 20_000, 'within 20 s with the bundled defaults');
    const mendAt = p.clock.now();
    for (let i = 0; i < 4; i++) await p.run(true);
    const allClear = p.got.find((n) => n.status === 'resolved');
    assert.ok(allClear, 'all clear sent');
    const toClear = allClear.at - mendAt;
    assert.ok(toClear <= 2 * EVERY + TIMEOUT + 5_000, `all clear ${toClear / 1000}s after the mend`);
    assert.ok(toClear <= 20_000, 'within 20 s with the bundled defaults');
  });
});
