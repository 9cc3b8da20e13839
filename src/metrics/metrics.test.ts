// The /metrics exposition: the same text prom-client would produce, without holding the event
// loop for the whole registry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { KINDS } from '../probers/kinds.js';
import type { ProbeResult } from '../probers/types.js';
import { createMetrics, exposition } from './metrics.js';

function registryWith(probes: number): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ location: 'test' });
  const runs = new Counter({ name: 'runs_total', help: 'Runs.', labelNames: ['probe'], registers: [registry] });
  const phase = new Histogram({ name: 'phase_seconds', help: 'Phases.', labelNames: ['probe', 'phase'], buckets: [0.01, 0.1, 1], registers: [registry] });
  for (let i = 0; i < probes; i++) {
    runs.inc({ probe: `p${i}` }, i);
    phase.observe({ probe: `p${i}`, phase: 'connect' }, i / 1000);
  }
  return registry;
}

it('produces exactly the text of registry.metrics()', async () => {
  const registry = registryWith(50);
  assert.equal(await exposition(registry), await registry.metrics());
});

it('lets the event loop run between metrics', async () => {
  const registry = registryWith(10);
  let finished = false;
  let ranBeforeTheEnd = false;
  setImmediate(() => (ranBeforeTheEnd = !finished));
  await exposition(registry);
  finished = true;
  assert.ok(ranBeforeTheEnd, 'a callback queued before the scrape ran while it was being formatted');
});

describe('the series of a probe', () => {
  const metrics = createMetrics({
    location: 'test',
    version: 'test',
    schedulerState: () => ({ inFlight: 0, queued: 0 }),
    probeStates: () => [],
    resources: () => [],
    alerting: () => ({ receivers: [], firing: 0 }),
    now: () => 0,
  });
  metrics.declareProbes([
    { name: 'plain', kind: 'http', metrics: { phases: false } },
    { name: 'phased', kind: 'http', metrics: { phases: true } },
  ]);
  const base = { kind: 'http' as const, runId: 'r', slot: 0, startedAt: 0, durationMs: 30, phases: { dns: 1, connect: 2, first_byte: 20 }, checks: [], detail: KINDS.http.emptyDetail({} as never) };
  const ok = (probe: string): ProbeResult => ({ ...base, probe, ok: true, verdict: 'ok' });
  metrics.recordResult(ok('plain'));
  metrics.recordResult(ok('phased'));
  metrics.recordResult({ ...base, probe: 'plain', ok: false, verdict: 'failed', failure: { code: 'timeout', message: 'no answer within 2s' } });

  const lines = async (probe: string) => (await exposition(metrics.registry)).split('\n').filter((l) => l.includes(`probe="${probe}"`));

  it('keeps phase histograms only for a probe that asks for them', async () => {
    assert.equal((await lines('plain')).filter((l) => l.startsWith('flowprobe_probe_phase_seconds')).length, 0);
    const phased = (await lines('phased')).filter((l) => l.startsWith('flowprobe_probe_phase_seconds_count'));
    // Each phase the run had: a plain http:// run has no tls phase.
    assert.deepEqual(phased.map((l) => /phase="(\w+)"/.exec(l)?.[1]).sort(), ['connect', 'dns', 'first_byte']);
    assert.ok(phased.some((l) => l.includes('phase="connect"') && l.endsWith(' 1')));
  });

  it('counts runs by result from zero, and a failure reason from its first failure', async () => {
    const plain = await lines('plain');
    assert.ok(plain.some((l) => /^flowprobe_probe_runs_total\{probe="plain",result="failure",location="test"\} 1$/.test(l)));
    assert.ok(plain.some((l) => /^flowprobe_probe_runs_total\{probe="plain",result="inconclusive",location="test"\} 0$/.test(l)));
    assert.ok(plain.some((l) => /^flowprobe_probe_failures_total\{probe="plain",reason="timeout",location="test"\} 1$/.test(l)));
    assert.equal((await lines('phased')).filter((l) => l.startsWith('flowprobe_probe_failures_total')).length, 0);
  });

  it('stays within 30 series for an HTTP probe without phase histograms', async () => {
    const plain = await lines('plain');
    assert.ok(plain.length <= 30, `${plain.length} series:\n${plain.join('\n')}`);
    assert.equal((await lines('phased')).filter((l) => l.startsWith('flowprobe_probe_phase_seconds')).length, 3 * 5, 'three phase summaries of five series each (p50, p95, p99, sum, count)');
  });

  it('drops a probe\'s phase histograms when a reload turns them off', async () => {
    await metrics.declareProbes([{ name: 'phased', kind: 'http', metrics: { phases: false } }]);
    assert.equal((await lines('phased')).filter((l) => l.startsWith('flowprobe_probe_phase_seconds')).length, 0);
  });
});

describe('latency figures at each probe\'s own scale', () => {
  // Known samples: an HTTP check that takes about 2 ms, a held SSE stream of about 5 s, and a
  // flow leg around 180 ms. The figure a dashboard reads must be within 10 % of the true p95 of
  // the recent runs for each of them.
  const rng = (() => {
    let x = 42;
    return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  })();
  const cases = [
    { probe: 'fast-http', around: 0.002, spread: 0.001 },
    { probe: 'held-sse', around: 5, spread: 0.2 },
    { probe: 'mid-flow', around: 0.18, spread: 0.06 },
  ];
  /** What histogram_quantile made of the old fixed buckets (linear inside the bucket). */
  const OLD_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 10];
  function fromOldBuckets(samples: number[], q: number): number {
    const rank = q * samples.length;
    let below = 0;
    let lower = 0;
    for (const upper of OLD_BUCKETS) {
      const inBucket = samples.filter((v) => v > lower && v <= upper).length;
      if (below + inBucket >= rank) return lower + (upper - lower) * ((rank - below) / inBucket);
      below += inBucket;
      lower = upper;
    }
    return lower;
  }

  it('reads p95 within 10 % for a 2 ms probe and a 5 s one alike (fixed buckets were off by up to 50x)', async () => {
    const metrics = createMetrics({ location: 'test', version: 'test', schedulerState: () => ({ inFlight: 0, queued: 0 }), probeStates: () => [], resources: () => [], alerting: () => ({ receivers: [], firing: 0 }), now: () => 0 });
    await metrics.declareProbes(cases.map(({ probe }) => ({ name: probe, kind: 'http' as const })));
    const drawn = new Map<string, number[]>();
    for (const { probe, around, spread } of cases) {
      const samples = Array.from({ length: 300 }, () => around - spread / 2 + rng() * spread);
      drawn.set(probe, samples);
      for (const seconds of samples) metrics.recordResult({ probe, kind: 'http', runId: 'r', slot: 0, startedAt: 0, durationMs: seconds * 1000, phases: {}, checks: [], detail: KINDS.http.emptyDetail({} as never), ok: true, verdict: 'ok' });
    }
    const text = await exposition(metrics.registry);
    for (const { probe } of cases) {
      const recent = (drawn.get(probe) ?? []).slice(-128).sort((a, b) => a - b);
      const truth = recent[Math.ceil(0.95 * recent.length) - 1] as number;
      const line = text.split('\n').find((l) => l.startsWith('flowprobe_probe_duration_seconds{') && l.includes(`probe="${probe}"`) && l.includes('quantile="0.95"'));
      const read = Number(line?.split(' ').at(-1));
      const error = Math.abs(read - truth) / truth;
      const old = fromOldBuckets(recent, 0.95);
      console.log(`p95 of ${probe}: true ${truth.toFixed(4)} s, read ${read.toFixed(4)} s (error ${(error * 100).toFixed(1)} %); the old buckets gave ${old.toFixed(4)} s (error ${((Math.abs(old - truth) / truth) * 100).toFixed(0)} %)`);
      assert.ok(error <= 0.1, `${probe}: p95 read ${read}, true ${truth}`);
    }
  });

  it('keeps five series a latency figure, however many samples', async () => {
    const metrics = createMetrics({ location: 'test', version: 'test', schedulerState: () => ({ inFlight: 0, queued: 0 }), probeStates: () => [], resources: () => [], alerting: () => ({ receivers: [], firing: 0 }), now: () => 0 });
    await metrics.declareProbes([{ name: 'p', kind: 'http' }]);
    for (let i = 0; i < 10_000; i++) metrics.recordResult({ probe: 'p', kind: 'http', runId: 'r', slot: 0, startedAt: 0, durationMs: i % 97, phases: {}, checks: [], detail: KINDS.http.emptyDetail({} as never), ok: true, verdict: 'ok' });
    const lines = (await exposition(metrics.registry)).split('\n').filter((l) => l.startsWith('flowprobe_probe_duration_seconds'));
    assert.deepEqual(lines.map((l) => /^(\w+)/.exec(l)?.[1] + (/quantile="([^"]+)"/.exec(l)?.[1] ?? '')), ['flowprobe_probe_duration_seconds0.5', 'flowprobe_probe_duration_seconds0.95', 'flowprobe_probe_duration_seconds0.99', 'flowprobe_probe_duration_seconds_sum', 'flowprobe_probe_duration_seconds_count']);
    assert.match(lines.at(-1) ?? '', / 10000$/);
  });
});
