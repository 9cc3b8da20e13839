// The status page's weight and its life in a browser tab: the overview's and a probe page's
// bytes with 100 probes, then the overview open in headless Chromium (Debian's chromium) while
// the probes flap, sampling the tab's JS heap and DOM size. Live updates must not grow the tab.
//   npm run bench:page -- --minutes 10 --probes 100
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/browser.js';
import { startDaemon } from '../test/daemon-harness.js';
import { arg, table } from './lib.js';

const minutes = arg('minutes', 10);
const probes = arg('probes', 100);

// A target where probe n fails for 20 s of every 60 s, on its own phase: rows keep changing.
const server = http.createServer((req, res) => {
  const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'));
  res.writeHead((Date.now() / 1000 + n * 7) % 60 < 20 ? 503 : 200).end('ok');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const files = Object.fromEntries(Array.from({ length: probes }, (_, i) => [`p${i}.yaml`, `name: probe-${String(i).padStart(3, '0')}\nkind: http\nevery: 2s\ntimeout: 1s\nurl: ${url}?n=${i}\nlabels: { team: t${i % 5} }\n`]));
const h = await startDaemon('probesDir: probes\ndetect: { failAfter: 1, recoverAfter: 1 }\nhistory: { recent: 20, failures: 50 }\nlog: { level: warn }\n', files);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
try {
  // Let every probe build its history (20 recent runs = 40 s) before weighing the pages.
  await new Promise((resolve) => setTimeout(resolve, 45_000));
  const overview = Buffer.byteLength((await h.get('/')).text);
  const probePage = Buffer.byteLength((await h.get('/probes/probe-000')).text);
  const summary = Buffer.byteLength((await h.get('/api/v1/status')).text);
  console.log(
    table([
      { page: `overview, ${probes} probes`, bytes: overview, 'per probe': Math.round(overview / probes) },
      { page: 'one probe page (20 recent runs)', bytes: probePage, 'per probe': '-' },
      { page: '/api/v1/status summary', bytes: summary, 'per probe': Math.round(summary / probes) },
    ]),
  );

  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${h.base}/`);
  await page.locator('#live-status', { hasText: 'live' }).waitFor();
  const sample = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const get = (name: string) => metrics.find((m) => m.name === name)?.value ?? 0;
    return { heapMb: get('JSHeapUsedSize') / 1024 / 1024, nodes: get('Nodes'), listeners: get('JSEventListeners') };
  };
  let patches = 0;
  page.on('console', () => undefined);
  await page.exposeFunction('countPatch', () => patches++);
  await page.evaluate(() => {
    const source = new EventSource('/events?page=overview');
    source.addEventListener('patch', () => (window as unknown as { countPatch: () => void }).countPatch());
  });
  const rows: Array<Record<string, string | number>> = [];
  const start = Date.now();
  const first = await sample();
  const row = (at: string, s: typeof first) => ({ 'tab open': at, 'JS heap MB (after GC)': s.heapMb.toFixed(2), 'DOM nodes': s.nodes, listeners: s.listeners, 'patches seen (2nd stream)': patches });
  rows.push(row('0:00', first));
  for (let m = 1; m <= minutes; m++) {
    await new Promise((resolve) => setTimeout(resolve, start + m * 60_000 - Date.now()));
    const s = await sample();
    rows.push(row(`${m}:00`, s));
  }
  console.log(table(rows));
  const last = rows[rows.length - 1] ?? {};
  console.log(`heap ${first.heapMb.toFixed(2)} → ${last['JS heap MB (after GC)']} MB, DOM nodes ${first.nodes} → ${last['DOM nodes']} over ${minutes} min with ${probes} flapping probes`);
} finally {
  await browser.close();
  await h.daemon.stop();
  server.close();
}
