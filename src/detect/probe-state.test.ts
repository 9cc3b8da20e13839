import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProbeState, type DetectSettings, type Observation, type Transition } from './probe-state.js';

const BASE: DetectSettings = { failAfter: 3, recoverAfter: 2, failureRatio: { window: 9, above: 0.3 }, recoverWithinMs: undefined, degraded: undefined, degradedRunsSustainMs: 30_000, flapWindowMs: 600_000 };
const DEGRADE: DetectSettings = {
  ...BASE,
  degraded: { figure: { name: 'duration' }, thresholdMs: undefined, factor: 2, sustainMs: 30_000, minSamples: 10, baselineSamples: 100, percentile: 50 },
};

const ok = (figureMs = 100): Observation => ({ ok: true, inconclusive: false, figureMs, failure: undefined });
const fail: Observation = { ok: false, inconclusive: false, figureMs: undefined, failure: { code: 'http_status', message: 'status: expected 2xx, observed 503' } };
const degradedRun: Observation = { ok: true, inconclusive: false, figureMs: undefined, failure: undefined, degradedRun: 'out of order 3, over its degrade limit: expected <= 0 (else degraded)' };
const inconclusive: Observation = { ok: false, inconclusive: true, figureMs: undefined, failure: { code: 'inconclusive', message: 'starved' } };

/** Feeds observations every `everyMs` from t=0; returns every transition as "from→to:reason@t". */
function feed(state: ProbeState, observations: Observation[], everyMs = 10_000, start = 0): string[] {
  return observations.flatMap((o, i) => state.observe(o, start + i * everyMs)).map(show);
}

const show = (t: Transition) => `${t.from}→${t.to}:${t.reason}@${t.at / 1000}s`;
const times = <T>(n: number, x: T): T[] => Array.from({ length: n }, () => x);

describe('probe state machine (fake time)', () => {
  const table: Array<{ name: string; settings: DetectSettings; observations: Observation[]; everyMs?: number; expected: string[] }> = [
    { name: 'one failure is a blip', settings: BASE, observations: [ok(), fail, ok(), ok()], expected: [] },
    { name: 'degraded runs sustained make the probe degraded (no baseline rule needed), recoverAfter good runs heal it', settings: BASE, observations: [ok(), ...times(4, degradedRun), ok(), ok()], expected: ['healthy→degraded:slow@40s', 'degraded→healthy:fast-again@60s'] },
    { name: 'a degraded run or two shorter than sustain is not a degradation', settings: BASE, observations: [ok(), degradedRun, degradedRun, ok(), degradedRun, ok()], expected: [] },
    { name: 'degraded runs count beside a baseline rule', settings: DEGRADE, observations: [...times(12, ok(100)), ...times(4, { ...degradedRun, figureMs: 100 }), ok(100), ok(100)], expected: ['healthy→degraded:slow@150s', 'degraded→healthy:fast-again@170s'] },
    { name: 'failAfter consecutive failures, then recoverAfter successes', settings: BASE, observations: [ok(), fail, fail, fail, fail, ok(), ok()], expected: ['healthy→failing:consecutive-failures@30s', 'failing→healthy:recovered@60s'] },
    {
      name: 'flapping 200/503: exactly one failing and one healthy',
      settings: BASE,
      observations: [...times(10, [ok(), fail]).flat(), ...times(5, ok())],
      expected: ['healthy→failing:failure-ratio@90s', 'failing→healthy:recovered@240s'],
    },
    { name: 'one in three failing (a bad backend behind a balancer): failing, and stays so', settings: BASE, observations: times(10, [ok(), ok(), fail]).flat(), expected: ['healthy→failing:failure-ratio@80s'] },
    { name: 'inconclusive runs neither fail nor heal', settings: BASE, observations: [fail, fail, inconclusive, inconclusive, fail, inconclusive, ok(), inconclusive, ok()], expected: ['healthy→failing:consecutive-failures@40s', 'failing→healthy:recovered@80s'] },
    {
      name: 'one 8 s spike never degrades',
      settings: DEGRADE,
      everyMs: 2_000,
      observations: [...times(20, ok(100)), ...times(4, ok(900)), ...times(20, ok(100))],
      expected: [],
    },
    {
      name: 'a sustained 2x slowdown degrades after the window and heals after it ends',
      settings: DEGRADE,
      everyMs: 2_000,
      observations: [...times(20, ok(100)), ...times(30, ok(250)), ...times(5, ok(100))],
      expected: ['healthy→degraded:slow@70s', 'degraded→healthy:fast-again@102s'],
    },
    {
      name: 'no baseline before minSamples: an early slowdown is not judged',
      settings: DEGRADE,
      everyMs: 10_000,
      observations: [...times(3, ok(100)), ...times(6, ok(1000))],
      expected: [],
    },
    {
      name: 'a fixed threshold needs no baseline',
      settings: { ...BASE, degraded: { ...(DEGRADE.degraded as NonNullable<DetectSettings['degraded']>), factor: undefined, thresholdMs: 500, sustainMs: 10_000 } },
      everyMs: 5_000,
      observations: [...times(5, ok(900))],
      expected: ['healthy→degraded:slow@10s'],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      assert.deepEqual(feed(new ProbeState('p', row.settings), row.observations, row.everyMs), row.expected);
    });
  }

  it('records the outage from its first failure to its first success', () => {
    const state = new ProbeState('p', BASE);
    const transitions = [ok(), fail, fail, fail, ok(), ok()].flatMap((o, i) => state.observe(o, i * 10_000));
    const recovered = transitions.find((t) => t.to === 'healthy');
    assert.deepEqual(recovered?.outage, { startedAt: 10_000, endedAt: 40_000, durationMs: 30_000 });
  });

  it('raises not-recovered-within at the deadline, once, and still reports recovery', () => {
    const state = new ProbeState('p', { ...BASE, recoverWithinMs: 10_000 });
    assert.deepEqual(feed(state, [fail, fail, fail], 2_000, 100_000), ['healthy→failing:consecutive-failures@104s']);
    assert.equal(state.nextDeadline(), 110_000);
    assert.deepEqual(state.tick(109_999), []);
    const overdue = state.tick(110_000);
    assert.deepEqual(overdue.map(show), ['failing→failing:not-recovered-within@110s']);
    assert.deepEqual(overdue[0]?.outage, { startedAt: 100_000, endedAt: undefined, durationMs: 10_000 });
    assert.deepEqual(state.tick(200_000), [], 'only once per outage');
    assert.equal(state.nextDeadline(), undefined);
    assert.deepEqual(feed(state, [ok(), ok()], 1_000, 300_000), ['failing→healthy:recovered@301s']);
  });

  it('keeps the outage start across a restart', () => {
    const before = new ProbeState('p', BASE);
    feed(before, [fail, fail, fail], 10_000, 0);
    const restored = new ProbeState('p', BASE, JSON.parse(JSON.stringify(before.snapshot())));
    assert.equal(restored.health, 'failing');
    const transitions = [ok(), ok()].flatMap((o, i) => restored.observe(o, 500_000 + i * 10_000));
    assert.deepEqual(transitions[0]?.outage, { startedAt: 0, endedAt: 500_000, durationMs: 500_000 });
  });

  it('does not learn a slowdown as the new normal', () => {
    const state = new ProbeState('p', DEGRADE);
    feed(state, [...times(20, ok(100)), ...times(100, ok(300))], 2_000);
    assert.equal(state.baselineMs, 100);
    assert.equal(state.health, 'degraded');
  });
});
