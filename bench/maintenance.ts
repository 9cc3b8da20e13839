// Heap of a daemon whose maintenance windows are evaluated all the time: flapping probes make
// the alert engine flush groups (each flush asks every window whether it is open) for
// --minutes, and the heap after a full collection is sampled every --every seconds. The
// anchor, in the same run: the way windows were evaluated before compiling them (a node-cron
// task created per evaluation), 20,000 times, and what that left on the heap.
//
//   npm run bench:maintenance -- --minutes 10 --probes 20
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import cron from 'node-cron';
import { Daemon } from '../src/daemon.js';
import { systemClock } from '../src/scheduler/clock.js';
import { arg, sleep, table } from './lib.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};

const minutes = arg('minutes', 10);
const probes = arg('probes', 20);
const everySeconds = arg('every', 30);

/** The old evaluation: a node-cron task per call, its matcher read through a private field. */
function anchor(calls: number): { before: number; after: number } {
  const before = heapMb();
  for (let i = 0; i < calls; i++) {
    const task = cron.createTask('0 3 * * *', () => undefined, {});
    const matcher = (task as unknown as { timeMatcher?: { getNextMatch(d: Date): Date } }).timeMatcher;
    matcher?.getNextMatch(new Date(Date.UTC(2026, 0, 1) + i));
  }
  return { before, after: heapMb() };
}

// A target that fails every other second: every probe flaps, so alerts fire and resolve and
// the engine flushes groups (and evaluates the windows) continuously.
const target = http.createServer((_req, res) => {
  res.statusCode = Math.floor(Date.now() / 1000) % 2 === 0 ? 200 : 503;
  res.end('x');
});
await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
const sink = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end());
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-maintenance-'));
mkdirSync(path.join(dir, 'probes'));
writeFileSync(
  path.join(dir, 'flowprobe.yaml'),
  [
    'probesDir: probes',
    'stateDir: state',
    'log: { level: error }',
    'detect: { failAfter: 1, recoverAfter: 1, failureRatio: false }',
    'alerting:',
    `  receivers: [{ name: sink, webhook: { url: "${sinkUrl}" } }]`,
    '  group: { by: [alertname, probe], wait: 0ms, interval: 10ms, repeat: 1h }',
    '  maintenance:',
    // One window open all the time for half the probes, others that never match or are closed.
    '    - { name: always, cron: "* * * * *", duration: 1h, match: { probe: "/p-[0-9]*[02468]/" } }',
    '    - { name: nightly, cron: "0 3 * * *", duration: 1h, timezone: Europe/Berlin, match: { probe: "/.*/" } }',
    '    - { name: weekly, cron: "0 0 2 * * 0", duration: 2h, match: { severity: info } }',
    '',
  ].join('\n'),
);
for (let i = 0; i < probes; i++) writeFileSync(path.join(dir, 'probes', `p-${i}.yaml`), `name: p-${i}\nkind: http\nevery: 500ms\ntimeout: 400ms\nurl: ${targetUrl}\n`);

const daemon = await Daemon.start({ configFile: path.join(dir, 'flowprobe.yaml'), env: {}, clock: systemClock, version: 'bench', listen: '127.0.0.1:0', logDestination: { write: () => undefined } });
const samples: Array<Record<string, string | number>> = [];
const started = Date.now();
const flushes = () => Number(/flowprobe_notifications_total\{[^}]*result="success"[^}]*\} (\d+)/.exec(metricsText)?.[1] ?? 0);
let metricsText = '';
for (let at = 0; at <= minutes * 60; at += everySeconds) {
  const wait = started + at * 1000 - Date.now();
  if (wait > 0) await sleep(wait);
  metricsText = await (await fetch(`http://127.0.0.1:${daemon.address?.port}/metrics`)).text();
  samples.push({ 'minute': (at / 60).toFixed(1), 'heap after GC MB': heapMb().toFixed(1), 'notifications delivered': flushes() });
  console.error(`[${(at / 60).toFixed(1)} min] heap ${samples[samples.length - 1]?.['heap after GC MB']} MB`);
}
await daemon.stop();
target.close();
sink.close();

console.log(`\nA daemon with ${probes} flapping probes and 3 maintenance windows, ${minutes} min:`);
console.log(table(samples));
const first = Number(samples[1]?.['heap after GC MB'] ?? samples[0]?.['heap after GC MB']);
const last = Number(samples[samples.length - 1]?.['heap after GC MB']);
console.log(`heap from the first minute to the end: ${first.toFixed(1)} → ${last.toFixed(1)} MB (${(last - first >= 0 ? '+' : '')}${(last - first).toFixed(1)} MB)`);
const old = anchor(20_000);
console.log(`anchor, same run: 20,000 evaluations the old way (a node-cron task each): heap ${old.before.toFixed(1)} → ${old.after.toFixed(1)} MB (+${(old.after - old.before).toFixed(1)} MB)`);
process.exit(0);
