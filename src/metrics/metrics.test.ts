// The /metrics exposition: the same text prom-client would produce, without holding the event
// loop for the whole registry.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { exposition } from './metrics.js';

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
