// Scale: the largest load one daemon holds on this machine while staying within the bars
// (event-loop delay p99 < 50 ms, scheduler lateness p99 < 20 ms, RSS < 1 GB), one dimension
// at a time, stepping the load up until a bar breaks. The daemon runs compiled, in its own
// process; targets are the demo service (another process) and a bare HTTP server.
//   node dist/bench/scale.js [--seconds 20] [--only "HTTP probes" --steps 50,100] [--combined 0.25,0.5,1]
import { fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, DAEMON_NODE_FLAGS, freePort, sleep, table, waitForHttp } from './lib.js';

const seconds = arg('seconds', 20);
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const SECRET = 'scale-jwt-secret-0123456789abcdefgh';
const BARS = { eldMs: 50, latenessMs: 20, rssMb: 1000 };

const demo = fork(fileURLToPath(new URL('./demo-server.js', import.meta.url)), [SECRET], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const { url, wsUrl } = (await new Promise((resolve) => demo.once('message', resolve))) as { url: string; wsUrl: string };
const sseServer = fork(fileURLToPath(new URL('./sse-server.js', import.meta.url)), ['0', '1000'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const { port: ssePort } = (await new Promise((resolve) => sseServer.once('message', resolve))) as { port: number };
const target = fork(fileURLToPath(new URL('./target-server.js', import.meta.url)), [String(await freePort())], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
await new Promise((resolve) => target.once('message', resolve));
const targetPort = Number(target.spawnargs.at(-1));

interface Step {
  dimension: string;
  load: number;
  unit: string;
  probes: string;
}

const dimensions: Array<{ name: string; unit: string; steps: number[]; probes: (n: number) => string }> = [
  { name: 'HTTP probes', unit: 'probes/s', steps: [200, 400, 800, 1600], probes: (n) => list(n, (i) => `{ name: h${i}, kind: http, every: 1s, timeout: 900ms, url: "http://127.0.0.1:${targetPort}/" }`) },
  { name: 'held SSE streams', unit: 'streams', steps: [1000, 2500, 5000, 10000], probes: (n) => list(Math.ceil(n / 500), (i) => `{ name: s${i}, kind: sse, every: 1m, timeout: 50s, url: "http://127.0.0.1:${ssePort}/stream", hold: 45s, holdFull: true, clients: 500 }`) },
  { name: 'WebSocket connections', unit: 'connections', steps: [1000, 2500, 5000, 10000], probes: (n) => list(Math.ceil(n / 500), (i) => `{ name: w${i}, kind: websocket, every: 1m, timeout: 50s, url: "${wsUrl}", connections: 500, auth: { jwt: { secret: "${SECRET}", in: query } }, hold: 45s, keepalive: { every: 5s, timeout: 10s } }`) },
  { name: 'flows', unit: 'flows/s', steps: [10, 25, 50, 100], probes: (n) => list(n, (i) => `{ name: f${i}, kind: flow, every: 1s, timeout: 900ms, watch: [{ name: stream, sse: { url: "${url}/api/stream" } }], steps: [{ inject: { url: "${url}/api/ingest", json: { marker: "{{run.id}}" } } }, { await: { on: stream, match: { json: { $.marker: "{{run.id}}" } }, within: 800ms } }] }`) },
];

function list(n: number, item: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => `- ${item(i)}`).join('\n');
}

async function measure(step: Step): Promise<{ eldMs: number; latenessMs: number; rssMb: number; results: number; cpuPercent: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-scale-'));
  mkdirSync(path.join(dir, 'probes'));
  const port = await freePort();
  writeFileSync(path.join(dir, 'flowprobe.yaml'), `probesDir: probes\nlisten: 127.0.0.1:${port}\nlog: { level: warn }\nscheduler: { maxConcurrent: 4096 }\nalerting: { probeSide: false }\n`);
  writeFileSync(path.join(dir, 'probes', 'load.yaml'), step.probes);
  const daemon = spawn(process.execPath, [...DAEMON_NODE_FLAGS, MAIN, 'run', '--config', path.join(dir, 'flowprobe.yaml')], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/readyz`, 30_000);
    await sleep(5000); // let every probe start
    let eld = 0;
    let rss = 0;
    const first = await metrics(base);
    const until = Date.now() + seconds * 1000;
    while (Date.now() < until) {
      await sleep(5000);
      const m = await metrics(base);
      eld = Math.max(eld, m.eldMs);
      rss = Math.max(rss, m.rssMb);
    }
    const last = await metrics(base);
    return { eldMs: eld, latenessMs: latenessP99(last.buckets, first.buckets), rssMb: rss, results: (last.runs - first.runs) / seconds, cpuPercent: ((last.cpu - first.cpu) / seconds) * 100 };
  } finally {
    daemon.kill('SIGKILL');
    await new Promise((resolve) => daemon.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function metrics(base: string) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const buckets = new Map<number, number>();
  for (const m of text.matchAll(/^flowprobe_scheduler_lateness_seconds_bucket\{le="([^"]+)"[^}]*\} (\d+)$/gm)) buckets.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  let runs = 0;
  for (const m of text.matchAll(/^flowprobe_probe_runs_total\{[^}]*\} ([\d.e+]+)$/gm)) runs += Number(m[1]);
  return { eldMs: value('flowprobe_event_loop_delay_p99_seconds') * 1000, rssMb: value('process_resident_memory_bytes') / 1e6, cpu: value('process_cpu_seconds_total'), buckets, runs };
}

function latenessP99(now: Map<number, number>, before: Map<number, number>): number {
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const delta = bounds.map((le) => (now.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = delta[delta.length - 1] ?? 0;
  return total === 0 ? NaN : (bounds[delta.findIndex((c) => c >= 0.99 * total)] ?? NaN) * 1000;
}

// --only "HTTP probes" --steps 50,100,200: one dimension with chosen steps.
const onlyArg = process.argv.indexOf('--only');
const stepsArg = process.argv.indexOf('--steps');
if (onlyArg > 0) {
  const keep = dimensions.filter((d) => d.name === process.argv[onlyArg + 1]);
  dimensions.splice(0, dimensions.length, ...keep);
  if (stepsArg > 0 && keep[0]) keep[0].steps = String(process.argv[stepsArg + 1]).split(',').map(Number);
}

// --combined 0.25,0.5,0.75,1: every dimension at once, each at that fraction of the largest load
// it held alone, stepping up until a bar breaks. These are the maxima the combined table in
// docs/benchmarks.md was measured against (flows later held 100/s alone).
const combinedArg = process.argv.indexOf('--combined');
const ALONE = [300, 10_000, 10_000, 50];
if (combinedArg > 0) {
  const fractions = String(process.argv[combinedArg + 1]).split(',').map(Number);
  const parts = dimensions.map((d, i) => ({ d, max: ALONE[i] ?? 0 }));
  dimensions.splice(0, dimensions.length, {
    name: 'all at once',
    unit: `× (${parts.map(({ d, max }) => `${max} ${d.unit}`).join(' + ')})`,
    steps: fractions,
    probes: (f) => parts.map(({ d, max }) => d.probes(Math.round(f * max))).join('\n'),
  });
}

console.log(`scale: ${combinedArg > 0 ? 'every dimension at once' : 'one dimension at a time'}, ${seconds}s per step; bars: event-loop delay p99 < ${BARS.eldMs} ms, lateness p99 < ${BARS.latenessMs} ms, RSS < 1 GB; Node ${process.version}`);
const rows: Array<Record<string, string | number>> = [];
const summary: Array<Record<string, string | number>> = [];
try {
  for (const d of dimensions) {
    let held: number | undefined;
    for (const load of d.steps) {
      const m = await measure({ dimension: d.name, load, unit: d.unit, probes: d.probes(load) });
      const within = m.eldMs < BARS.eldMs && (Number.isNaN(m.latenessMs) || m.latenessMs < BARS.latenessMs) && m.rssMb < BARS.rssMb;
      rows.push({ dimension: d.name, load: `${load} ${d.unit}`, 'ELD p99 ms (worst 5 s)': m.eldMs, 'lateness p99 ms': m.latenessMs, 'RSS MB': m.rssMb, 'daemon CPU %': m.cpuPercent, 'results/s': m.results, within: within ? 'yes' : 'no' });
      console.log(table(rows.slice(-1)));
      if (!within) break;
      held = load;
    }
    summary.push({ dimension: d.name, 'largest load within the bars': held === undefined ? `< ${d.steps[0]} ${d.unit}` : `${held} ${d.unit}${held === d.steps.at(-1) ? ' (largest step tried)' : ''}` });
  }
} finally {
  demo.kill();
  sseServer.kill();
  target.kill();
}
console.log(`\n${table(rows)}\n\n${table(summary)}`);
console.log('\nlateness is the upper bound of the histogram bucket holding the p99 (…, 5, 10, 15, 20, 25, 50 ms)');
