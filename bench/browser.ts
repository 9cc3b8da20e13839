// What a browser run costs and how many one daemon holds: browser probes (load a page, wait for
// its heading, read the Web Vitals) run back to back with `pages` at once for `seconds`, through
// flowprobe's prober and shared Chromium; then the same work by a bare playwright-core script
// (launch once; per run a new context, a page, goto, waitFor, close) in the same run. CPU is
// this process plus every Chromium process it started; memory is their PSS at the end (shared
// pages counted once).
//   node dist/bench/browser.js [--seconds 20] [--pages 4]
import { readdirSync, readFileSync } from 'node:fs';
import { chromium as playwright } from 'playwright-core';
import { specOf } from '../test/probe-spec.js';
import { httpServer } from '../test/servers.js';
import { createRedactor } from '../src/logging/redact.js';
import { CHROMIUM_FLAGS, Chromium } from '../src/probers/chromium.js';
import { runProbe } from '../src/probers/run-probe.js';
import { arg, percentile, table } from './lib.js';

const seconds = arg('seconds', 20);
const pages = arg('pages', 4);
const CLOCK_TICKS = 100;
const EXECUTABLE = '/usr/bin/chromium';

const PAGE = '<!doctype html><html><head><link rel="icon" href="data:,"><title>bench</title></head><body><h1 id="title">Revenue today</h1><ul>' + Array.from({ length: 50 }, (_, i) => `<li>row ${i}</li>`).join('') + '</ul><script>document.getElementById("title").dataset.ready = "1";</script></body></html>';

/** This process's descendants (Chromium and its helpers). */
function descendants(): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, ppid] of parent) if (ppid === pid) (out.push(child), walk(child));
  };
  walk(process.pid);
  return out;
}

function processCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Proportional set size: each shared page counted once across the processes sharing it (RSS
 * summed over Chromium's processes counts its shared libraries once per process). */
function processPss(pid: number | 'self'): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Runs `once` with `pages` at a time until `seconds` pass; CPU and memory as described above. */
async function measure(name: string, once: () => Promise<boolean>) {
  const cpuBefore = process.cpuUsage();
  const browserCpuBefore = descendants().reduce((n, pid) => n + processCpu(pid), 0);
  const latencies: number[] = [];
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: pages }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        if (await once()) latencies.push(performance.now() - started);
        else failed++;
      }
    }),
  );
  const own = process.cpuUsage(cpuBefore);
  const kids = descendants();
  const browserCpu = kids.reduce((n, pid) => n + processCpu(pid), 0) - browserCpuBefore;
  const pss = processPss('self') + kids.reduce((n, pid) => n + processPss(pid), 0);
  const runs = latencies.length;
  const nodeCpu = (own.user + own.system) / 1e6;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    path: name,
    runs,
    failed,
    'runs/min': Math.round((runs / seconds) * 60),
    'p50 ms': percentile(sorted, 50),
    'p95 ms': percentile(sorted, 95),
    'node CPU ms/run': runs ? (nodeCpu * 1000) / runs : 0,
    'chromium CPU ms/run': runs ? (browserCpu * 1000) / runs : 0,
    'cores busy': (nodeCpu + browserCpu) / seconds,
    'PSS MB (Node + Chromium)': pss / 1e6,
  };
}

const site = await httpServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end(PAGE);
});
console.log(`browser runs: ${pages} at a time for ${seconds}s each, a 50-row page on loopback; Chromium ${EXECUTABLE}; Node ${process.version}`);
const rows = [];
try {
  // flowprobe: the prober, through the shared Chromium (started before the clock runs).
  const shared = new Chromium({ maxPages: pages, executable: EXECUTABLE });
  shared.warm();
  const spec = specOf('browser', { url: `${site.url}/`, waitFor: { selector: '#title[data-ready]' }, expect: { consoleErrors: 0 } }, 10_000);
  const redact = createRedactor([]);
  let n = 0;
  const viaProber = async () => {
    const now = Date.now();
    const r = await runProbe(spec, { signal: AbortSignal.timeout(10_000), runId: `bench-${n++}`, redact, browser: () => shared }, { slot: now, startedAt: now });
    return r.ok;
  };
  await viaProber(); // the launch, outside the measurement
  rows.push(await measure('flowprobe browser probe (shared Chromium)', viaProber));
  await shared.close();

  // The baseline: playwright-core alone, the same work per run.
  const browser = await playwright.launch({ executablePath: EXECUTABLE, args: CHROMIUM_FLAGS });
  const bare = async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${site.url}/`, { waitUntil: 'load', timeout: 10_000 });
      await page.locator('#title[data-ready]').waitFor({ state: 'visible', timeout: 10_000 });
      return true;
    } catch {
      return false;
    } finally {
      await context.close();
    }
  };
  await bare();
  rows.push(await measure('bare playwright-core script (baseline)', bare));
  await browser.close();
} finally {
  await site.close();
}
console.log(table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(2)) : v])))));
