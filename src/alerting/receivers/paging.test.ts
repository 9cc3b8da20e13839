// PagerDuty and Opsgenie against servers of our own that check the documented payloads (Events
// API v2; Opsgenie Alert API v2), answer as those services do, and remember the incidents: a page
// opens one, a flap updates it, the all-clear closes it; 429 and 5xx are retried, 400 is not.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { alertingConfig } from '../../../test/alerting.js';
import { httpServer } from '../../../test/servers.js';
import { waitFor } from '../../../test/wait.js';
import { systemClock } from '../../scheduler/clock.js';
import type { AlertEvent } from '../alert.js';
import { AlertEngine } from '../engine.js';
import type { Delivery } from './receiver.js';

const ROUTING_KEY = 'R0UTINGKEY0123456789abcdef012345';
const GENIE_KEY = 'genie-key-0123456789abcdef';

interface Seen {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** Answers with the queued statuses first (then 202), and keeps incidents by key as the service would. */
async function service(check: (seen: Seen) => string | undefined, first: number[] = []) {
  const seen: Seen[] = [];
  const problems: string[] = [];
  const open = new Map<string, string>();
  const server = await httpServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const entry: Seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: JSON.parse(text || '{}') as Record<string, unknown> };
      seen.push(entry);
      const queued = first.shift();
      if (queued !== undefined) return void res.writeHead(queued, queued === 429 ? { 'retry-after': '0' } : {}).end('{"status":"try later"}');
      const problem = check(entry);
      if (problem) return (problems.push(problem), void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'invalid event', message: problem })));
      const key = String(entry.body.dedup_key ?? entry.body.alias ?? decodeURIComponent(/\/v2\/alerts\/([^/?]+)\/close/.exec(entry.path)?.[1] ?? ''));
      const action = String(entry.body.event_action ?? (entry.path.includes('/close') ? 'resolve' : 'trigger'));
      open.set(key, action === 'resolve' ? 'resolved' : 'triggered');
      res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', dedup_key: key }));
    });
  });
  return { server, seen, problems, open };
}

/** The Events API v2's rules for an event (https://developer.pagerduty.com/docs/events-api-v2/trigger-events). */
function pagerdutyRules(seen: Seen): string | undefined {
  const b = seen.body;
  if (seen.method !== 'POST' || seen.path !== '/v2/enqueue') return `unexpected ${seen.method} ${seen.path}`;
  if (b.routing_key !== ROUTING_KEY) return 'routing_key';
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(b.event_action))) return 'event_action';
  if (typeof b.dedup_key !== 'string' || b.dedup_key.length > 255) return 'dedup_key';
  if (b.event_action !== 'trigger') return undefined;
  const p = b.payload as Record<string, unknown> | undefined;
  if (!p || typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024) return 'payload.summary';
  if (typeof p.source !== 'string' || p.source.length === 0) return 'payload.source';
  if (!['critical', 'error', 'warning', 'info'].includes(String(p.severity))) return 'payload.severity';
  if (p.timestamp !== undefined && Number.isNaN(Date.parse(String(p.timestamp)))) return 'payload.timestamp';
  return undefined;
}

/** The Alert API v2's rules (https://docs.opsgenie.com/docs/alert-api). */
function opsgenieRules(seen: Seen): string | undefined {
  if (seen.headers.authorization !== `GenieKey ${GENIE_KEY}`) return 'authorization';
  if (seen.method !== 'POST') return 'method';
  if (/^\/v2\/alerts\/[^/]+\/close\?identifierType=alias$/.test(seen.path)) return undefined;
  if (seen.path !== '/v2/alerts') return `path ${seen.path}`;
  const b = seen.body;
  if (typeof b.message !== 'string' || b.message.length === 0 || b.message.length > 130) return 'message';
  if (typeof b.alias !== 'string' || b.alias.length > 512) return 'alias';
  if (b.description !== undefined && String(b.description).length > 15_000) return 'description';
  if (!['P1', 'P2', 'P3', 'P4', 'P5'].includes(String(b.priority))) return 'priority';
  return undefined;
}

function engineFor(receiver: Record<string, unknown>, attempts: Delivery[]) {
  const engine = new AlertEngine({
    clock: systemClock,
    stateDir: mkdtempSync(path.join(os.tmpdir(), 'flowprobe-paging-')),
    location: 'lab',
    config: alertingConfig({ receivers: [receiver], group: { by: ['alertname', 'probe'], wait: '0s', interval: '10ms', repeat: '1h' }, retry: { initial: '10ms', max: '100ms' } }),
    events: { attempt: (_r, _n, delivery) => void attempts.push(delivery), decision: () => undefined, saveError: (e) => assert.fail(String(e)) },
  });
  engine.start();
  return engine;
}

const labels = { alertname: 'ProbeFailing', probe: 'api', kind: 'http', severity: 'critical', location: 'lab' };
const at = Date.UTC(2026, 0, 1);
const firing = (summary: string, changed = false): AlertEvent => ({ labels, status: 'firing', at, startedAt: at, summary, checks: [{ name: 'status', ok: false, expected: '2xx', observed: '503' }], evidence: {}, ...(changed ? { changed: true } : {}) });
const resolved: AlertEvent = { labels, status: 'resolved', at: at + 60_000, startedAt: at, endedAt: at + 60_000, durationMs: 60_000, summary: 'api (http) recovered after 1m', checks: [], evidence: {} };

describe('PagerDuty (Events API v2)', () => {
  it('triggers on the page (after a 429 and a 503, retried), updates on a flap, resolves on the all-clear — one dedup_key', async () => {
    const pd = await service(pagerdutyRules, [429, 503]);
    const attempts: Delivery[] = [];
    const engine = engineFor({ name: 'pd', pagerduty: { routingKey: ROUTING_KEY, url: `${pd.server.url}/v2/enqueue` } }, attempts);
    try {
      engine.handle([firing('api (http) is failing: http_status: status: expected 2xx, observed 503 — 3 consecutive failures')]);
      await waitFor('the trigger accepted', () => pd.open.size === 1 || undefined);
      engine.handle([firing('api (http) is flapping: failing again 10s after it recovered', true)]);
      await waitFor('the flap sent', () => pd.seen.filter((s) => s.body.event_action === 'trigger').length >= 4 || undefined);
      engine.handle([resolved]);
      await waitFor('the resolve accepted', () => [...pd.open.values()].includes('resolved') || undefined);
      await waitFor('every answer read', () => attempts.length >= 5 || undefined);
      assert.deepEqual(pd.problems, []);
      assert.deepEqual(attempts.map((a) => (a.ok ? 'ok' : a.reason)), ['http_429', 'http_5xx', 'ok', 'ok', 'ok']);
      const keys = new Set(pd.seen.map((s) => s.body.dedup_key));
      assert.equal(keys.size, 1, 'one incident in PagerDuty');
      assert.deepEqual([...pd.open.values()], ['resolved']);
      const trigger = pd.seen.find((s) => s.body.event_action === 'trigger')?.body as { payload: Record<string, unknown>; links: Array<{ href: string }> };
      assert.equal(trigger.payload.severity, 'critical');
      assert.equal(trigger.payload.source, 'flowprobe@lab');
      assert.match(String(trigger.payload.summary), /^api \(http\) is failing/);
      assert.deepEqual((trigger.payload.custom_details as { checks: string[] }).checks, ['❌ status: expected 2xx, observed 503']);
    } finally {
      engine.stop();
      await pd.server.close();
    }
  });

  it('a 400 (bad routing key) is not retried, and says why', async () => {
    const pd = await service(() => 'invalid routing key');
    const attempts: Delivery[] = [];
    const engine = engineFor({ name: 'pd', pagerduty: { routingKey: 'wrong-key-00000000', url: `${pd.server.url}/v2/enqueue` } }, attempts);
    try {
      engine.handle([firing('api (http) is failing')]);
      const attempt = await waitFor('an attempt', () => attempts[0]);
      assert.ok(!attempt.ok && !attempt.retry && attempt.reason === 'http_4xx', JSON.stringify(attempt));
      assert.match(attempt.ok ? '' : attempt.message, /^400 .*invalid routing key/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(pd.seen.length, 1, 'sent once');
    } finally {
      engine.stop();
      await pd.server.close();
    }
  });
});

describe('Opsgenie (Alert API v2)', () => {
  it('creates by alias on the page (after a 502, retried), closes by alias on the all-clear', async () => {
    const og = await service(opsgenieRules, [502]);
    const attempts: Delivery[] = [];
    const engine = engineFor({ name: 'og', opsgenie: { apiKey: GENIE_KEY, url: og.server.url } }, attempts);
    try {
      engine.handle([firing(`api (http) is failing: ${'a very long headline '.repeat(20)}`)]);
      await waitFor('the alert created', () => og.open.size === 1 || undefined);
      engine.handle([resolved]);
      await waitFor('the alert closed', () => [...og.open.values()].includes('resolved') || undefined);
      await waitFor('every answer read', () => attempts.length >= 3 || undefined);
      assert.deepEqual(og.problems, []);
      assert.deepEqual(attempts.map((a) => (a.ok ? 'ok' : a.reason)), ['http_5xx', 'ok', 'ok']);
      const create = og.seen.find((s) => s.path === '/v2/alerts' && s.body.alias)?.body as Record<string, unknown>;
      assert.equal(create.priority, 'P1');
      assert.equal(String(create.message).length, 130, 'cut to what Opsgenie takes');
      const close = og.seen.at(-1);
      assert.equal(close?.path, `/v2/alerts/${encodeURIComponent(String(create.alias))}/close?identifierType=alias`);
      assert.equal(og.open.size, 1);
    } finally {
      engine.stop();
      await og.server.close();
    }
  });

  it('a wrong key is a 4xx, not retried', async () => {
    const og = await service(opsgenieRules);
    const attempts: Delivery[] = [];
    const engine = engineFor({ name: 'og', opsgenie: { apiKey: 'not-the-key-000', url: og.server.url } }, attempts);
    try {
      engine.handle([firing('api (http) is failing')]);
      const attempt = await waitFor('an attempt', () => attempts[0]);
      assert.ok(!attempt.ok && !attempt.retry, JSON.stringify(attempt));
    } finally {
      engine.stop();
      await og.server.close();
    }
  });
});
