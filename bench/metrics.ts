// /metrics at scale: exposition size (bytes per probe), scrape time, and whether scraping
// delays probing, for a daemon with N HTTP probes that have all run, at 100 and 1,000 probes.
// The anchor in the same run: the same daemon with no probes (the fixed part of the page).
//   node dist/bench/metrics.js [--probes 1000] [--scrapes 10]
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMetrics, exposition } from '../src/metrics/metrics.js';
import { KINDS } from '../src/probers/kinds.js';
import { arg, DAEMON_NODE_FLAGS, freePort, sleep, startChild, stopChild, summarize, table, waitForHttp } from './lib.js';

const largest = arg('probes', 1000);
const scrapes = arg('scrapes', 10);
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

async function startTarget(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const child = fork(fileURLToPath(new URL('./target-server.js', import.meta.url)), [String(port)], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('message', resolve));
  return { url: `http://127.0.0.1:${port}/`, stop: () => child.kill() };
}

/** Sum of a counter's series in an exposition. */
function sumOf(text: string, prefix: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(prefix)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** The late fraction of runs from the lateness histogram: runs that started > 5 ms late. */
function lateRuns(text: string): { runs: number; over5ms: number } {
  const bucket = (le: string) => sumOf(text, `flowprobe_scheduler_lateness_seconds_bucket{le="${le}"`);
  const runs = sumOf(text, 'flowprobe_scheduler_lateness_seconds_count');
  return { runs, over5ms: runs - bucket('0.005') };
}

async function measure(probes: number, targetUrl: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-bench-metrics-'));
  mkdirSync(path.join(dir, 'probes'));
  writeFileSync(path.join(dir, 'flowprobe.yaml'), 'probesDir: probes\nscheduler: { maxConcurrent: 256 }\n');
  // Every probe every 5 s: 1,000 probes are 200 runs/s, each has run before we scrape.
  const list = Array.from({ length: probes }, (_, i) => `- name: checkout-api-${i}\n  kind: http\n  every: 5s\n  timeout: 2s\n  url: ${targetUrl}\n  expect: { status: 200 }\n`);
  if (probes > 0) writeFileSync(path.join(dir, 'probes', 'bench.yaml'), list.join(''));
  const port = await freePort();
  const daemon = startChild(process.execPath, [...DAEMON_NODE_FLAGS, MAIN, 'run', '--config', path.join(dir, 'flowprobe.yaml'), '--listen', `127.0.0.1:${port}`]);
  const url = `http://127.0.0.1:${port}/metrics`;
  try {
    await waitForHttp(url);
    // Until every probe has finished a run (bounded: 30 s).
    const until = Date.now() + 30_000;
    while (probes > 0 && Date.now() < until && sumOf(await (await fetch(url)).text(), 'flowprobe_probe_last_run_timestamp_seconds{') === 0) await sleep(500);
    await sleep(6000);
    // Probing with no scrape, then probing while scraping once a second.
    const quiet0 = lateRuns(await (await fetch(url)).text());
    await sleep(scrapes * 1000);
    const quiet1 = lateRuns(await (await fetch(url)).text());
    const times: number[] = [];
    let bytes = 0;
    let text = '';
    for (let i = 0; i < scrapes; i++) {
      const started = performance.now();
      text = await (await fetch(url)).text();
      times.push(performance.now() - started);
      bytes = Buffer.byteLength(text);
      await sleep(Math.max(0, 1000 - (performance.now() - started)));
    }
    const busy1 = lateRuns(text);
    const scraping = { runs: busy1.runs - quiet1.runs, over5ms: busy1.over5ms - quiet1.over5ms };
    const quiet = { runs: quiet1.runs - quiet0.runs, over5ms: quiet1.over5ms - quiet0.over5ms };
    const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
    const s = summarize(times);
    return { probes, bytes, series, p50: s.p50, max: s.max, quietLate: quiet.over5ms / Math.max(1, quiet.runs), scrapingLate: scraping.over5ms / Math.max(1, scraping.runs) };
  } finally {
    await stopChild(daemon);
  }
}

/** The exposition of N HTTP probes that have each run three times, formatted in this process
 * alone: what a scrape costs without probing in between. */
async function formattingAlone(probes: number) {
  const metrics = createMetrics({ location: 'default', version: 'bench', schedulerState: () => ({ inFlight: 0, queued: 0 }), probeStates: () => names.map((probe) => ({ probe, health: 'healthy' as const, outageStartedAt: undefined, baselineMs: undefined })), resources: () => [], alerting: () => ({ receivers: [], firing: 0 }), now: () => Date.now() });
  const names = Array.from({ length: probes }, (_, i) => `checkout-api-${i}`);
  await metrics.declareProbes(names.map((name) => ({ name, kind: 'http' as const })));
  for (let run = 0; run < 3; run++) {
    for (const probe of names) metrics.recordResult({ probe, kind: 'http', runId: 'bench', slot: 0, startedAt: Date.now(), durationMs: 12.3, phases: { dns: 0.2, connect: 0.4, first_byte: 3 }, checks: [], detail: KINDS.http.emptyDetail({} as never), ok: true, verdict: 'ok' });
  }
  await exposition(metrics.registry); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    await exposition(metrics.registry);
    times.push(performance.now() - started);
  }
  return summarize(times);
}

console.log(`/metrics at scale: HTTP probes every 5 s against a local target, ${scrapes} scrapes a second apart, Node ${process.version}`);
const target = await startTarget();
try {
  const rows = [];
  for (const probes of [0, 100, largest]) rows.push(await measure(probes, target.url));
  const fixed = rows[0] as (typeof rows)[number];
  console.log(
    table(
      rows.map((r) => ({
        probes: r.probes,
        'bytes': r.bytes,
        'series': r.series,
        'bytes/probe': r.probes ? Math.round((r.bytes - fixed.bytes) / r.probes) : 0,
        'series/probe': r.probes ? Math.round((r.series - fixed.series) / r.probes) : 0,
        'scrape p50 ms': r.p50,
        'scrape max ms': r.max,
        'runs >5ms late, not scraping': `${(100 * r.quietLate).toFixed(2)} %`,
        'scraping': `${(100 * r.scrapingLate).toFixed(2)} %`,
      })),
    ),
  );
  const formatting = await formattingAlone(largest);
  console.log(`\nthe same ${largest} probes' page formatted in-process with nothing else running: p50 ${formatting.p50.toFixed(1)} ms, max ${formatting.max.toFixed(1)} ms (${formatting.n} times)`);
  console.log(`goal at ${largest} probes: < 2 MB, < 100 ms a scrape, probing unaffected (late runs while scraping ≈ not scraping)`);
} finally {
  target.stop();
}
