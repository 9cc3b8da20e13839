// test-runner: alone (it starts headless Chromium, which can starve a test file beside it)
// The browser kind in a real headless Chromium, against pages a local server serves: the Web
// Vitals the browser gives (first byte, LCP, CLS) beside their limits, console errors and failed
// requests counted and judged, a selector that never shows (failed, with a screenshot).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { binaryForSuite } from '../../../test/binaries.js';
import { specOf } from '../../../test/probe-spec.js';
import { closedPort, httpServer, type Running } from '../../../test/servers.js';
import { createRedactor } from '../../logging/redact.js';
import { Chromium } from '../chromium.js';
import { runProbe } from '../run-probe.js';
import type { ProbeResult, Screenshot } from '../types.js';
import type { BrowserDetail } from './kind.js';

const headline = (r: ProbeResult) => (r.ok ? r.verdict : `${r.failure.code}: ${r.failure.message}`);
const detail = (r: ProbeResult) => r.detail as BrowserDetail;

const PAGES: Record<string, string> = {
  '/': '<!doctype html><html><head><link rel="icon" href="data:,"><title>ok</title></head><body><h1 id="title">Revenue today</h1><p>All good.</p></body></html>',
  // Content pushed down 300 ms after load, by no input: a layout shift.
  '/shift': '<!doctype html><html><head><link rel="icon" href="data:,"></head><body><p id="text">Some text that will move when the banner arrives.</p><script>setTimeout(() => { const d = document.createElement("div"); d.style.height = "400px"; d.textContent = "late banner"; document.body.prepend(d); }, 300);</script></body></html>',
  // A range picker: what is chosen shows in #shown.
  '/range': '<!doctype html><html><head><link rel="icon" href="data:,"></head><body><select id="range"><option value="1m">1 minute</option><option value="5m">5 minutes</option></select><p id="shown">1m</p><script>document.getElementById("range").addEventListener("change", (e) => { document.getElementById("shown").textContent = e.target.value; });</script></body></html>',
  '/errors': '<!doctype html><html><head><link rel="icon" href="data:,"></head><body><h1>Broken</h1><script>console.error("chart failed: no data"); fetch("/missing.json");</script></body></html>',
};

describe('browser probes, in headless Chromium', () => {
  let site: Running;
  let chromium: Chromium | undefined;
  const shots: Screenshot[] = [];
  const probe = (fields: Record<string, unknown>, timeoutMs = 8_000): Promise<ProbeResult> => {
    const spec = specOf('browser', fields, timeoutMs);
    const now = Date.now();
    return runProbe(spec, { signal: AbortSignal.timeout(timeoutMs), runId: `page-${now}`, redact: createRedactor([]), browser: () => chromium as Chromium, screenshot: (s) => shots.push(s) }, { slot: now, startedAt: now });
  };

  before(async () => {
    const executable = binaryForSuite('chromium', 'chromium');
    site = await httpServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      // A logged-in page: only with the bearer token and the session cookie.
      if (path === '/private') {
        const authorized = req.headers.authorization === 'Bearer page-token-0123' && /(^|; )session=s3ss10n($|;)/.test(req.headers.cookie ?? '');
        res.writeHead(authorized ? 200 : 401, { 'content-type': 'text/html' });
        return void res.end(authorized ? '<!doctype html><link rel="icon" href="data:,"><h1 id="who">Signed in</h1>' : '<!doctype html><link rel="icon" href="data:,"><h1>Sign in</h1>');
      }
      const delay = path === '/slow' ? 300 : 0;
      setTimeout(() => {
        const body = PAGES[path === '/slow' ? '/' : path];
        res.writeHead(body ? 200 : 404, { 'content-type': body ? 'text/html' : 'application/json' });
        res.end(body ?? '{"error":"not found"}');
      }, delay);
    });
    if (executable) chromium = new Chromium({ maxPages: 2, executable });
  });
  after(async () => {
    await chromium?.close();
    await site?.close();
  });

  it('loads a page and reports what the browser measured, within its limits', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const r = await probe({ url: `${site.url}/`, waitFor: { selector: '#title', text: 'Revenue' }, expect: { pageLoad: '5s', lcp: '5s', cls: 0.1, consoleErrors: 0, failedRequests: 0 } });
    assert.equal(headline(r), 'ok', JSON.stringify(r.checks));
    const d = detail(r);
    assert.ok((d.page?.loadMs as number) > 0 && (d.ttfbMs as number) >= 0 && (d.lcpMs as number) > 0, JSON.stringify(d));
    assert.equal(d.cls, 0, 'nothing moved');
    assert.equal(r.phases.first_byte, d.ttfbMs, 'the first byte is its phase too');
  });

  it('degrades a slow first byte and fails a layout that shifts, each by its figure', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const slow = await probe({ url: `${site.url}/slow`, degradeWhen: { ttfb: '100ms' } });
    assert.equal(slow.verdict, 'degraded', headline(slow));
    assert.match(slow.ok && slow.verdict === 'degraded' ? slow.degradation : '', /^first byte \d+(\.\d+)?ms, over its degrade limit: expected <= 100ms/);
    const shifting = await probe({ url: `${site.url}/shift`, waitFor: { selector: 'div', text: 'late banner' }, expect: { cls: 0.05 } });
    assert.match(headline(shifting), /^assertion: cumulative layout shift: expected <= 0.05, observed 0\.\d{3}/);
    assert.ok((detail(shifting).cls as number) > 0.05);
  });

  it('counts console errors and failed requests, and fails on them when limited', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const counted = await probe({ url: `${site.url}/errors` });
    assert.equal(headline(counted), 'ok', 'counted, not judged, without limits');
    assert.deepEqual(detail(counted).page?.consoleErrors[0], 'chart failed: no data');
    const judged = await probe({ url: `${site.url}/errors`, waitFor: { selector: 'h1' }, expect: { failedRequests: 0 } });
    assert.match(headline(judged), /^assertion: 1 failed request\(s\) on the page > 0: GET http:\/\/127\.0\.0\.1:\d+\/missing\.json: status 404$/);
    assert.equal(shots.at(-1)?.jpeg.subarray(0, 2).toString('hex'), 'ffd8', 'a failed page keeps its screenshot');
  });

  it('sends the headers and cookies it is given: a logged-in page', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const anonymous = await probe({ url: `${site.url}/private`, waitFor: { selector: '#who', within: '500ms' }, expect: { failedRequests: 0 } });
    assert.match(headline(anonymous), /not visible on the page|failed request/);
    const signedIn = await probe({ url: `${site.url}/private`, headers: { authorization: 'Bearer page-token-0123' }, cookies: { session: 's3ss10n' }, waitFor: { selector: '#who', text: 'Signed in' }, expect: { failedRequests: 0 } });
    assert.equal(headline(signedIn), 'ok');
  });

  it('chooses an option as a user would', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const r = await probe({ url: `${site.url}/range`, actions: [{ select: { '#range': '5m' } }], waitFor: { selector: '#shown', text: '5m', within: '1s' } });
    assert.equal(headline(r), 'ok');
  });

  it('holds at most maxPages pages at once; the next run waits its turn, and is counted', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const one = new Chromium({ maxPages: 1, executable: binaryForSuite('chromium', 'chromium') });
    try {
      const spec = specOf('browser', { url: `${site.url}/slow`, waitFor: { selector: '#title' } }, 8_000);
      const run = (id: string) => runProbe(spec, { signal: AbortSignal.timeout(8_000), runId: id, redact: createRedactor([]), browser: () => one }, { slot: Date.now(), startedAt: Date.now() });
      const both = Promise.all([run('a'), run('b')]);
      const seen = await new Promise<number>((resolve) => {
        const poll = setInterval(() => one.runsWaiting > 0 && (clearInterval(poll), resolve(one.pagesInUse)), 5);
      });
      assert.equal(seen, 1, 'one page in use while the other run waits');
      const results = await both;
      assert.deepEqual(results.map(headline), ['ok', 'ok']);
      assert.equal(one.queuedTotal, 1);
    } finally {
      await one.close();
    }
  });

  it('fails a page where what should show never does', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const r = await probe({ url: `${site.url}/`, waitFor: { selector: '#title', text: 'Profit', within: '500ms' } });
    assert.equal(headline(r), 'assertion: #title showing "Profit" not visible on the page within 500ms of its load');
    const port = await closedPort();
    const gone = await probe({ url: `http://127.0.0.1:${port}/` });
    assert.equal(headline(gone), `connect: loaded http://127.0.0.1:${port}/: connection refused`);
  });
});
