// Faults of flowprobe itself, measured:
//  1. kill -9 under load, restart on the same state dir: time until it answers /readyz and
//     until the first probe result; the state (detector, outbox) is still there.
//  2. SIGHUP every 2 s under load: no run missed or doubled (runs per probe vs the schedule).
//   node dist/bench/faults.js [--probes 200] [--seconds 20]
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, freePort, sleep, table, waitForHttp } from './lib.js';

const probes = arg('probes', 200);
const seconds = arg('seconds', 20);
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));


const target = http.createServer((_req, res) => res.end('ok'));
await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
const targetUrl = `http://127.0.0.1:${(target.address() as net.AddressInfo).port}/`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-faults-'));
mkdirSync(path.join(dir, 'probes'));
const port = await freePort();
writeFileSync(path.join(dir, 'flowprobe.yaml'), `probesDir: probes\nlisten: 127.0.0.1:${port}\nlog: { level: debug }\n`);
writeFileSync(path.join(dir, 'probes', 'load.yaml'), Array.from({ length: probes }, (_, i) => `- { name: p${i}, kind: http, every: 1s, timeout: 900ms, url: "${targetUrl}" }`).join('\n'));
const base = `http://127.0.0.1:${port}`;

function start() {
  const child = spawn(process.execPath, [MAIN, 'run', '--config', path.join(dir, 'flowprobe.yaml')], { stdio: ['ignore', 'pipe', 'ignore'] });
  let firstResultAt: number | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    if (firstResultAt === undefined && chunk.toString().includes('"msg":"probe ok"')) firstResultAt = Date.now();
  });
  return { child, firstResult: () => firstResultAt };
}

async function runsPerProbe(): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const runs = new Map<string, number>();
  for (const m of text.matchAll(/^flowprobe_probe_runs_total\{probe="([^"]+)"[^}]*\} (\d+)$/gm)) runs.set(m[1] as string, (runs.get(m[1] as string) ?? 0) + Number(m[2]));
  return runs;
}

console.log(`faults of flowprobe itself: ${probes} probes every 1s, Node ${process.version}`);
const rows: Array<Record<string, string | number>> = [];

// 1. kill -9 and restart
let daemon = start();
await waitForHttp(`${base}/readyz`);
await sleep(5000);
daemon.child.kill('SIGKILL');
await new Promise((resolve) => daemon.child.once('exit', resolve));
const restartAt = Date.now();
daemon = start();
await waitForHttp(`${base}/readyz`, 30_000);
const readyMs = Date.now() - restartAt;
while (daemon.firstResult() === undefined && Date.now() - restartAt < 30_000) await sleep(10);
const firstResultMs = (daemon.firstResult() ?? NaN) - restartAt;
rows.push({ fault: 'kill -9 under load, restart', measured: `ready in ${readyMs} ms, first result in ${firstResultMs} ms`, bar: '< 10 s', verdict: firstResultMs < 10_000 ? 'PASS' : 'FAIL' });
// State surviving kill -9 (alerts, outbox, outages) is proven by src/alerting/crash.test.ts.

// 2. reloads under load
await sleep(3000);
const before = await runsPerProbe();
const t0 = Date.now();
let reloads = 0;
while (Date.now() - t0 < seconds * 1000) {
  await sleep(2000);
  daemon.child.kill('SIGHUP');
  reloads++;
}
const after = await runsPerProbe();
const elapsed = (Date.now() - t0) / 1000;
const deltas = [...after].map(([name, n]) => n - (before.get(name) ?? 0));
const min = Math.min(...deltas);
const max = Math.max(...deltas);
// Each probe has one slot per second: over `elapsed` seconds it runs floor or ceil of that.
const ok = min >= Math.floor(elapsed) - 1 && max <= Math.ceil(elapsed) + 1;
rows.push({ fault: `${reloads} reloads (SIGHUP) in ${elapsed.toFixed(1)} s under load`, measured: `runs per probe ${min}..${max}`, bar: `${Math.floor(elapsed) - 1}..${Math.ceil(elapsed) + 1} (no missed or doubled runs)`, verdict: ok ? 'PASS' : 'FAIL' });

daemon.child.kill('SIGTERM');
await new Promise((resolve) => daemon.child.once('exit', resolve));
target.close();
console.log(table(rows));
