// The status page and the status API against a real daemon on loopback: what each page shows,
// that observed text is shown as text, the live stream with Last-Event-ID, and the API's bounds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { startDaemon, type Harness } from '../../test/daemon-harness.js';
import { httpServer, type Running } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';

const probeFile = (name: string, url: string, extra = '') => `name: ${name}\nkind: http\nevery: 300ms\ntimeout: 250ms\nurl: ${url}\nlabels: { team: ${name.startsWith('pay') ? 'payments' : 'web'} }\n${extra}`;

/** Reads an SSE response's `patch` events as they come. */
function patches(body: AsyncIterable<Buffer>) {
  const events: Array<{ id: number; target: string; html: string; match?: { state: string } }> = [];
  let buffer = '';
  const done = (async () => {
    for await (const chunk of body) {
      buffer += chunk.toString();
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (id && data) events.push({ id: Number(id), ...(JSON.parse(data) as { target: string; html: string }) });
      }
    }
  })().catch(() => undefined);
  return { events, done };
}

describe('status page and status API', () => {
  let target: Running;
  let h: Harness;
  let broken = false;
  before(async () => {
    target = await httpServer((req, res) => {
      if (req.url === '/xss') return void res.end('<script>window.__xss = 1</script><img src=x onerror=alert(1)>');
      res.writeHead(req.url === '/flaky' && broken ? 503 : 200).end('ok');
    });
    h = await startDaemon('probesDir: probes\nlocation: lab-1\ndetect: { failAfter: 1, recoverAfter: 1 }\n', {
      'a.yaml': probeFile('payments-api', `${target.url}/flaky`),
      'b.yaml': probeFile('web-home', `${target.url}/`),
      'c.yaml': probeFile('hostile', `${target.url}/xss`, 'expect:\n  bodyContains: never-there\n'),
    });
    await waitFor('every probe ran', async () => {
      const summary = JSON.parse((await h.get('/api/v1/status')).text) as { probes: Array<{ verdict: string }> };
      return summary.probes.every((p) => p.verdict !== 'pending') || undefined;
    });
  });
  after(async () => {
    await h.daemon.stop();
    await target.close();
  });

  it('serves the overview at /: every probe, failing first, with a strict content security policy', async () => {
    await waitFor('hostile failing, with a history to draw', async () => {
      const text = (await h.get('/')).text;
      return text.includes('data-state="failing"') && (text.match(/<svg class="spark"/g) ?? []).length === 3 ? true : undefined;
    });
    const res = await fetch(`${h.base}/`);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await res.text();
    const order = [...html.matchAll(/<tr id="row-([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(order, ['hostile', 'payments-api', 'web-home'], 'failing first, then by name');
    assert.match(html, /1 failing/);
    assert.match(html, /<a href="\/probes\/payments-api">payments-api<\/a>/);
    assert.match(html, /<svg class="spark"/, 'a latency sparkline');
  });

  it('filters by state, kind and label without JavaScript', async () => {
    const failing = (await h.get('/?state=failing')).text;
    assert.deepEqual([...failing.matchAll(/<tr id="row-([^"]+)"/g)].map((m) => m[1]), ['hostile']);
    const payments = (await h.get('/?label=team%3Dpayments')).text;
    assert.deepEqual([...payments.matchAll(/<tr id="row-([^"]+)"/g)].map((m) => m[1]), ['payments-api']);
    assert.match((await h.get('/?kind=sse')).text, /No probe matches this filter/);
    const anyTeam = (await h.get('/?label=team')).text;
    assert.equal([...anyTeam.matchAll(/<tr id="row-/g)].length, 3, 'a key alone: any value of it');
    assert.match((await h.get('/?label=owner')).text, /No probe matches this filter/, 'not the probes without it');
  });

  it("shows a target's observed text as text, never as markup", async () => {
    const page = (await h.get('/probes/hostile')).text;
    assert.ok(!page.includes('<script>window.__xss'), 'the body is not markup on the page');
    assert.ok(!page.includes('<img src=x'), 'nor an attribute-bearing tag');
    assert.match(page, /&lt;script>window.__xss = 1&lt;\/script>/, 'it is there, escaped');
    assert.match(page, /<td>body contains<\/td><td>contains &quot;never-there&quot;<\/td>/);
    const overview = (await h.get('/')).text;
    assert.ok(!overview.includes('<script>window'), 'nor in the overview headline');
  });

  it('answers an unknown probe page with 404 naming it, escaped', async () => {
    const res = await h.get(`/probes/${encodeURIComponent('<b>nope</b>')}`);
    assert.equal(res.status, 404);
    assert.match(res.text, /No probe named <code>&lt;b>nope&lt;\/b><\/code>/);
  });

  it('streams row patches as state changes, and a reconnect with Last-Event-ID gets only what it missed', async () => {
    const res = await request(`${h.base}/events?page=overview`, { headers: { accept: 'text/event-stream' } });
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const live = patches(res.body);
    await waitFor('the full picture first', () => (live.events.some((e) => e.target === 'row-payments-api') ? true : undefined));
    broken = true;
    const failed = await waitFor('payments-api failing, live', () => live.events.find((e) => e.target === 'row-payments-api' && e.match?.state === 'failing'));
    assert.match(failed.html, /^<tr id="row-payments-api" class="state-failing"/);
    assert.match(failed.html, /status: expected 2xx, observed 503/);
    res.body.destroy();

    broken = false;
    const seen = failed.id;
    const resumed = await request(`${h.base}/events?page=overview`, { headers: { 'last-event-id': String(seen) } });
    const after = patches(resumed.body);
    const healed = await waitFor('payments-api healthy again', () => after.events.find((e) => e.target === 'row-payments-api' && e.match?.state === 'healthy'));
    assert.ok(after.events.every((e) => e.id > seen), 'nothing it had already seen');
    assert.ok(healed.id > seen);
    resumed.body.destroy();
  });

  it('says on the overview, on /alerts and in the log that alerts go nowhere without a receiver', async () => {
    assert.match((await h.get('/')).text, /<p class="warning">⚠ no receiver: alerts are not delivered anywhere/);
    assert.match((await h.get('/alerts')).text, /<p class="warning">⚠ no receiver: alerts are not delivered anywhere/);
    const api = JSON.parse((await h.get('/api/v1/alerts')).text) as { receivers: unknown[]; warning: string };
    assert.deepEqual(api.receivers, []);
    assert.match(api.warning, /^no receiver/);
    assert.ok(h.logs.some((l) => l.includes('"level":"warn"') && l.includes('no receiver: alerts are not delivered anywhere')));
  });

  it('streams the probe page its live part', async () => {
    const res = await request(`${h.base}/events?page=probe&probe=web-home`);
    const live = patches(res.body);
    const patch = await waitFor('a probe-live patch', () => live.events.find((e) => e.target === 'probe-live'));
    assert.match(patch.html, /^<div id="probe-live">/);
    assert.match(patch.html, /Recent runs/);
    res.body.destroy();
    assert.equal((await h.get('/events')).status, 400);
  });

  it('/api/v1/status is a line per probe; ?probe=NAME is one probe in full; an unknown name is 404', async () => {
    const summary = JSON.parse((await h.get('/api/v1/status')).text) as { counts: Record<string, number>; probes: Array<Record<string, unknown>> };
    assert.equal(summary.counts.probes, 3);
    for (const p of summary.probes) {
      assert.deepEqual(Object.keys(p).sort(), ['headline', 'kind', 'labels', 'lastAt', 'main', 'name', 'outage', 'recovering', 'schedule', 'settlingUntil', 'state', 'target', 'verdict'].filter((k) => k in p).sort());
      assert.ok(!('recent' in p), 'no history in the summary');
    }
    const one = JSON.parse((await h.get('/api/v1/status?probe=web-home')).text) as { name: string; recent: unknown[]; last: { checks: unknown[] }; timeline: unknown[] };
    assert.equal(one.name, 'web-home');
    assert.ok(one.recent.length >= 1);
    assert.equal(one.last.checks.length, 1);
    const unknown = await h.get('/api/v1/status?probe=nope');
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /no probe named \\"nope\\"/);
  });

  it('puts state changes on the incident timeline', async () => {
    const doc = JSON.parse((await h.get('/api/v1/status?probe=payments-api')).text) as { timeline: Array<{ what: string; text: string }> };
    const texts = doc.timeline.map((e) => e.text);
    assert.ok(texts.some((t) => /^healthy → failing \(consecutive failures\)/.test(t)), texts.join('\n'));
    assert.ok(texts.some((t) => /^failing → healthy \(recovered\).*failing [\d.]+m?s so far, the incident closes if it stays up/.test(t)), texts.join('\n'));
    const closed = await waitFor('the incident closed', async () => {
      const now = JSON.parse((await h.get('/api/v1/status?probe=payments-api')).text) as { timeline: Array<{ text: string }> };
      return now.timeline.find((e) => /^incident closed: failing [\d.]+m?s$/.test(e.text));
    });
    assert.ok(closed);
  });
});
