// test-runner: alone (it starts headless Chromium, which can starve a test file beside it)
// The browser leg of a flow, in a real headless Chromium against the demo's dashboard page: the
// marker shown in time (ok), late (degraded, screenshot), never (failed, screenshot), a page
// whose API is fresh but whose UI is stale (failed, named), the wrong value shown, a console
// error, a user filtering the page first, and Chromium killed in the middle of a run (failed by
// name, started again for the next run).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { binaryForSuite } from '../../../test/binaries.js';
import { chromiumChildren } from '../../../test/browser.js';
import { flowSpec } from '../../../test/probe-spec.js';
import { NO_FAULTS, startDemoService, type DemoService } from '../../demo/service.js';
import { createRedactor } from '../../logging/redact.js';
import { Chromium } from '../chromium.js';
import { runProbe } from '../run-probe.js';
import type { ProbeResult, Screenshot } from '../types.js';
import type { FlowDetail } from './kind.js';

const headline = (r: ProbeResult) => (r.ok ? r.verdict : `${r.failure.code}: ${r.failure.message}`);
const flow = (r: ProbeResult) => r.detail as FlowDetail;

describe('flow: the browser leg, in headless Chromium', () => {
  let demo: DemoService;
  let chromium: Chromium | undefined;
  const shots: Screenshot[] = [];
  let runs = 0;
  const probe = (browser: Record<string, unknown> = {}, extra: { poll?: boolean; limits?: Record<string, unknown>; timeoutMs?: number } = {}): Promise<ProbeResult> => {
    const spec = flowSpec(
      {
        steps: [
          { inject: { url: `${demo.url}/api/ingest`, json: { marker: '{{run.id}}', value: 42 }, expect: { status: 202 } } },
          ...(extra.poll ? [{ poll: { name: 'dashboard', url: `${demo.url}/api/dashboard`, until: { '$.items[*].marker': '{{run.id}}' }, every: '20ms', within: '1s' } }] : []),
          { browser: { name: 'ui', url: `${demo.url}/dashboard`, ready: '#status[data-state=live]', waitFor: { selector: '[data-marker]', text: '{{run.id}}' }, within: '1500ms', ...browser } },
        ],
        ...extra.limits,
      },
      extra.timeoutMs ?? 8_000,
    );
    const now = Date.now();
    return runProbe(spec, { signal: AbortSignal.timeout(extra.timeoutMs ?? 8_000), runId: `ui-run-${++runs}-${now}`, redact: createRedactor([]), browser: () => chromium as Chromium, screenshot: (shot) => shots.push(shot) }, { slot: now, startedAt: now });
  };

  before(async () => {
    const executable = binaryForSuite('chromium', 'chromium');
    demo = await startDemoService({ jwtSecret: 'browser-test-secret-long-enough-0123', faultToken: 'x', tickMs: 0, dashboardRefreshMs: 20 });
    if (executable) chromium = new Chromium({ maxPages: 2, executable });
  });
  after(async () => {
    await chromium?.close();
    await demo?.close();
  });
  beforeEach(() => {
    demo.setFaults(structuredClone(NO_FAULTS));
    shots.length = 0;
  });

  it('times the marker from the injection to visible on the page, page load apart', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const r = await probe({ expect: { text: { '[data-value]': '42' }, consoleErrors: 0 } });
    assert.equal(headline(r), 'ok');
    const d = flow(r);
    assert.ok((d.legs.ui as number) >= 0 && (d.legs.ui as number) < 1500, `leg ui ${d.legs.ui}`);
    assert.ok((d.pages?.ui?.loadMs as number) > 0, 'page load is its own figure');
    assert.ok(r.checks.some((c) => c.name === 'text [data-value] at ui' && c.ok && c.observed === '"42"'), JSON.stringify(r.checks));
    assert.equal(shots.length, 0, 'no screenshot for a good run');
  });

  it('degrades a late marker and keeps a screenshot of the page', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    demo.setFaults({ latencyMs: { ui: 400 } });
    const r = await probe({}, { limits: { degradeWhen: { legs: { ui: '200ms' } } } });
    assert.equal(r.verdict, 'degraded', headline(r));
    assert.match(r.ok && r.verdict === 'degraded' ? r.degradation : '', /^leg ui \d+(\.\d+)?ms, over its degrade limit: expected <= 200ms/);
    assert.equal(shots.length, 1);
    assert.deepEqual([shots[0]?.leg, shots[0]?.jpeg.subarray(0, 2).toString('hex')], ['ui', 'ffd8'], 'a JPEG of the page');
    assert.equal(flow(r).pages?.ui?.screenshot, true);
  });

  it('fails a page whose API is fresh but whose UI is stale, naming the leg and what the API did', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    demo.setFaults({ staleUi: true });
    const r = await probe({}, { poll: true });
    assert.match(headline(r), /^timeout: leg ui: marker not visible on the page within 1\.5s of the injection, though the API showed it: the page is stale \(inject \S+, dashboard \S+\)$/);
    assert.ok(flow(r).legs.dashboard !== undefined, 'the API leg arrived');
    assert.deepEqual(flow(r).unfinished, ['browser ui']);
    assert.equal(shots.length, 1, 'the stale page kept');
  });

  it('fails when the page shows another value than was sent', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    demo.setFaults({ corruptHop: 'ui' });
    const r = await probe({ expect: { text: { '[data-value]': '42' } } });
    assert.match(headline(r), /^assertion: the page shows "43" at \[data-value\] where "42" was sent \(leg ui\) \(inject \S+\)$/);
  });

  it('counts console errors, lists them, and fails on them when told to', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    demo.setFaults({ uiErrors: true });
    const lenient = await probe();
    assert.equal(headline(lenient), 'ok', 'counted, not judged, without a limit');
    assert.match(flow(lenient).pages?.ui?.consoleErrors[0] ?? '', /^dashboard: could not render the chart for event \d+$/);
    const strict = await probe({ expect: { consoleErrors: 0 } });
    assert.match(headline(strict), /^assertion: 1 console error\(s\) on page ui > 0: dashboard: could not render the chart for event \d+ \(inject \S+\)$/);
  });

  it('acts as a user first: with the page filtered to this run, the marker still shows', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const r = await probe({ actions: [{ type: { '#filter': '{{run.id}}' } }, { click: '#live' }, { click: '#live' }] });
    assert.equal(headline(r), 'ok');
    const paused = await probe({ actions: [{ click: '#live' }], within: '500ms' });
    assert.match(headline(paused), /^timeout: leg ui: marker not visible on the page within 500ms/, 'live unticked: the page stops showing new events');
  });

  it('fails a run whose Chromium hangs, ends that Chromium, and starts a new one for the next run', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    const launches = chromium.launches;
    await probe(); // a Chromium running
    const pids = chromiumChildren();
    assert.ok(pids.length > 0);
    for (const pid of pids) process.kill(pid, 'SIGSTOP'); // it stops answering
    const hung = await probe({}, { timeoutMs: 3_000 });
    assert.match(headline(hung), /^(timeout|browser): /, headline(hung));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(chromiumChildren().filter((pid) => pids.includes(pid)), [], 'the hung Chromium is gone');
    const next = await probe();
    assert.equal(headline(next), 'ok', 'a new Chromium for the next run');
    assert.ok(chromium.launches > launches);
  });

  it('fails a run whose Chromium is killed, by name, and starts a new one for the next run', async (t) => {
    if (!chromium) return t.skip('chromium is not installed');
    demo.setFaults({ staleUi: true });
    const launches = chromium.launches;
    const running = probe({ within: '5s' });
    const marker = `ui-run-${runs}-`;
    // Once the marker is injected (the page is open and waiting for it), the browser dies.
    const deadline = Date.now() + 5_000;
    const injected = async () => ((await (await fetch(`${demo.url}/api/dashboard`)).json()) as { items: Array<{ marker?: string }> }).items.some((i) => i.marker?.startsWith(marker));
    while (!(await injected()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const pids = chromiumChildren();
    assert.ok(pids.length > 0, 'a Chromium to kill');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const r = await running;
    assert.match(headline(r), /^browser: leg ui: the browser \(Chromium\) exited while it waited for \[data-marker\]/);
    demo.setFaults({ staleUi: false });
    const next = await probe();
    assert.equal(headline(next), 'ok', 'a new Chromium for the next run');
    assert.ok(chromium.launches > launches, `started again (${chromium.launches} launches)`);
    assert.ok(chromium.crashes >= 1);
  });
});
