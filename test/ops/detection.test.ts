// test-runner: long (over a minute on purpose: started first, so it does not end the run alone)
// Detection as documented, on the real thing: the bundled config and probes against the demo
// service. A hard fault pages within 20 s (failAfter × every + timeout + group.wait = 19 s at
// worst), and the mend is all-cleared within 22 s (recoverAfter × every + timeout + flapWindow =
// 2 × 5 + 2 + 10 s at worst).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDemoService } from '../../src/demo/service.js';
import { startDaemon } from '../daemon-harness.js';
import { waitFor } from '../wait.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const JWT = 'detection-test-jwt-secret-0123456789';

it('the bundled defaults page within 20 s of a hard fault and all-clear within 22 s of the mend', { timeout: 180_000 }, async () => {
  const pages: Array<{ at: number; text: string }> = [];
  const demo = await startDemoService({ port: 0, jwtSecret: JWT, faultToken: 'detection-test-fault-token', onPage: (text) => pages.push({ at: Date.now(), text }) });
  const port = new URL(demo.url).port;
  const local = (text: string) => text.replaceAll('127.0.0.1:8787', `127.0.0.1:${port}`);
  const config = local(readFileSync(path.join(ROOT, 'config/flowprobe.yaml'), 'utf8')).replace(/^probesDir: .*$/m, 'probesDir: probes').replace(/^stateDir: .*$/m, 'stateDir: state');
  const probes = Object.fromEntries(readdirSync(path.join(ROOT, 'probes')).filter((f) => f.endsWith('.yaml')).map((f) => [f, local(readFileSync(path.join(ROOT, 'probes', f), 'utf8'))]));
  const h = await startDaemon(config, probes, { DEMO_JWT_SECRET: JWT });
  try {
    // Healthy first: the health probe has run and passed.
    await waitFor('demo-health ok', () => h.logs.some((l) => l.includes('"probe":"demo-health"') && l.includes('"verdict":"ok"')) || undefined, 20_000);
    const faultAt = Date.now();
    demo.setFaults({ errorRate: 1 });
    // errorRate breaks the dashboard API and ingest: demo-dashboard (every 5 s) pages first.
    const page = await waitFor('the page', () => pages.find((p) => p.at >= faultAt && p.text.includes('PAGED')), 30_000, 100);
    const probe = /PAGED: (\S+) \(/.exec(page.text)?.[1] ?? '';
    const toPage = (page.at - faultAt) / 1000;
    // A long outage, not a blip: the fault holds until the failure-ratio window (10 runs) is full
    // of failures, so the all-clear below is measured where it used to wait for that window to drain.
    const failedRuns = () => h.logs.filter((l) => l.includes('"probe":"demo-dashboard"') && l.includes('"verdict":"failed"')).length;
    await waitFor('10 failed runs of demo-dashboard', () => failedRuns() >= 10 || undefined, 90_000, 200);
    const mendAt = Date.now();
    demo.setFaults({ errorRate: 0 });
    const clear = await waitFor('the all clear', () => pages.find((p) => p.at >= mendAt && p.text.includes('all clear') && p.text.includes(`${probe} (`)), 30_000, 100);
    const toClear = (clear.at - mendAt) / 1000;
    console.log(`detection: paged ${toPage.toFixed(1)} s after the fault, all clear ${toClear.toFixed(1)} s after the mend`);
    assert.ok(toPage <= 20, `paged ${toPage.toFixed(1)} s after the fault`);
    assert.ok(toClear <= 22, `all clear ${toClear.toFixed(1)} s after the mend`);
    assert.equal(probe, 'demo-dashboard', page.text);
    assert.match(clear.text, /demo-dashboard \(http\) recovered after \d/);
  } finally {
    await h.daemon.stop();
    await demo.close();
  }
});
