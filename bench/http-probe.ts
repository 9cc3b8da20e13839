// HTTP probe cost: CPU per probe of the full flowprobe daemon path (schedule, probe, checks,
// metrics, history, log) beside Debian's prometheus-blackbox-exporter probing the same local
// target at the same rate, in the same run. blackbox is driven as Prometheus drives it, its
// scrapes spread over the interval (a batch every 10 ms, the spread of flowprobe's own
// scheduler), and again in the bursts of 20 every 100 ms that figures before 2026-12-06 were
// taken with, which cost it 14–32 % less (docs/benchmarks.md). Beside both, two bare loops doing
// only the client's part (undici as the daemon uses it, and node:http): what the daemon's RSS
// cannot go under. Each runs as its own process, measured from /proc.
//   node dist/bench/http-probe.js [--rate 200] [--seconds 20]
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, cpuSeconds, DAEMON_NODE_FLAGS, driveProbes, type DriveSpacing, freePort, rssBytes, sleep, startChild, stopChild, table, waitForHttp } from './lib.js';

const rate = arg('rate', 200);
const seconds = arg('seconds', 20);
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));


async function runsTotal(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith('flowprobe_probe_runs_total{')) sum += Number(line.split(' ').pop());
  return sum;
}

async function measureFlowprobe(targetUrl: string, dir: string) {
  const probes = rate; // every 1s each
  mkdirSync(path.join(dir, 'probes'));
  writeFileSync(path.join(dir, 'flowprobe.yaml'), `probesDir: probes\nscheduler: { maxConcurrent: 256 }\n`);
  const list = Array.from({ length: probes }, (_, i) => `- name: p${i}\n  kind: http\n  every: 1s\n  timeout: 900ms\n  url: ${targetUrl}\n  expect: { status: 200, json: { "$.status": ok } }\n`);
  writeFileSync(path.join(dir, 'probes', 'bench.yaml'), list.join(''));
  const port = await freePort();
  const daemon = startChild(process.execPath, [...DAEMON_NODE_FLAGS, MAIN, 'run', '--config', path.join(dir, 'flowprobe.yaml'), '--listen', `127.0.0.1:${port}`]);
  const metrics = `http://127.0.0.1:${port}/metrics`;
  await waitForHttp(metrics);
  await sleep(3000); // warm-up: every probe has run at least twice
  const pid = daemon.pid as number;
  const [cpu0, runs0] = [cpuSeconds(pid), await runsTotal(metrics)];
  await sleep(seconds * 1000);
  const [cpu1, runs1] = [cpuSeconds(pid), await runsTotal(metrics)];
  const rss = rssBytes(pid);
  await stopChild(daemon);
  return { probes: runs1 - runs0, cpu: cpu1 - cpu0, rss };
}

async function measureBlackbox(targetUrl: string, dir: string, spacing: DriveSpacing) {
  writeFileSync(path.join(dir, 'blackbox.yml'), 'modules:\n  http_2xx:\n    prober: http\n    timeout: 900ms\n    http:\n      valid_status_codes: [200]\n      fail_if_body_not_matches_regexp: ["ok"]\n');
  const port = await freePort();
  const blackbox = startChild('prometheus-blackbox-exporter', [`--config.file=${path.join(dir, 'blackbox.yml')}`, `--web.listen-address=127.0.0.1:${port}`]);
  const probeUrl = `http://127.0.0.1:${port}/probe?module=http_2xx&target=${encodeURIComponent(targetUrl)}`;
  await waitForHttp(`http://127.0.0.1:${port}/metrics`);
  const pid = blackbox.pid as number;
  const tally = { done: 0, failed: 0 };
  await driveProbes(probeUrl, rate, 3000, undefined, spacing);
  const cpu0 = cpuSeconds(pid);
  await driveProbes(probeUrl, rate, seconds * 1000, tally, spacing);
  const cpu1 = cpuSeconds(pid);
  const rss = rssBytes(pid);
  await stopChild(blackbox);
  return { probes: tally.done + tally.failed, failed: tally.failed, cpu: cpu1 - cpu0, rss };
}

async function measureBareLoop(mode: 'undici' | 'node-http', targetUrl: string) {
  const loop = fork(fileURLToPath(new URL('./http-floor.js', import.meta.url)), [mode, targetUrl, String(rate)], { execArgv: DAEMON_NODE_FLAGS, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const count = (): Promise<number> => new Promise((resolve) => {
    loop.once('message', (n) => resolve(Number(n)));
    loop.send('count');
  });
  await new Promise((resolve) => loop.once('message', resolve));
  await sleep(3000);
  const pid = loop.pid as number;
  const [cpu0, done0] = [cpuSeconds(pid), await count()];
  await sleep(seconds * 1000);
  const [cpu1, done1] = [cpuSeconds(pid), await count()];
  const rss = rssBytes(pid);
  loop.kill();
  return { probes: done1 - done0, cpu: cpu1 - cpu0, rss };
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-http-'));
const targetPort = await freePort();
const target = fork(fileURLToPath(new URL('./target-server.js', import.meta.url)), [String(targetPort)], { stdio: 'ignore' });
await new Promise((resolve) => target.once('message', resolve));
const targetUrl = `http://127.0.0.1:${targetPort}/`;
console.log(`HTTP probe cost: ${rate} probes/s against one local target for ${seconds}s each (after 3s warm-up), Node ${process.version}`);
try {
  const ours = await measureFlowprobe(targetUrl, dir);
  const theirs = await measureBlackbox(targetUrl, dir, 10);
  const theirsInBursts = await measureBlackbox(targetUrl, dir, 100);
  const bareUndici = await measureBareLoop('undici', targetUrl);
  const bareNodeHttp = await measureBareLoop('node-http', targetUrl);
  const row = (prober: string, m: { probes: number; cpu: number; rss: number }) => ({ prober, probes: m.probes, 'probes/s': m.probes / seconds, 'CPU µs/probe': (m.cpu * 1e6) / m.probes, 'RSS MB': m.rss / 1e6 });
  const rows = [
    row('flowprobe daemon (full path)', ours),
    row('blackbox_exporter, spread', theirs),
    row('blackbox, 20 at once / 100 ms', theirsInBursts),
    row('bare loop: undici Client', bareUndici),
    row('bare loop: node:http', bareNodeHttp),
  ];
  console.log(table(rows));
  const ratio = Number(rows[0]?.['CPU µs/probe']) / Number(rows[1]?.['CPU µs/probe']);
  console.log(`\nratio flowprobe/blackbox CPU per probe: ${ratio.toFixed(2)} (#26: <= 0.8; the project's goal: <= 0.6)`);
  console.log(`ratio against blackbox driven in bursts of 20 (how figures before 2026-12-06 were taken): ${(Number(rows[0]?.['CPU µs/probe']) / Number(rows[2]?.['CPU µs/probe'])).toFixed(2)}`);
  console.log(`the daemon's RSS above the bare undici loop's: ${(Number(rows[0]?.['RSS MB']) - Number(rows[3]?.['RSS MB'])).toFixed(0)} MB (#26: RSS < 90 MB)`);
} finally {
  target.kill();
}
