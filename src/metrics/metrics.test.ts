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
    assert.equal((await lines('phased')).filter((l) => l.startsWith('flowprobe_probe_phase_seconds')).length, 3 * 9, 'three phase histograms of nine series each');
  });

  it('drops a probe\'s phase histograms when a reload turns them off', async () => {
    metrics.declareProbes([{ name: 'phased', kind: 'http', metrics: { phases: false } }]);
    assert.equal((await lines('phased')).filter((l) => l.startsWith('flowprobe_probe_phase_seconds')).length, 0);
  });
});
