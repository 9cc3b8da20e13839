import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { openHandles } from '../../../test/handles.js';
import { flowSpec } from '../../../test/probe-spec.js';
import { NO_FAULTS, startDemoService, type DemoService } from '../../demo/service.js';
import { createRedactor } from '../../logging/redact.js';
import { runProbe } from '../run-probe.js';
import type { ProbeResult } from '../types.js';
import type { FlowDetail } from './kind.js';

const JWT_SECRET = 'flow-test-secret-long-enough-for-hs256';
const code = (r: ProbeResult) => (r.ok ? 'ok' : r.failure.code);
const message = (r: ProbeResult) => (r.ok ? '' : r.failure.message);
const flow = (r: ProbeResult) => r.detail as FlowDetail;

describe('flow prober against the demo pipeline and its fault switch', () => {
  let demo: DemoService;
  let runs = 0;
  const probe = (overrides: Record<string, unknown> = {}, timeoutMs = 3000): Promise<ProbeResult> => {
    const spec = flowSpec({
      watch: [
        { name: 'stream', sse: { url: `${demo.url}/api/stream` } },
        { name: 'alerts', websocket: { url: demo.wsUrl, auth: { jwt: { secret: JWT_SECRET, in: 'query' } } } },
      ],
      steps: [
        { inject: { url: `${demo.url}/api/ingest`, json: { marker: '{{run.id}}', value: 42 }, expect: { status: 202 }, capture: { id: '$.id' } } },
        { await: { on: 'stream', match: { json: { '$.marker': '{{run.id}}' } }, within: '500ms' } },
        { await: { on: 'alerts', match: { json: { '$.event.marker': '{{run.id}}', '$.event.id': '{{capture.id}}' } }, within: '500ms' } },
        { poll: { name: 'dashboard', url: `${demo.url}/api/dashboard`, until: { '$.items[*].marker': '{{run.id}}' }, every: '20ms', within: '1s' } },
      ],
      ...overrides,
    }, timeoutMs);
    const now = Date.now();
    return runProbe(spec, { signal: AbortSignal.timeout(timeoutMs), runId: `run-${++runs}-${now}`, redact: createRedactor([]) }, { slot: now, startedAt: now });
  };

  before(async () => {
    demo = await startDemoService({ jwtSecret: JWT_SECRET, faultToken: 'x', tickMs: 0, dashboardRefreshMs: 20 });
  });
  beforeEach(() => demo.setFaults(structuredClone(NO_FAULTS)));
  after(() => demo.close());

  it('times every leg of a healthy flow and finds the payload intact everywhere', async () => {
    const r = await probe({ expect: { total: '1s', legs: { stream: '200ms', alerts: '200ms', dashboard: '1s' } } });
    assert.equal(code(r), 'ok', message(r));
    assert.deepEqual(Object.keys(flow(r).legs).sort(), ['alerts', 'dashboard', 'inject', 'stream']);
    assert.deepEqual(Object.keys(flow(r).legsFromSend).sort(), ['alerts', 'dashboard', 'inject', 'stream']);
    assert.deepEqual(r.checks.filter((c) => c.name.startsWith('integrity')).map((c) => [c.name, c.ok]), [['integrity stream', true], ['integrity alerts', true], ['integrity dashboard', true]]);
  });

  it('shows the slow leg slow and the others not when one hop is delayed', async () => {
    demo.setFaults({ latencyMs: { ingest: 0, stream: 300, ws: 0, dashboard: 0 } });
    const r = await probe({ expect: { legs: { stream: '100ms', alerts: '100ms' } } });
    assert.equal(code(r), 'assertion', message(r));
    // The slow hop is named with its figure; timings are lower bounds only (a busy machine
    // may add to any leg, never take away from the injected 300 ms).
    // The headline names the hop, observed vs limit, and what the other hops took.
    assert.match(message(r), /^leg stream \d[\d.]*m?s > 100ms \(inject [\d.]+(µs|ms|s), alerts [\d.]+(µs|ms|s), dashboard [\d.]+(µs|ms|s)\)$/);
    assert.ok((flow(r).legsFromSend.stream ?? 0) >= 300, message(r));
    assert.ok((flow(r).legs.alerts ?? Infinity) < (flow(r).legs.stream ?? 0), `alerts leg ${flow(r).legs.alerts} vs stream ${flow(r).legs.stream}`);
  });

  it('names the watcher when events are dropped on the stream', async () => {
    demo.setFaults({ dropRate: 1 });
    const r = await probe();
    assert.equal(code(r), 'timeout');
    assert.match(message(r), /^leg stream: marker not seen within 500ms of the injection \(inject [\d.]+(µs|ms|s), .*dashboard [\d.]+(µs|ms|s)\)$/);
    // The other hops were still measured: the dashboard saw the marker although the stream did not.
    assert.ok(flow(r).legs.dashboard !== undefined, JSON.stringify(flow(r).legs));
    assert.ok(flow(r).unfinished.includes('await stream') && !flow(r).unfinished.includes('poll dashboard'), flow(r).unfinished.join());
    // What a person reads: the failing hop first, with the limit it missed; then the hops that
    // arrived, with their figures; no end-to-end time for a flow that never reached its end.
    assert.deepEqual([r.checks[0]?.name, r.checks[0]?.ok, r.checks[0]?.expected], ['leg stream', false, 'marker within 500ms']);
    assert.match(r.checks[0]?.observed ?? '', /^not seen in 5\d\dms$/);
    assert.ok(r.checks.some((c) => c.name === 'leg dashboard' && c.ok && /ms$/.test(c.observed)), JSON.stringify(r.checks));
    assert.equal(flow(r).totalMs, undefined);
    assert.ok((flow(r).waited?.stream ?? 0) >= 500, JSON.stringify(flow(r).waited));
    assert.ok(flow(r).legs.stream === undefined, 'no leg figure for a hop that never arrived');
  });

  it('fails the poll when the dashboard is stale', async () => {
    demo.setFaults({ staleDashboard: true });
    const r = await probe();
    assert.equal(code(r), 'timeout');
    assert.match(message(r), /^leg dashboard: marker not shown within 1s of the injection \(\d+ polls, last status 200\) \(inject [\d.]+(µs|ms|s), alerts [\d.]+(µs|ms|s), stream [\d.]+(µs|ms|s)\)$/);
  });

  it('fails fast when ingest returns 5xx, and closes the watchers', async () => {
    demo.setFaults({ errorRate: 1 });
    const started = Date.now();
    const r = await probe();
    assert.equal(code(r), 'http_status');
    assert.match(message(r), /^inject: status expected 202, observed 503$/);
    assert.ok(Date.now() - started < 400, `took ${Date.now() - started}ms`);
    assert.deepEqual(Object.keys(flow(r).legs), ['inject'], 'only the injection leg: nothing went further');
  });

  it('blames a slow ingest on the inject leg, not on the hops after it', async () => {
    demo.setFaults({ latencyMs: { ingest: 300, stream: 0, ws: 0, dashboard: 0 } });
    const r = await probe({ expect: { legs: { inject: '100ms', stream: '200ms' } } });
    assert.equal(code(r), 'assertion', message(r));
    assert.match(message(r), /^leg inject \d[\d.]*m?s > 100ms \(/);
    assert.ok((flow(r).legs.inject ?? 0) >= 300, JSON.stringify(flow(r).legs));
    assert.ok((flow(r).legs.stream ?? Infinity) < 200, `stream leg after acceptance ${flow(r).legs.stream}`);
    assert.ok((flow(r).legsFromSend.stream ?? 0) >= 300, 'from the send, the stream leg includes the slow ingest');
    assert.ok(r.checks.some((c) => c.name === 'leg stream' && c.ok), 'the stream hop itself is within its limit');
  });

  it('names the hop where the payload was altered', async () => {
    demo.setFaults({ corruptHop: 'dashboard' });
    const r = await probe();
    assert.equal(code(r), 'assertion');
    assert.match(message(r), /^payload differs at hop dashboard: \$\.value expected 42, observed 43 \(inject /);
    // The marker did arrive there: the hop has its leg, is not "unfinished", and the failing
    // check is the integrity one.
    assert.ok(flow(r).legs.dashboard !== undefined);
    assert.ok(!flow(r).unfinished.includes('poll dashboard'), flow(r).unfinished.join());
    assert.deepEqual([r.checks[0]?.name, r.checks[0]?.ok], ['integrity dashboard', false]);
  });

  it('fails before injecting anything when a watcher cannot connect', async () => {
    demo.setFaults({ closeSockets: true });
    const before = demo.ingest({ type: 'probe-count' }).id;
    const r = await probe();
    assert.ok(['closed', 'connect', 'handshake'].includes(code(r)), `${code(r)}: ${message(r)}`);
    assert.match(message(r), /^watcher (stream|alerts): .* \(nothing injected\)$/);
    assert.equal(flow(r).injected, false);
    assert.equal(demo.ingest({ type: 'probe-count' }).id, before + 1, 'no event was ingested by the flow');
  });

  it('stops every step and watcher when the run deadline passes, naming what had not finished', async () => {
    demo.setFaults({ latencyMs: { ingest: 0, stream: 0, ws: 0, dashboard: 0 }, staleDashboard: true });
    const started = Date.now();
    const r = await probe({}, 400);
    assert.equal(code(r), 'timeout');
    assert.ok(Date.now() - started < 800);
    assert.deepEqual(flow(r).unfinished, ['poll dashboard']);
  });

  it('keeps concurrent runs apart: each sees its own marker', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => probe()));
    for (const r of results) assert.equal(code(r), 'ok', message(r));
  });

  it('leaks no sockets over 200 failing runs', async () => {
    const handles = openHandles;
    demo.setFaults({ errorRate: 1 });
    for (let i = 0; i < 10; i++) await Promise.all(Array.from({ length: 5 }, () => probe()));
    const before = handles();
    for (let i = 0; i < 40; i++) await Promise.all(Array.from({ length: 5 }, () => probe()));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(handles() <= before + 2, `handles ${before} → ${handles()}`);
  });
});
