// Detector cost: µs per result with 10,000 probes' state in memory (each with a failure-ratio
// window and a full 200-sample baseline), and memory per probe.
//   node --expose-gc dist/bench/detector.js [--probes 10000] [--results 1000000]
import { ProbeState, type DetectSettings } from '../src/detect/probe-state.js';
import { arg, table } from './lib.js';

const probes = arg('probes', 10_000);
const results = arg('results', 1_000_000);
const settings: DetectSettings = {
  failAfter: 3,
  recoverAfter: 2,
  failureRatio: { window: 10, above: 0.5 },
  recoverWithinMs: 600_000,
  degraded: { figure: { name: 'duration' }, thresholdMs: undefined, factor: 2, sustainMs: 60_000, minSamples: 20, baselineSamples: 200, percentile: 50 },
  degradedRunsSustainMs: 60_000,
  flapWindowMs: 600_000,
};
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const states = Array.from({ length: probes }, (_, i) => new ProbeState(`probe-${i}`, settings));
// Warm: fill every baseline and window.
for (let round = 0; round < 200; round++) for (const s of states) s.observe({ ok: true, inconclusive: false, figureMs: 100 + (round % 7), failure: undefined }, round * 1000);
gc?.();
const heapAfter = process.memoryUsage().heapUsed;

let transitions = 0;
const started = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < results; i++) {
  const state = states[i % probes] as ProbeState;
  const failing = i % 97 === 0;
  transitions += state.observe({ ok: !failing, inconclusive: false, figureMs: failing ? undefined : 100 + (i % 13), failure: failing ? { code: 'timeout', message: 'x' } : undefined }, 200_000 + i).length;
}
const wall = performance.now() - t0;
const cpu = process.cpuUsage(started);
console.log(`detector: ${probes} probes, ${results} results, Node ${process.version}${gc ? '' : ' (run with --expose-gc for exact memory)'}`);
console.log(
  table([
    {
      probes,
      results,
      transitions,
      'µs/result (wall)': (wall * 1000) / results,
      'µs/result (CPU)': (cpu.user + cpu.system) / results,
      'KB/probe (heap)': (heapAfter - heapBefore) / probes / 1024,
    },
  ]),
);
