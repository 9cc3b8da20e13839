import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { initialSnapshot, ProbeState, probeStateSnapshotSchema, type DetectSettings, type Observation, type ProbeStateSnapshot, type Transition } from './probe-state.js';

const BASE: DetectSettings = { failAfter: 3, recoverAfter: 2, failureRatio: { window: 9, above: 0.3 }, recoverWithinMs: undefined, degraded: undefined, degradedRunsSustainMs: 30_000, flapWindowMs: 20_000 };
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

  it('records the incident from its first failure to its first success, closed after the flap window', () => {
    const state = new ProbeState('p', { ...BASE, flapWindowMs: 20_000 });
    const transitions = [ok(), fail, fail, fail, ok(), ok()].flatMap((o, i) => state.observe(o, i * 10_000));
    const recovered = transitions.find((t) => t.reason === 'recovered');
    assert.deepEqual(recovered?.outage, { startedAt: 10_000, endedAt: 40_000, durationMs: 30_000, spanMs: 30_000, periods: 1, overdue: false });
    assert.equal(state.nextDeadline(), 70_000, 'closes a flap window after the recovery held');
    assert.deepEqual(state.tick(69_999), []);
    const closed = state.tick(70_000);
    assert.deepEqual(closed.map(show), ['healthy→healthy:incident-closed@70s']);
    assert.deepEqual(closed[0]?.outage, { startedAt: 10_000, endedAt: 40_000, durationMs: 30_000, spanMs: 30_000, periods: 1, overdue: false });
    assert.equal(state.incident, undefined);
  });

  it('raises not-recovered-within at the deadline, once, and still reports recovery', () => {
    const state = new ProbeState('p', { ...BASE, recoverWithinMs: 10_000, flapWindowMs: 0 });
    assert.deepEqual(feed(state, [fail, fail, fail], 2_000, 100_000), ['healthy→failing:consecutive-failures@104s']);
    assert.equal(state.nextDeadline(), 110_000);
    assert.deepEqual(state.tick(109_999), []);
    const overdue = state.tick(110_000);
    assert.deepEqual(overdue.map(show), ['failing→failing:not-recovered-within@110s']);
    assert.deepEqual(overdue[0]?.outage, { startedAt: 100_000, endedAt: undefined, durationMs: 10_000, spanMs: 10_000, periods: 1, overdue: true });
    assert.deepEqual(state.tick(200_000), [], 'only once per incident');
    assert.equal(state.nextDeadline(), undefined);
    assert.deepEqual(feed(state, [ok(), ok()], 1_000, 300_000), ['failing→healthy:recovered@301s', 'healthy→healthy:incident-closed@301s']);
  });

  it('keeps the incident across a restart, failing or settling', () => {
    const T0 = Date.UTC(2026, 0, 1);
    const before = new ProbeState('p', BASE);
    feed(before, [fail, fail, fail], 10_000, T0);
    const restored = new ProbeState('p', BASE, parseSnapshot(before.snapshot()));
    assert.equal(restored.health, 'failing');
    const transitions = [ok(), ok()].flatMap((o, i) => restored.observe(o, T0 + 500_000 + i * 10_000));
    assert.deepEqual(transitions[0]?.outage, { startedAt: T0, endedAt: T0 + 500_000, durationMs: 500_000, spanMs: 500_000, periods: 1, overdue: false });
    // Restarted again while settling: the close is still due, at the same moment.
    const settling = new ProbeState('p', BASE, parseSnapshot(restored.snapshot()));
    const due = T0 + 510_000 + BASE.flapWindowMs;
    assert.equal(settling.nextDeadline(), due);
    assert.deepEqual(settling.tick(due).map((t) => t.reason), ['incident-closed']);
  });

  it('reads a snapshot written before incidents had periods', () => {
    const old = { health: 'failing', outage: { startedAt: Date.UTC(2026, 0, 1), lastFailure: { code: 'timeout', message: 'no answer' } }, consecutiveFailures: 3, consecutiveSuccesses: 0, window: [], baseline: [], fastStreak: 0, lastRecovery: { at: Date.UTC(2025, 11, 31), startedAt: Date.UTC(2025, 11, 30), times: 1 } };
    const state = new ProbeState('p', BASE, parseSnapshot(old));
    assert.equal(state.health, 'failing');
    assert.equal(state.incident?.startedAt, Date.UTC(2026, 0, 1));
    assert.equal(state.incident?.lastFailure?.code, 'timeout');
  });

  it('refuses times no clock could have written', () => {
    const base = initialSnapshot();
    for (const startedAt of [9e15, -1, Date.now() + 7 * 86_400_000]) {
      const bad = { ...base, health: 'healthy', streak: { startedAt } };
      assert.equal(probeStateSnapshotSchema.safeParse(bad).success, false, String(startedAt));
    }
  });

  it('is pending until its first conclusive run', () => {
    const state = new ProbeState('p', BASE);
    assert.equal(state.health, 'pending');
    assert.deepEqual(feed(state, [inconclusive]), []);
    assert.equal(state.health, 'pending');
    assert.deepEqual(feed(state, [fail], 1_000, 1_000), [], 'a first failure is not a transition');
    assert.equal(state.health, 'healthy');
  });
});

/** Runs a pattern ("S" ok, "F" failed, "-" no run) one run every `everyMs`, firing each deadline
 * at its moment as the daemon's timer does; every transition as "reason@s". */
function sequence(state: ProbeState, pattern: string, everyMs: number, start = 0): { shown: string[]; transitions: Transition[] } {
  const transitions: Transition[] = [];
  const until = (t: number) => {
    for (let due = state.nextDeadline(); due !== undefined && due <= t; due = state.nextDeadline()) transitions.push(...state.tick(due));
  };
  [...pattern].forEach((c, i) => {
    const at = start + i * everyMs;
    until(at);
    if (c !== '-') transitions.push(...state.observe(c === 'S' ? ok() : fail, at));
  });
  until(start + pattern.length * everyMs + 3_600_000);
  return { shown: transitions.map((t) => `${t.reason}@${t.at / 1000}s`), transitions };
}

const repeat = (c: string, n: number) => c.repeat(n);

describe('incidents in sequences of faults (fake time)', () => {
  // One run a second, failAfter 3, recoverAfter 2, the default flap window (two runs).
  const EVERY: DetectSettings = { ...BASE, failureRatio: { window: 10, above: 0.5 }, flapWindowMs: 2_000 };

  it('two 12 s outages 45 s apart are two incidents of 12 s, and neither is "not recovered within 30s"', () => {
    const { shown, transitions } = sequence(new ProbeState('p', { ...EVERY, recoverWithinMs: 30_000 }), repeat('S', 5) + repeat('F', 12) + repeat('S', 45) + repeat('F', 12) + repeat('S', 20), 1_000);
    assert.deepEqual(shown, ['consecutive-failures@7s', 'recovered@18s', 'incident-closed@20s', 'consecutive-failures@64s', 'recovered@75s', 'incident-closed@77s']);
    const closed = transitions.filter((t) => t.reason === 'incident-closed').map((t) => t.outage);
    assert.deepEqual(closed.map((o) => [o?.startedAt, o?.durationMs, o?.periods]), [[5_000, 12_000, 1], [62_000, 12_000, 1]]);
  });

  it('fault A 30 s, mend 2 min, fault B 40 s: two incidents with their own durations', () => {
    const { transitions } = sequence(new ProbeState('p', { ...EVERY, recoverWithinMs: 5 * 60_000 }), repeat('S', 10) + repeat('F', 30) + repeat('S', 120) + repeat('F', 40) + repeat('S', 10), 1_000);
    const closed = transitions.filter((t) => t.reason === 'incident-closed').map((t) => t.outage?.durationMs);
    assert.deepEqual(closed, [30_000, 40_000]);
  });

  it('failing again within the flap window is the same incident: flapping, failing time summed, span reported, one close', () => {
    const state = new ProbeState('p', { ...EVERY, flapWindowMs: 10_000 });
    // 20 s down, up 2 runs (held at 21 s), down again at 24 s for 10 s, then up for good.
    const { shown, transitions } = sequence(state, repeat('S', 2) + repeat('F', 20) + 'SS' + 'S' + repeat('F', 10) + repeat('S', 30), 1_000);
    assert.deepEqual(shown, ['consecutive-failures@4s', 'recovered@23s', 'consecutive-failures@27s', 'recovered@36s', 'incident-closed@46s']);
    const reopened = transitions[2];
    assert.equal(reopened?.evidence.flapping, 1);
    assert.equal(reopened?.evidence.up_for_ms, 3_000);
    const closed = transitions.at(-1)?.outage;
    assert.deepEqual(closed, { startedAt: 2_000, endedAt: 35_000, durationMs: 30_000, spanMs: 33_000, periods: 2, overdue: false });
  });

  it('an incident whose probe was up is not "not recovered": recoverWithin counts the time actually failing', () => {
    const state = new ProbeState('p', { ...EVERY, recoverWithinMs: 20_000, flapWindowMs: 10_000 });
    // Three failing periods of 8 s with 4 s up between: 24 s failing over a span of 32 s.
    const { shown, transitions } = sequence(state, repeat('F', 8) + 'SSSS' + repeat('F', 8) + 'SSSS' + repeat('F', 8) + repeat('S', 20), 1_000);
    const overdue = transitions.filter((t) => t.reason === 'not-recovered-within');
    assert.equal(overdue.length, 1, shown.join(' '));
    // 8 + 8 failing before the third period starts at 24 s: 4 more seconds of failing.
    assert.equal(overdue[0]?.at, 28_000);
    assert.equal(transitions.filter((t) => t.reason === 'incident-closed').length, 1);
  });

  it('a failure streak at the end of the flap window holds the close until it is over', () => {
    const state = new ProbeState('p', { ...EVERY, flapWindowMs: 3_000 });
    // Recovery held at 6 s; window to 9 s; two failures at 8 s and 9 s (not failAfter), good at 10 s.
    const { shown } = sequence(state, 'FFFSS' + 'S' + 'S' + 'FF' + repeat('S', 5), 1_000, 1_000);
    assert.deepEqual(shown, ['consecutive-failures@3s', 'recovered@5s', 'incident-closed@8s']);
    const late = new ProbeState('p', { ...EVERY, flapWindowMs: 3_000 });
    const held = sequence(late, 'FFFSS' + 'S' + 'FF' + 'S' + repeat('S', 5), 1_000, 1_000).shown;
    assert.deepEqual(held, ['consecutive-failures@3s', 'recovered@5s', 'incident-closed@9s'], 'closed by the good run after the streak (8 s), not during it');
  });

  it('after a long outage (the ratio window full of failures) a hard fault recovers after recoverAfter good runs', () => {
    const { shown } = sequence(new ProbeState('p', EVERY), repeat('S', 3) + repeat('F', 300) + repeat('S', 10), 1_000);
    assert.deepEqual(shown.slice(0, 2), ['consecutive-failures@5s', 'recovered@304s']);
  });

  it('an intermittent fault (opened by the ratio) recovers when the ratio is back under its limit', () => {
    const ratio: DetectSettings = { ...EVERY, failAfter: 5, failureRatio: { window: 10, above: 0.5 }, flapWindowMs: 0 };
    const { shown } = sequence(new ProbeState('p', ratio), repeat('FFS', 10) + repeat('S', 10), 1_000);
    assert.equal(shown[0], 'failure-ratio@9s');
    // At 30 s two good runs in a row (29 s, 30 s) would do, but 6 of the last 10 failed; at 31 s
    // it is 5 of 10, no longer above half.
    assert.equal(shown[1], 'recovered@31s');
  });

  it('three overlapping faults on three probes are three incidents, each its own duration', () => {
    const patterns = { a: repeat('S', 2) + repeat('F', 30) + repeat('S', 30), b: repeat('S', 10) + repeat('F', 40) + repeat('S', 12), c: repeat('S', 20) + repeat('F', 15) + repeat('S', 27) };
    const durations = Object.entries(patterns).map(([name, pattern]) => sequence(new ProbeState(name, EVERY), pattern, 1_000).transitions.filter((t) => t.reason === 'incident-closed').map((t) => t.outage?.durationMs));
    assert.deepEqual(durations, [[30_000], [40_000], [15_000]]);
  });
});

function parseSnapshot(value: unknown): ProbeStateSnapshot {
  return probeStateSnapshotSchema.parse(JSON.parse(JSON.stringify(value))) as ProbeStateSnapshot;
}

describe('probe state machine: learning', () => {
  it('does not learn a slowdown as the new normal', () => {
    const state = new ProbeState('p', DEGRADE);
    feed(state, [...times(20, ok(100)), ...times(100, ok(300))], 2_000);
    assert.equal(state.baselineMs, 100);
    assert.equal(state.health, 'degraded');
  });
});
