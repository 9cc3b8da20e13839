// Delivery must not starve probing: 300 probes flapping every second, with three receivers that
// accept requests and never answer, beside a control without receivers in the same run. Prints
// the runs completed, /healthz's slowest answer and the daemon's event-loop p99 — the goal: ≥ 90 %
// of the control's runs, /healthz within 1 s.
//   node dist/bench/backlog.js [--probes 300] [--seconds 60]
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, cpuSeconds, DAEMON_NODE_FLAGS, freePort, sleep, startChild, stopChild, table, waitForHttp } from './lib.js';

const probes = arg('probes', 300);
const seconds = arg('seconds', 60);
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

const serverPort = await freePort();
const server = fork(fileURLToPath(new URL('./backlog-server.js', import.meta.url)), [String(serverPort)], { stdio: 'ignore' });
await new Promise((resolve) => server.once('message', resolve));

function sumOf(text: string, prefix: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(prefix)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

async function measure(receivers: number): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-backlog-'));
  mkdirSync(path.join(dir, 'probes'));
  const port = await freePort();
  const hooks = Array.from({ length: receivers }, (_, i) => `    - { name: hang${i}, webhook: { url: "http://127.0.0.1:${serverPort}/hang${i}" } }`);
  writeFileSync(
    path.join(dir, 'flowprobe.yaml'),
    [
      `listen: 127.0.0.1:${port}`,
      'probesDir: probes',
      'stateDir: state',
      'log: { level: error }',
      'detect: { failAfter: 1, recoverAfter: 1, flapWindow: 0s }',
      'alerting:',
      `  receivers:${receivers === 0 ? ' []' : ''}`,
      ...hooks,
      '  group: { by: [alertname, probe], wait: 0s, interval: 10ms, repeat: 4h }',
      '  timeout: 10s',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'probes', 'flappers.yaml'), Array.from({ length: probes }, (_, i) => `- { name: p${i}, kind: http, every: 1s, timeout: 800ms, url: "http://127.0.0.1:${serverPort}/p${i}" }\n`).join(''));
  const child = startChild(process.execPath, [...DAEMON_NODE_FLAGS, MAIN, 'run', '--config', path.join(dir, 'flowprobe.yaml')]);
  await waitForHttp(`http://127.0.0.1:${port}/healthz`);
  const cpu0 = cpuSeconds(child.pid as number);
  let slowest = 0;
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const t0 = performance.now();
    await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(30_000) }).then((r) => r.text(), () => undefined);
    slowest = Math.max(slowest, performance.now() - t0);
    await sleep(100);
  }
  const t1 = performance.now();
  const text = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(60_000) }).then((r) => r.text(), () => '');
  const scrapeMs = performance.now() - t1;
  const cpu = cpuSeconds(child.pid as number) - cpu0;
  await stopChild(child);
  return {
    receivers: receivers === 0 ? 'none (control)' : `${receivers} hanging`,
    'runs completed': sumOf(text, 'flowprobe_probe_runs_total{'),
    'skipped runs': sumOf(text, 'flowprobe_scheduler_skipped_runs_total{'),
    'queued': sumOf(text, 'flowprobe_outbox_pending{'),
    'slowest /healthz ms': Math.round(slowest),
    'loop p99 s (last scrape)': Number(sumOf(text, 'flowprobe_event_loop_delay_p99_seconds{').toFixed(3)),
    'cpu s': Number(cpu.toFixed(1)),
    '/metrics ms': text ? Math.round(scrapeMs) : 'no answer in 60 s',
  };
}

try {
  const control = await measure(0);
  console.error('backlog: control done', JSON.stringify(control));
  const hanging = await measure(3);
  console.log(`backlog: ${probes} probes flapping every second for ${seconds} s, Node ${process.version}`);
  console.log(table([control, hanging]));
  console.log(`runs with hanging receivers: ${((100 * Number(hanging['runs completed'])) / Number(control['runs completed'])).toFixed(1)} % of the control's (goal ≥ 90 %)`);
} finally {
  server.kill();
}
