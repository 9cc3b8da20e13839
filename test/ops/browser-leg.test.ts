// test-runner: alone (it starts headless Chromium, which can starve a test file beside it)
// A browser leg in a whole daemon: a flow over the demo service ends in its dashboard page. With
// the page stale (its API fresh), the probe turns failing by the browser leg, the screenshot is
// served and shown on the probe page; a daemon with no browser probe never starts Chromium, and
// a daemon's stop leaves no Chromium behind.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { chromiumChildren } from '../browser.js';
import { binaryForSuite } from '../binaries.js';
import { startDaemon } from '../daemon-harness.js';
import { webhookSink } from '../servers.js';
import { startDemoService } from '../../src/demo/service.js';
import { waitFor } from '../wait.js';

it('a flow ending in the page: stale UI fails it by name, with a screenshot; Chromium only when needed, and gone after stop', { timeout: 90_000 }, async (t) => {
  if (!binaryForSuite('chromium', 'chromium')) return t.skip('chromium is not installed');
  const demo = await startDemoService({ jwtSecret: 'browser-leg-secret-long-enough-0123456', faultToken: 'x', tickMs: 0, dashboardRefreshMs: 50 });
  // Without a browser probe: runs, and no Chromium.
  const plain = await startDaemon('probesDir: probes\n', { 'h.yaml': `name: health\nkind: http\nevery: 1s\ntimeout: 500ms\nurl: ${demo.url}/healthz\n` });
  try {
    await plain.logged((l) => l.probe === 'health' && l.msg === 'probe ok', 'a run of the plain probe');
    assert.deepEqual(chromiumChildren(), [], 'no Chromium for a daemon without browser probes');
  } finally {
    await plain.daemon.stop();
  }
  const flow = [
    'name: ui',
    'kind: flow',
    // A second of room past the leg's 1 s wait: the screenshot of a failed run is taken inside the
    // run's deadline, and on a busy machine a run that only just fits loses it (CI saw the page
    // go out without one).
    'every: 3s',
    'timeout: 2900ms',
    'steps:',
    `  - inject: { url: "${demo.url}/api/ingest", json: { marker: "{{run.id}}", value: 42 }, expect: { status: 202 } }`,
    `  - poll: { name: dashboard, url: "${demo.url}/api/dashboard", until: { "$.items[*].marker": "{{run.id}}" }, every: 50ms, within: 1s }`,
    `  - browser: { name: page, url: "${demo.url}/dashboard", ready: "#status[data-state=live]", waitFor: { selector: "[data-marker]", text: "{{run.id}}" }, within: 1s }`,
    '',
  ].join('\n');
  const sink = await webhookSink();
  const config = ['probesDir: probes', 'browser: { maxPages: 2 }', 'detect: { failAfter: 1 }', 'alerting:', '  externalUrl: https://flowprobe.example', `  receivers: [{ name: pager, webhook: { url: "${sink.url}/" } }]`, '  group: { wait: 10ms, interval: 50ms }', ''].join('\n');
  const h = await startDaemon(config, { 'ui.yaml': flow });
  try {
    // Healthy first: a first run cut short by Chromium's cold start on a busy machine turns the
    // probe failing (failAfter: 1) until it recovers, and that is not the failure looked for.
    await waitFor('a good run, and the probe healthy', async () => {
      const doc = JSON.parse((await h.get('/api/v1/status?probe=ui')).text) as { state: string; last?: { verdict: string } };
      return doc.last?.verdict === 'ok' && doc.state === 'healthy' ? true : undefined;
    }, 40_000, 100);
    demo.setFaults({ staleUi: true });
    const failing = await waitFor('failing by the browser leg', async () => {
      const doc = JSON.parse((await h.get('/api/v1/status?probe=ui')).text) as { state: string; last?: { verdict: string; headline?: string }; recent: Array<{ runId: string; verdict: string }> };
      return doc.state === 'failing' && doc.last?.verdict === 'failed' ? doc : undefined;
    }, 30_000, 200);
    assert.match(failing.last?.headline ?? '', /^leg page: marker not visible on the page within 1s of the injection, though the API showed it: the page is stale/);
    const shot = await fetch(`${h.base}/probes/ui/screenshot.jpg`);
    assert.equal(shot.status, 200);
    assert.equal(shot.headers.get('content-type'), 'image/jpeg');
    assert.equal(Buffer.from(await shot.arrayBuffer()).subarray(0, 2).toString('hex'), 'ffd8');
    const shotRun = shot.headers.get('x-flowprobe-run');
    const runs = (JSON.parse((await h.get('/api/v1/status?probe=ui')).text) as { recent: Array<{ runId: string; verdict: string }> }).recent;
    assert.equal(runs.find((r) => r.runId === shotRun)?.verdict, 'failed', 'the screenshot is of a failed run');
    assert.match((await h.get('/probes/ui')).text, /<img class="screenshot" src="\/probes\/ui\/screenshot\.jpg\?run=[^"]+" alt="the page of leg page/);
    assert.ok(chromiumChildren().length > 0, 'one Chromium while browser probes run');
    // The page goes with the page: the notification links to the screenshot.
    const paged = await waitFor('the notification', () => sink.bodies.map((b) => JSON.parse(b) as { alerts: Array<{ status: string; evidence: Record<string, unknown> }> }).flatMap((b) => b.alerts).find((a) => a.status === 'firing'), 20_000, 100);
    assert.equal(paged.evidence.screenshot, 'probes/ui/screenshot.jpg');
    const metrics = (await h.get('/metrics')).text;
    assert.match(metrics, /^flowprobe_browser_launches_total\{location="default"\} 1$/m, 'started once, at the daemon\'s start');
    assert.match(metrics, /^flowprobe_browser_crashes_total\{location="default"\} 0$/m);
    assert.match(metrics, /^flowprobe_browser_pages\{state="in_use",location="default"\} [01]$/m);
  } finally {
    await h.daemon.stop();
    await demo.close();
    await sink.close();
  }
  await waitFor('no Chromium left after the stop', () => (chromiumChildren().length === 0 ? true : undefined), 5_000, 50);
});
