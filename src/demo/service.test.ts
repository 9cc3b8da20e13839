import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { waitFor } from '../../test/wait.js';
import { NO_FAULTS, startDemoService, type DemoService } from './service.js';

const JWT_SECRET = 'test-jwt-secret-of-decent-length';
const FAULT_TOKEN = 'fault-token-123';

function token(): Promise<string> {
  return new SignJWT({ sub: 'probe' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1m').sign(new TextEncoder().encode(JWT_SECRET));
}

/** Opens the SSE stream and collects raw text as it arrives. */
function openStream(url: string, headers: Record<string, string> = {}): Promise<{ text: () => string; res: http.IncomingMessage; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      resolve({ text: () => text, res, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

describe('demo service', () => {
  let demo: DemoService;
  before(async () => {
    demo = await startDemoService({ jwtSecret: JWT_SECRET, faultToken: FAULT_TOKEN, tickMs: 0, dashboardRefreshMs: 20 });
  });
  after(() => demo.close());

  it('carries an ingested event to the stream, the socket and the dashboard', async () => {
    const stream = await openStream(`${demo.url}/api/stream`);
    assert.equal(stream.res.headers['content-type'], 'text/event-stream');
    const ws = new WebSocket(`${demo.wsUrl}?token=${await token()}`);
    await once(ws, 'open');
    const wsMessage = once(ws, 'message');
    const res = await fetch(`${demo.url}/api/ingest`, { method: 'POST', body: JSON.stringify({ marker: 'm-42', value: 7 }) });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: number };
    await waitFor('event on the stream', () => stream.text().includes('"marker":"m-42"') || undefined);
    assert.match(stream.text(), new RegExp(`id: ${id}\\nevent: ingest\\ndata: \\{`));
    const [data] = (await wsMessage) as [Buffer];
    assert.equal((JSON.parse(data.toString()) as { event: { marker: string } }).event.marker, 'm-42');
    await waitFor('marker on the dashboard', async () => {
      const dash = (await (await fetch(`${demo.url}/api/dashboard`)).json()) as { items: Array<{ marker?: string }> };
      return dash.items.some((item) => item.marker === 'm-42') || undefined;
    });
    stream.close();
    ws.close();
  });

  it('replays missed events after Last-Event-ID', async () => {
    const first = demo.ingest({ type: 'metric', value: 1 });
    demo.ingest({ type: 'metric', value: 2 });
    const stream = await openStream(`${demo.url}/api/stream`, { 'last-event-id': String(first.id) });
    await waitFor('replayed event', () => stream.text().includes(`id: ${first.id + 1}\n`) || undefined);
    assert.ok(!stream.text().includes(`id: ${first.id}\n`), 'nothing before Last-Event-ID');
    stream.close();
  });

  it('answers pings on the WebSocket and refuses a missing or bad token', async () => {
    const ws = new WebSocket(`${demo.wsUrl}?token=${await token()}`);
    await once(ws, 'open');
    ws.send(JSON.stringify({ type: 'ping', id: 9 }));
    const [pong] = (await once(ws, 'message')) as [Buffer];
    assert.deepEqual(JSON.parse(pong.toString()), { type: 'pong', id: 9 });
    ws.close();
    for (const url of [demo.wsUrl, `${demo.wsUrl}?token=not-a-jwt`]) {
      const refused = new WebSocket(url);
      const [, response] = (await once(refused, 'unexpected-response')) as [unknown, http.IncomingMessage];
      assert.equal(response.statusCode, 401);
      refused.on('error', () => undefined);
      refused.terminate();
    }
  });

  it('flips faults only with the fault token', async () => {
    const denied = await fetch(`${demo.url}/api/faults`, { method: 'PUT', body: JSON.stringify({ errorRate: 1 }) });
    assert.equal(denied.status, 401);
    const put = await fetch(`${demo.url}/api/faults`, { method: 'PUT', headers: { authorization: `Bearer ${FAULT_TOKEN}` }, body: JSON.stringify({ errorRate: 1 }) });
    assert.equal(put.status, 200);
    assert.equal((await fetch(`${demo.url}/api/dashboard`)).status, 503);
    assert.equal((await fetch(`${demo.url}/api/ingest`, { method: 'POST', body: '{}' })).status, 503);
    demo.setFaults({ errorRate: 0 });
    assert.equal((await fetch(`${demo.url}/api/dashboard`)).status, 200);
  });

  it('refuses a fault it does not know, or a value out of range, listing the valid ones; DELETE mends all', async () => {
    const put = (body: unknown) => fetch(`${demo.url}/api/faults`, { method: 'PUT', headers: { authorization: `Bearer ${FAULT_TOKEN}` }, body: JSON.stringify(body) });
    for (const [body, why] of [
      [{ errorrate: 1 }, /Unrecognized key/i],
      [{ errorRate: 2 }, /errorRate: .*1/],
      [{ latencyMs: { ws: -5 } }, /latencyMs\.ws/],
      [{ corruptHop: 'all' }, /corruptHop/],
      ['not an object', /expected a JSON object of faults/],
    ] as const) {
      const res = await put(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const answer = (await res.json()) as { error: string; valid: Record<string, { example: unknown; effect: string }> };
      assert.match(answer.error, why);
      assert.deepEqual(Object.keys(answer.valid).sort(), ['closeSockets', 'corruptHop', 'dropRate', 'errorRate', 'latencyMs', 'staleDashboard', 'staleUi', 'stallStream', 'uiErrors']);
    }
    assert.equal(demo.faults.errorRate, 0, 'a refused patch changes nothing');
    assert.equal((await put({ errorRate: 1, latencyMs: { ws: 300 } })).status, 200);
    assert.equal(demo.faults.latencyMs.ws, 300);
    const mended = await fetch(`${demo.url}/api/faults`, { method: 'DELETE', headers: { authorization: `Bearer ${FAULT_TOKEN}` } });
    assert.equal(mended.status, 200);
    assert.deepEqual(demo.faults, NO_FAULTS);
  });

  it('stalls the stream and stales the dashboard on demand', async () => {
    demo.setFaults({ stallStream: true, staleDashboard: true });
    const stream = await openStream(`${demo.url}/api/stream`);
    const before = (await (await fetch(`${demo.url}/api/dashboard`)).json()) as { updatedAt: string };
    const event = demo.ingest({ type: 'metric', marker: 'stalled' });
    const after = (await (await fetch(`${demo.url}/api/dashboard`)).json()) as { updatedAt: string; items: Array<{ id: number }> };
    assert.equal(after.updatedAt, before.updatedAt);
    assert.ok(!after.items.some((item) => item.id === event.id));
    assert.ok(!stream.text().includes('stalled'));
    demo.setFaults({ stallStream: false, staleDashboard: false });
    stream.close();
  });
});
