// test-runner: alone (it starts headless Chromium, which can starve a test file beside it)
// The status page in a real browser: the overview lists every probe; breaking the demo service
// turns that probe's row failed with no reload (the page is live over the daemon's SSE); the
// probe page shows the failing check's expected and observed; a body with <script> in it is
// shown as text and never runs; and nothing on the pages trips the content security policy.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startDemoService } from '../../src/demo/service.js';
import { launchChromium } from '../browser.js';
import { startDaemon } from '../daemon-harness.js';
import { httpServer } from '../servers.js';

const FAULT_TOKEN = 'browser-test-fault-token';

it('the status page lists every probe, goes red live when a fault is flipped, and shows observed text as text', { timeout: 90_000 }, async (t) => {
  const browser = await launchChromium(t);
  if (!browser) return;
  const demo = await startDemoService({ port: 0, jwtSecret: 'browser-test-jwt-secret-0123456789', faultToken: FAULT_TOKEN, tickMs: 0 });
  const body = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
  const hostile = await httpServer((_req, res) => res.end(body));
  const every = 'every: 500ms\ntimeout: 400ms\n';
  const h = await startDaemon('probesDir: probes\nlocation: browser-lab\ndetect: { failAfter: 2, recoverAfter: 1 }\n', {
    'dash.yaml': `name: dashboard\nkind: http\n${every}url: ${demo.url}/api/dashboard\n`,
    'ingest.yaml': `name: ingest\nkind: http\n${every}url: ${demo.url}/api/faults\n`,
    'hostile.yaml': `name: hostile\nkind: http\n${every}url: ${hostile.url}/\nexpect: { bodyContains: never-there }\n`,
  });
  const problems: string[] = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => void (message.type() === 'error' && problems.push(`console: ${message.text()}`)));
    page.on('dialog', (dialog) => (problems.push(`a dialog opened: ${dialog.message()}`), void dialog.dismiss()));

    await page.goto(`${h.base}/`);
    assert.deepEqual(await page.locator('#rows tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')).sort()), ['dashboard', 'hostile', 'ingest']);
    await page.locator('#live-status', { hasText: /^live$/ }).waitFor({ timeout: 10_000 });
    await page.locator('#row-dashboard[data-state="healthy"] .verdict-ok').waitFor({ timeout: 10_000 });
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    const put = await fetch(`${demo.url}/api/faults`, { method: 'PUT', headers: { authorization: `Bearer ${FAULT_TOKEN}` }, body: '{"errorRate":1}' });
    assert.equal(put.status, 200);
    const flipped = Date.now();
    // Detection: failAfter 2 × every 500 ms + timeout 400 ms, plus the page's 250 ms coalescing.
    await page.locator('#row-dashboard[data-state="failing"]').waitFor({ timeout: 15_000 });
    t.diagnostic(`row turned failing ${Date.now() - flipped} ms after the fault`);
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true, 'updated in place, not reloaded');
    const order = await page.locator('#rows tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')));
    assert.deepEqual(order, ['dashboard', 'hostile', 'ingest'], 'failing rows first, re-sorted in place');
    assert.match((await page.locator('#row-dashboard .headline').textContent()) ?? '', /status: expected 2xx, observed 503/);
    assert.match((await page.locator('#counts').textContent()) ?? '', /2 failing/);

    await page.click('a[href="/probes/dashboard"]');
    const failedCheck = page.locator('table.checks tr.check-failed');
    await failedCheck.waitFor();
    assert.deepEqual(await failedCheck.locator('td').allTextContents(), ['✘', 'status', '2xx', '503']);

    await page.goto(`${h.base}/probes/hostile`);
    const observed = await page.locator('table.checks tr.check-failed td').nth(3).textContent();
    assert.equal(observed, JSON.stringify(body), 'the observed excerpt, as text');
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined, 'the observed script never ran');
    assert.equal(await page.locator('main script, main img').count(), 0, 'no element was made of it');
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await h.daemon.stop();
    await demo.close();
    await hostile.close();
  }
});
