#!/usr/bin/env node
// Regenerates the README's screenshots of the status page: runs `flowprobe demo`; drops the
// stream's events (dropRate 1) until the pipeline flow fails on its stream leg and captures that
// flow's page; breaks the dashboard API (errorRate 1) and captures the overview and the failing
// probe's page; mends it and captures the probe while it recovers. Headless Chromium (Debian's
// chromium package).
// Usage: npm run screenshots
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../dist/test/browser.js';
import { openStore } from '../dist/src/store/store.js';

const DAY = 86_400_000;

/** 89 days of made-up history for the demo's probes, written through the store itself, so the
 * pictures show what months of use look like (the demo has run for minutes; the README's
 * captions say the history is seeded). A run every 10 minutes; demo-dashboard has three
 * incidents and a slow week, demo-pipeline one incident. Deterministic. */
async function seedHistory(stateDir) {
  const names = ['demo-pipeline', 'demo-health', 'demo-dashboard', 'demo-ingest', 'demo-stream', 'demo-stream-resume', 'demo-tcp', 'demo-alerts', 'demo-alerts-load', 'demo-ui'];
  const today = Math.floor(Date.now() / DAY) * DAY;
  let now = today - 89 * DAY;
  const clock = { now: () => now, setTimer: () => ({ cancel() {} }) };
  const keep = { runsMs: 7 * DAY, hourlyMs: 90 * DAY, dailyMs: 400 * DAY, incidentsMs: 400 * DAY };
  const { store } = await openStore({ target: { engine: 'sqlite', file: path.join(stateDir, 'history.db') }, location: 'local', shard: '0/1', keep, clock, owns: () => true, onWrite: (err) => err && console.error(err) });
  // [probe, first failing minute from the start of the seeded span, minutes failing, cause]
  const outages = [
    ['demo-dashboard', 20 * 1440 + 600, 40, 'status: expected 2xx, observed 503'],
    ['demo-dashboard', 61 * 1440 + 900, 130, 'no response headers after 2s'],
    ['demo-dashboard', 84 * 1440 + 300, 20, 'status: expected 2xx, observed 500'],
    ['demo-pipeline', 47 * 1440 + 120, 60, 'leg stream: the marker never arrived within 2s'],
  ];
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let minute = 0; now + 10 * 60_000 < today; minute += 10, now += 10 * 60_000) {
    for (const [i, probe] of names.entries()) {
      const outage = outages.find(([name, from, length]) => name === probe && minute >= from && minute < from + length);
      const slow = probe === 'demo-dashboard' && minute >= 70 * 1440 && minute < 77 * 1440 ? 3 : 1;
      const figure = (probe === 'demo-pipeline' ? 60 : 4 + i) * slow * (0.8 + random() * 0.6);
      store.add({ probe, kind: probe === 'demo-pipeline' ? 'flow' : 'http', at: now + i, verdict: outage ? 'failed' : 'ok', figure: outage ? undefined : figure, headline: outage?.[3], phases: {} });
      for (const [name, from, length] of outages) {
        if (name !== probe) continue;
        const transition = (to, reason, durationMs) => store.transition({ probe, from: to === 'failing' ? 'healthy' : 'failing', to, reason, at: now, evidence: {}, outage: { startedAt: today - 89 * DAY + from * 60_000, endedAt: undefined, durationMs, spanMs: durationMs, periods: 1, overdue: false } });
        if (minute === from + 10) transition('failing', 'consecutive-failures', 10 * 60_000);
        if (minute === from + length + 10) transition('healthy', 'recovered', length * 60_000);
        if (minute === from + length + 20) transition('healthy', 'incident-closed', length * 60_000);
      }
    }
    if (minute % 1440 === 0) await store.flush();
  }
  await store.close();
}

const TOKEN = 'screenshots-fault-token';
// A fresh state directory: no outage remembered from an earlier demo. The demo service on its
// usual port 8787, where the bundled probes look for it.
const state = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-screenshots-'));
await seedHistory(state);
const child = spawn(process.execPath, ['dist/src/main.js', 'demo', '--state', state, '--listen', '127.0.0.1:0'], { env: { ...process.env, DEMO_FAULT_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (chunk) => (out += chunk));

async function until(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`screenshots: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
try {
  const page = await until('the demo banner', () => /open the status page: (http:\/\/[^/\s]+)\//.exec(out)?.[1]);
  const service = /it probes a demo service on (http:\/\/[^\s]+) /.exec(out)?.[1];
  const status = async () => (await (await fetch(`${page}/api/v1/status`)).json()).probes;
  await until('every probe to have run twice', async () => (await status()).every((p) => p.main.recent.length >= 2));
  const fault = (body) => fetch(`${service}/api/faults`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  const probeDoc = async (name) => (await fetch(`${page}/api/v1/status?probe=${name}`)).json();
  const tab = await browser.newPage({ viewport: { width: 1280, height: 640 } });

  // A flow that failed on a leg: the failing hop first, no end-to-end figure.
  await fault({ dropRate: 1 });
  await until('demo-pipeline failing on its stream leg', async () => (await probeDoc('demo-pipeline')).last?.checks?.[0]?.name === 'leg stream');
  await tab.goto(`${page}/probes/demo-pipeline`);
  await tab.screenshot({ path: 'docs/screenshots/flow.png', fullPage: true });
  await fault({ dropRate: 0 });

  await fault({ errorRate: 1 });
  await until('demo-dashboard failing', async () => (await status()).find((p) => p.name === 'demo-dashboard')?.state === 'failing');
  await tab.goto(`${page}/`);
  await tab.locator('#live-status', { hasText: 'live' }).waitFor();
  await tab.screenshot({ path: 'docs/screenshots/overview.png', fullPage: true });
  await tab.goto(`${page}/probes/demo-dashboard`);
  await tab.screenshot({ path: 'docs/screenshots/probe.png', fullPage: true });

  // Mended: the page says it is recovering, with how many good runs it has.
  await fault({ errorRate: 0 });
  await until('demo-dashboard recovering', async () => (await status()).find((p) => p.name === 'demo-dashboard')?.recovering);
  await tab.goto(`${page}/probes/demo-dashboard`);
  await tab.screenshot({ path: 'docs/screenshots/recovering.png', fullPage: true });
  await tab.goto(`${page}/incidents`);
  await tab.screenshot({ path: 'docs/screenshots/incidents.png', fullPage: true });
  await tab.goto(`${page}/badges/demo-dashboard/uptime.svg?window=30d`);
  await tab.locator('svg').screenshot({ path: 'docs/screenshots/badge.png' });

  // The page itself stale while its API is fresh: the browser leg fails, with its screenshot.
  await fault({ staleUi: true });
  await until('demo-ui failing on its browser leg', async () => /the page is stale/.test((await probeDoc('demo-ui')).last?.headline ?? ''));
  await tab.goto(`${page}/probes/demo-ui`);
  await tab.locator('img.screenshot').waitFor();
  await tab.screenshot({ path: 'docs/screenshots/browser-leg.png', fullPage: true });
  await fault({ staleUi: false });
  console.log('screenshots: wrote docs/screenshots/{overview,probe,flow,recovering,incidents,badge,browser-leg}.png');
} finally {
  await browser.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
  rmSync(state, { recursive: true, force: true });
}
