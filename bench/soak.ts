// Soak: the daemon (its own process) probes the demo service (another) with a realistic mix
// while a scripted sequence of faults hits the demo and a webhook sink records notifications.
// Every 10 s it records RSS, heap, open fds, event-loop delay p99, scheduler lateness p99,
// results/s and outbox depth to CSV; at the end it draws them as SVG and prints a verdict
// per bar.
//   npm run bench:soak -- --minutes 30      (default 3; the fault script scales with it)
//   options: --http 100 --sse 50 --sse-clients 10 --ws 50 --ws-connections 20 --flows 10
//            --heap-snapshots 1: write a V8 heap snapshot of the daemon at a third of the run and
//            at its end (each pauses the daemon and costs memory: a diagnostic run, not a verdict
//            run); compare them with `node dist/bench/heap-diff.js A B`.
import { fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, freePort, sleep, table, waitForHttp } from './lib.js';

const minutes = arg('minutes', 3);
const counts = { http: arg('http', 100), sse: arg('sse', 50), sseClients: arg('sse-clients', 10), ws: arg('ws', 50), wsConnections: arg('ws-connections', 20), flows: arg('flows', 10) };
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = path.join(ROOT, 'dist/src/main.js');
const SECRET = 'soak-jwt-secret-0123456789abcdefghi';
const SAMPLE_MS = 10_000;
const heapSnapshots = arg('heap-snapshots', 0) > 0;

interface Page {
  at: number;
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}

// The on-call sink.
const pages: Page[] = [];
const sink = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    pages.push({ at: Date.now(), ...(JSON.parse(body) as Omit<Page, 'at'>) });
    res.end();
  });
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as net.AddressInfo).port}/`;

const demo = fork(fileURLToPath(new URL('./demo-server.js', import.meta.url)), [SECRET], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const { url, wsUrl } = (await new Promise((resolve) => demo.once('message', resolve))) as { url: string; wsUrl: string };
const setFaults = (faults: Record<string, unknown>) => fetch(`${url}/api/faults`, { method: 'PUT', headers: { authorization: 'Bearer bench' }, body: JSON.stringify(faults) });

// Config and probes.
const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-soak-'));
mkdirSync(path.join(dir, 'probes'));
const port = await freePort();
writeFileSync(
  path.join(dir, 'flowprobe.yaml'),
  [
    'probesDir: probes',
    `listen: 127.0.0.1:${port}`,
    'location: soak',
    'log: { level: warn }',
    'detect: { failAfter: 2, recoverAfter: 2, failureRatio: false }',
    'alerting:',
    `  receivers: [{ name: oncall, webhook: { url: "${sinkUrl}" } }]`,
    '  group: { by: [alertname], wait: 2s, interval: 5s, repeat: 4h }',
    '  probeSide: false',
    '',
  ].join('\n'),
);
const probeFiles: Record<string, string[]> = {
  'http.yaml': Array.from({ length: counts.http }, (_, i) => `- { name: http-${i}, kind: http, every: 5s, timeout: 4s, url: "${url}/api/dashboard", labels: { group: http }, expect: { status: 200 } }`),
  'sse.yaml': Array.from({ length: counts.sse }, (_, i) => `- { name: sse-${i}, kind: sse, every: 5s, timeout: 4s, url: "${url}/api/stream", hold: 2s, holdFull: true, clients: ${counts.sseClients}, labels: { group: sse }, expect: { minEvents: 1 } }`),
  'ws.yaml': Array.from({ length: counts.ws }, (_, i) => `- { name: ws-${i}, kind: websocket, every: 5s, timeout: 4s, url: "${wsUrl}", connections: ${counts.wsConnections}, auth: { jwt: { secret: "${SECRET}", in: query } }, rtt: { samples: 3, send: { json: { type: ping, seq: "{{seq}}" } }, match: { json: { $.seq: "{{seq}}" } } }, labels: { group: ws } }`),
  'flow.yaml': Array.from({ length: counts.flows }, (_, i) => `- { name: flow-${i}, kind: flow, every: 1s, timeout: 900ms, labels: { group: flow }, watch: [{ name: stream, sse: { url: "${url}/api/stream" } }], steps: [{ inject: { url: "${url}/api/ingest", json: { marker: "{{run.id}}" } } }, { await: { on: stream, match: { json: { $.marker: "{{run.id}}" } }, within: 800ms } }] }`),
};
for (const [file, lines] of Object.entries(probeFiles)) writeFileSync(path.join(dir, 'probes', file), `${lines.join('\n')}\n`);

const snapshotDir = path.join(ROOT, 'bench/out', `soak-heap-${Date.now()}`);
if (heapSnapshots) mkdirSync(snapshotDir, { recursive: true });
const daemon = spawn(process.execPath, [...(heapSnapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`] : []), MAIN, 'run', '--config', path.join(dir, 'flowprobe.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
/** Asks the daemon for a heap snapshot and waits until it is written. */
async function heapSnapshot(): Promise<void> {
  const before = new Set(readdirSync(snapshotDir));
  daemon.kill('SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(1000);
    const written = readdirSync(snapshotDir).filter((f) => !before.has(f));
    // The file appears at once and grows; done when its size stops changing.
    const file = written[0] ? path.join(snapshotDir, written[0]) : undefined;
    if (file && statSync(file).size > 0) {
      const size = statSync(file).size;
      await sleep(2000);
      if (statSync(file).size === size) return void console.log(`  heap snapshot: ${path.relative(ROOT, file)} (${(size / 1e6).toFixed(0)} MB)`);
    }
  }
  console.log(`  heap snapshot: none finished in ${snapshotDir} within 10 minutes`);
}
let snapshotTaken = false;
const base = `http://127.0.0.1:${port}`;
await waitForHttp(`${base}/readyz`);

// The fault script, as fractions of the run: [start, end, faults, which probe group should
// page]. It repeats every 10 minutes (a 30-minute soak has three cycles): the last two thirds
// then show whether a fault leaves something behind, rather than the daemon's bounded stores
// (the failure history keeps 50 results per probe) filling for the first time.
const runMs = minutes * 60_000;
const cycles = Math.max(1, Math.floor(minutes / 10));
const faults: Array<{ name: string; from: number; to: number; set: Record<string, unknown>; expect: string }> = Array.from({ length: cycles }, (_, c) => {
  const at = (fraction: number) => (c + fraction) / cycles;
  const suffix = cycles > 1 ? ` (cycle ${c + 1})` : '';
  return [
    { name: `stream stalled${suffix}`, from: at(0.15), to: at(0.25), set: { stallStream: true }, expect: 'sse' },
    { name: `5xx on the dashboard and ingest${suffix}`, from: at(0.35), to: at(0.45), set: { errorRate: 1 }, expect: 'http' },
    { name: `full outage (sockets closed, 5xx), 20 s${suffix}`, from: at(0.6), to: at(0.6) + 20_000 / runMs, set: { closeSockets: true, errorRate: 1 }, expect: 'flow' },
  ];
}).flat();

interface Row {
  t: number;
  rssMb: number;
  heapMb: number;
  heapCommittedMb: number;
  externalMb: number;
  fds: number;
  eldP99Ms: number;
  latenessP99Ms: number;
  resultsPerS: number;
  outbox: number;
}
const rows: Row[] = [];
let lastRuns = 0;
let lastSampleAt = Date.now();
let lastBuckets: Map<number, number> | undefined;
const t0 = Date.now();

async function sample(): Promise<void> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  let runs = 0;
  for (const m of text.matchAll(/^flowprobe_probe_runs_total\{[^}]*\} ([\d.e+]+)$/gm)) runs += Number(m[1]);
  const buckets = new Map<number, number>();
  for (const m of text.matchAll(/^flowprobe_scheduler_lateness_seconds_bucket\{le="([^"]+)"[^}]*\} (\d+)$/gm)) buckets.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  const p99 = latenessP99(buckets, lastBuckets);
  lastBuckets = buckets;
  let outbox = 0;
  for (const m of text.matchAll(/^flowprobe_outbox_pending\{[^}]*\} (\d+)$/gm)) outbox += Number(m[1]);
  rows.push({
    t: Math.round((Date.now() - t0) / 1000),
    rssMb: value('process_resident_memory_bytes') / 1e6,
    heapMb: value('flowprobe_heap_used_bytes') / 1e6,
    heapCommittedMb: value('flowprobe_heap_committed_bytes') / 1e6,
    externalMb: value('flowprobe_external_memory_bytes') / 1e6,
    fds: value('process_open_fds'),
    eldP99Ms: value('flowprobe_event_loop_delay_p99_seconds') * 1000,
    latenessP99Ms: p99 * 1000,
    resultsPerS: rows.length === 0 ? 0 : (runs - lastRuns) / ((Date.now() - lastSampleAt) / 1000),
    outbox,
  });
  lastRuns = runs;
  lastSampleAt = Date.now();
}

/** p99 of the runs started since the previous sample, from cumulative histogram buckets. */
function latenessP99(now: Map<number, number>, before: Map<number, number> | undefined): number {
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const delta = bounds.map((le) => (now.get(le) ?? 0) - (before?.get(le) ?? 0));
  const total = delta[delta.length - 1] ?? 0;
  if (total === 0) return NaN;
  const index = delta.findIndex((count) => count >= 0.99 * total);
  return bounds[index] ?? NaN;
}

console.log(`soak: ${minutes} min; ${counts.http} http, ${counts.sse} sse ×${counts.sseClients} clients, ${counts.ws} websocket ×${counts.wsConnections} connections, ${counts.flows} flows at 1/s`);
const active = new Set<string>();
while (Date.now() - t0 < runMs) {
  const fraction = (Date.now() - t0) / runMs;
  const due = faults.filter((f) => fraction >= f.from && fraction < f.to);
  const wanted = new Set(due.map((f) => f.name));
  if ([...wanted].join() !== [...active].join()) {
    const merged = Object.assign({ stallStream: false, errorRate: 0, closeSockets: false }, ...due.map((f) => f.set));
    await setFaults(merged);
    for (const f of faults) if (wanted.has(f.name) !== active.has(f.name)) console.log(`  ${Math.round((Date.now() - t0) / 1000)}s ${wanted.has(f.name) ? 'fault on ' : 'fault off'}: ${f.name}`);
    active.clear();
    for (const name of wanted) active.add(name);
  }
  await sleep(1000);
  if (Date.now() - t0 >= (rows.length + 1) * SAMPLE_MS) await sample();
  if (heapSnapshots && !snapshotTaken && Date.now() - t0 >= runMs / 3) {
    snapshotTaken = true;
    await heapSnapshot();
  }
}
await setFaults({ stallStream: false, errorRate: 0, closeSockets: false });
await sleep(40_000); // let everything recover and every resolved go out
await sample();
if (heapSnapshots) await heapSnapshot();
daemon.kill('SIGTERM');
await new Promise((resolve) => daemon.once('exit', resolve));
demo.kill();
sink.close();

// Output: CSV, SVG, verdicts.
const out = path.join(ROOT, 'bench/out');
mkdirSync(out, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const columns = Object.keys(rows[0] ?? {}) as Array<keyof Row>;
writeFileSync(path.join(out, `soak-${stamp}.csv`), `${columns.join(',')}\n${rows.map((r) => columns.map((c) => r[c].toFixed(3)).join(',')).join('\n')}\n`);
writeFileSync(path.join(out, `soak-${stamp}.svg`), chart(rows));
console.log(table(rows.map((r) => ({ 't s': r.t, 'RSS MB': r.rssMb, 'heap MB': r.heapMb, 'heap committed MB': r.heapCommittedMb, 'external MB': r.externalMb, fds: r.fds, 'ELD p99 ms': r.eldP99Ms, 'lateness p99 ms': r.latenessP99Ms, 'results/s': r.resultsPerS, outbox: r.outbox }))));
console.log(`\nwrote bench/out/soak-${stamp}.csv and .svg`);

const tail = rows.slice(Math.floor(rows.length / 3));
/** Growth between the medians of the first and second half of the last two thirds: a leak
 * grows steadily; connections in flight at one sample are noise. */
const growth = (pick: (r: Row) => number) => {
  const median = (xs: Row[]) => {
    const sorted = xs.map(pick).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? NaN;
  };
  const half = Math.floor(tail.length / 2);
  return (median(tail.slice(half)) - median(tail.slice(0, half))) / median(tail.slice(0, half));
};
const trend = (pick: (r: Row) => number) => {
  const half = Math.floor(tail.length / 2);
  const mean = (xs: Row[]) => xs.map(pick).filter(Number.isFinite).reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return { early: mean(tail.slice(0, half)), late: mean(tail.slice(half)) };
};
const verdicts: Array<[string, boolean, string]> = [];
const rss = growth((r) => r.rssMb);
const fds = growth((r) => r.fds);
verdicts.push(['RSS flat over the last two thirds (median growth < 5 %)', rss < 0.05, `${(rss * 100).toFixed(1)} %`]);
verdicts.push(['open fds flat over the last two thirds (median growth < 5 %)', fds < 0.05, `${(fds * 100).toFixed(1)} %`]);
const lateness = trend((r) => r.latenessP99Ms);
verdicts.push(['scheduler lateness p99 not trending up', lateness.late <= Math.max(lateness.early * 1.5, lateness.early + 2), `${lateness.early.toFixed(2)} → ${lateness.late.toFixed(2)} ms`]);
const eld = trend((r) => r.eldP99Ms);
verdicts.push(['event-loop delay p99 not trending up', eld.late <= Math.max(eld.early * 1.5, eld.early + 5), `${eld.early.toFixed(1)} → ${eld.late.toFixed(1)} ms`]);
verdicts.push(['RSS under 1 GB throughout', rows.every((r) => r.rssMb < 1000), `max ${Math.max(...rows.map((r) => r.rssMb)).toFixed(0)} MB`]);
for (const [index, f] of faults.entries()) {
  const from = t0 + f.from * runMs;
  const to = t0 + f.to * runMs;
  // This fault's pages and all-clears are the ones before the next fault begins.
  const next = faults[index + 1];
  const until = next ? t0 + next.from * runMs : Number.POSITIVE_INFINITY;
  // Per affected probe: how often its alert newly appeared as firing (a group re-sends what is
  // still firing; that is not a second page), and how often it was resolved.
  const firstPage = new Map<string, number>();
  const newlyFiring = new Map<string, number>();
  const resolvedCount = new Map<string, number>();
  let previous = new Set<string>();
  for (const page of pages) {
    const firingNow = new Set(page.alerts.filter((a) => a.status === 'firing' && a.labels.group === f.expect).map((a) => a.labels.probe ?? ''));
    for (const probe of firingNow) {
      if (previous.has(probe) || page.at < from || page.at >= until) continue;
      newlyFiring.set(probe, (newlyFiring.get(probe) ?? 0) + 1);
      if (!firstPage.has(probe)) firstPage.set(probe, page.at);
    }
    for (const a of page.alerts) if (a.status === 'resolved' && a.labels.group === f.expect && page.at >= from && page.at < until) resolvedCount.set(a.labels.probe ?? '', (resolvedCount.get(a.labels.probe ?? '') ?? 0) + 1);
    previous = new Set([...previous, ...firingNow].filter((p) => !page.alerts.some((a) => a.status === 'resolved' && a.labels.probe === p)));
  }
  const affected = [...newlyFiring.keys()];
  const onceEach = affected.length > 0 && affected.every((p) => newlyFiring.get(p) === 1 && (resolvedCount.get(p) ?? 0) === 1);
  const pagedAt = Math.min(...firstPage.values());
  const clearedAt = Math.min(...pages.filter((p) => p.at >= to && p.at < until && p.alerts.some((a) => a.status === 'resolved' && a.labels.group === f.expect)).map((p) => p.at));
  const detect = Number.isFinite(pagedAt) ? `${((pagedAt - from) / 1000).toFixed(1)} s to page` : 'never paged';
  const recover = Number.isFinite(clearedAt) ? `${((clearedAt - to) / 1000).toFixed(1)} s to all-clear` : 'never cleared';
  verdicts.push([`fault "${f.name}": each ${f.expect} probe paged once, cleared once`, onceEach, `${affected.length} probe(s) paged, ${detect}, ${recover}`]);
}
verdicts.push(['nothing left in the outbox', (rows[rows.length - 1]?.outbox ?? 1) === 0, `${rows[rows.length - 1]?.outbox} pending`]);
console.log(`\n${table(verdicts.map(([bar, ok, seen]) => ({ verdict: ok ? 'PASS' : 'FAIL', bar, observed: seen })))}`);

function chart(data: Row[]): string {
  const series: Array<[keyof Row, string]> = [['rssMb', '#2e90fa'], ['heapMb', '#0e9384'], ['heapCommittedMb', '#099250'], ['externalMb', '#b54708'], ['fds', '#12b76a'], ['eldP99Ms', '#f79009'], ['latenessP99Ms', '#d92d20'], ['resultsPerS', '#7a5af8'], ['outbox', '#667085']];
  const W = 900;
  const H = 140;
  const maxT = Math.max(1, ...data.map((r) => r.t));
  const panels = series.map(([key, colour], i) => {
    const values = data.map((r) => r[key]).map((v) => (Number.isFinite(v) ? v : 0));
    const max = Math.max(1e-9, ...values);
    const points = data.map((r, j) => `${((r.t / maxT) * (W - 80) + 60).toFixed(1)},${(i * (H + 20) + 20 + H - ((values[j] ?? 0) / max) * H).toFixed(1)}`).join(' ');
    return `<text x="4" y="${i * (H + 20) + 16}" font-size="12" font-family="sans-serif">${key} (max ${max.toFixed(2)})</text><polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}"/><line x1="60" x2="${W - 20}" y1="${i * (H + 20) + 20 + H}" y2="${i * (H + 20) + 20 + H}" stroke="#d0d5dd"/>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${series.length * (H + 20) + 30}" viewBox="0 0 ${W} ${series.length * (H + 20) + 30}"><rect width="100%" height="100%" fill="white"/>${panels.join('')}<text x="${W / 2}" y="${series.length * (H + 20) + 20}" font-size="12" font-family="sans-serif">time (s, 0–${maxT})</text></svg>\n`;
}
