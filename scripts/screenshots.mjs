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

const TOKEN = 'screenshots-fault-token';
// A fresh state directory: no outage remembered from an earlier demo. The demo service on its
// usual port 8787, where the bundled probes look for it.
const state = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-screenshots-'));
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
  console.log('screenshots: wrote docs/screenshots/{overview,probe,flow,recovering}.png');
} finally {
  await browser.close();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
  rmSync(state, { recursive: true, force: true });
}
