// A reload that removes many probes: N → 1 probe, at 1,000, 5,000 and 10,000. Prints how long
// the reload took, the longest the event loop was held meanwhile, and the slowest /healthz answer
// during it. Linear and sliced is the goal: before, 1,000 → 1 took 0.97 s, 2,500 → 7.3 s and
// 5,000 → 37 s, with /healthz starved for the whole of it.
//   node dist/bench/reload.js [--sizes 1000,5000,10000]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Daemon } from '../src/daemon.js';
import { systemClock } from '../src/scheduler/clock.js';
import { configDir } from '../test/config-dir.js';
import { table } from './lib.js';

const sizesArg = process.argv.indexOf('--sizes');
const sizes = sizesArg >= 0 ? String(process.argv[sizesArg + 1]).split(',').map(Number) : [1_000, 5_000, 10_000];
/** Polls /healthz every 20 ms until stopped; `slowest()` is the slowest answer. */
function pollHealth(base: string) {
  let slowest = 0;
  let polling = true;
  const done = (async () => {
    while (polling) {
      const t0 = performance.now();
      await fetch(`${base}/healthz`).then((r) => r.text(), () => undefined);
      slowest = Math.max(slowest, performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return { slowest: () => slowest, stop: async () => ((polling = false), await done) };
}

const probe = (i: number) => `- name: checkout-api-${i}\n  kind: http\n  every: 7d\n  url: http://127.0.0.1:9/\n`;
const rows: Array<Record<string, string | number>> = [];

for (const n of sizes) {
  const dir = configDir('probesDir: probes\nstateDir: state\nlog: { level: error }\n', {});
  writeFileSync(path.join(dir.probesDir, 'many.yaml'), Array.from({ length: n }, (_, i) => probe(i)).join(''));
  const daemon = await Daemon.start({ configFile: dir.configFile, env: {}, clock: systemClock, version: 'bench', listen: '127.0.0.1:0', logLevel: 'error', logDestination: { write: () => undefined } });
  const base = `http://127.0.0.1:${daemon.address?.port}`;
  writeFileSync(path.join(dir.probesDir, 'many.yaml'), probe(0));
  const health = pollHealth(base);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = performance.now();
  const result = await daemon.reload();
  const took = performance.now() - t0;
  loop.disable();
  await health.stop();
  rows.push({ probes: `${n} → 1`, ok: String(result.ok), 'reload ms': Math.round(took), 'loop held max ms': Math.round(loop.max / 1e6), 'µs per removed probe': Math.round((took * 1000) / (n - 1)), 'slowest /healthz ms': Math.round(health.slowest()) });
  await daemon.stop();
}
// 20 reloads in a row of 5,000 unchanged probes (a SIGHUP storm).
{
  const n = 5_000;
  const dir = configDir('probesDir: probes\nstateDir: state\nlog: { level: error }\n', {});
  writeFileSync(path.join(dir.probesDir, 'many.yaml'), Array.from({ length: n }, (_, i) => probe(i)).join(''));
  const daemon = await Daemon.start({ configFile: dir.configFile, env: {}, clock: systemClock, version: 'bench', listen: '127.0.0.1:0', logLevel: 'error', logDestination: { write: () => undefined } });
  const base = `http://127.0.0.1:${daemon.address?.port}`;
  const health = pollHealth(base);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await daemon.reload();
  const took = performance.now() - t0;
  loop.disable();
  await health.stop();
  rows.push({ probes: '20 × 5000 unchanged', ok: 'true', 'reload ms': Math.round(took / 20), 'loop held max ms': Math.round(loop.max / 1e6), 'µs per removed probe': '-', 'slowest /healthz ms': Math.round(health.slowest()) });
  await daemon.stop();
}
console.log(`reload removing probes, Node ${process.version}`);
console.log(table(rows));
