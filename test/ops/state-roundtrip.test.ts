// What the daemon writes, it reads back: every kind of state — silences posted through the API
// (at a clock with fractions of a millisecond), notifications queued for a receiver that is down
// and mid-retry, an incident that flapped, a maintenance window muting a probe — survives a
// restart with nothing moved aside and nothing lost; and the story goes on from where it was.
// A heartbeat's ping (kept in heartbeats.json) is read back too.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { Daemon } from '../../src/daemon.js';
import { configDir } from '../config-dir.js';
import { FakeClock, nextSecond } from '../fake-clock.js';
import { closedPort, httpServer, webhookSink } from '../servers.js';
import { waitFor } from '../wait.js';

const TOKEN = 'roundtrip-api-token-0123456789';
const HEARTBEAT_TOKEN = 'roundtrip-heartbeat-token-0123456789';

it('every kind of state survives a restart: nothing moved aside, nothing lost, and the incident goes on', { timeout: 120_000 }, async () => {
  const down = new Set<string>();
  const target = await httpServer((req, res) => void res.writeHead(down.has(req.url?.slice(1) ?? '') ? 503 : 200).end());
  const hook = await webhookSink();
  const dead = await closedPort();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-roundtrip-'));
  const config = [
    'probesDir: probes',
    `apiToken: ${TOKEN}`,
    'detect: { failAfter: 2, recoverAfter: 2, flapWindow: 5s }',
    'resources: { interval: 1h }',
    'alerting:',
    '  receivers:',
    `    - { name: hook, webhook: { url: "${hook.url}/" } }`,
    `    - { name: down, webhook: { url: "http://127.0.0.1:${dead}/" } }`,
    '  group: { by: [alertname, probe], wait: 1s, interval: 2s, repeat: 4h }',
    '  retry: { initial: 30s, max: 5m }',
    '  maintenance: [{ name: always, cron: "* * * * *", duration: 2m, match: { probe: batch } }]',
    '',
  ].join('\n');
  const probe = (name: string) => `name: ${name}\nkind: http\ncron: \"* * * * * *\"\ntimeout: 500ms\nurl: ${target.url}/${name}\n`;
  const heartbeat = `name: nightly\nkind: heartbeat\ncron: "* * * * * *"\ntoken: ${HEARTBEAT_TOKEN}\npings: { every: 1h }\n`;
  const dir = configDir(config, { 'a.yaml': probe('api'), 'b.yaml': probe('batch'), 'h.yaml': heartbeat });
  // A clock with a fraction of a millisecond, as the system clock has.
  const clock = new FakeClock(Date.now() - 3_600_000 + 0.6047);
  const logs: Array<Record<string, unknown>> = [];
  const start = () =>
    Daemon.start({ configFile: dir.configFile, env: {}, clock, version: 'test', listen: '127.0.0.1:0', stateDir, logLevel: 'debug', logDestination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } });
  let daemon = await start();
  const base = () => `http://127.0.0.1:${daemon.address?.port}`;
  const results = () => logs.filter((l) => typeof l.run === 'string').length;
  const seconds = async (n: number, broken: string[] = []) => {
    for (let i = 0; i < n; i++) {
      down.clear();
      for (const name of broken) down.add(name);
      const before = results();
      await nextSecond(clock, () => waitFor('this second\'s runs', () => results() >= before + 2 || undefined, 10_000, 2));
    }
  };
  const get = async (p: string) => (await fetch(`${base()}${p}`)).json() as Promise<unknown>;
  try {
    await seconds(3);
    const pinged = await fetch(`${base()}/api/v1/heartbeats/nightly?duration=90s&msg=${encodeURIComponent('exported 1200 rows')}`, { method: 'POST', headers: { authorization: `Bearer ${HEARTBEAT_TOKEN}` } });
    assert.equal(pinged.status, 200, await pinged.text());
    const pingedAt = clock.now();
    const posted = await fetch(`${base()}/api/v1/silences`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ matchers: { probe: 'nothing-yet' }, duration: '2h', comment: 'deploy', createdBy: 'ana' }) });
    assert.equal(posted.status, 201);
    // api fails, recovers, fails again within the flap window (an open, flapping incident); batch
    // fails under its maintenance window (muted).
    await seconds(4, ['api', 'batch']);
    await seconds(2, ['batch']);
    await seconds(4, ['api', 'batch']);
    await waitFor('the page and the flapping update delivered', () => hook.bodies.filter((b) => b.includes('"alertname":"ProbeFailing"') && b.includes('"probe":"api"')).length >= 2 || undefined, 10_000, 20);
    const before = {
      silences: (await get('/api/v1/silences')) as Array<{ id: string; startsAt: number }>,
      receivers: ((await get('/api/v1/alerts')) as { receivers: Array<{ name: string; pending: number }> }).receivers,
      api: ((await get('/api/v1/status?probe=api')) as { state: string; outage: { since: number; periods: number; failingMs: number } }),
    };
    assert.equal(before.api.state, 'failing');
    assert.equal(before.api.outage.periods, 2, 'flapping');
    assert.ok((before.receivers.find((r) => r.name === 'down')?.pending ?? 0) >= 1, 'queued for the dead receiver, mid-retry');
    assert.ok(!Number.isInteger(clock.now()), 'the clock has fractions');

    await daemon.stop();
    const written = JSON.parse(readFileSync(path.join(stateDir, 'alerts.json'), 'utf8')) as { silences: unknown[]; queue: unknown[] };
    assert.ok(written.silences.length === 1 && written.queue.length >= 1);
    const pings = JSON.parse(readFileSync(path.join(stateDir, 'heartbeats.json'), 'utf8')) as { heartbeats: Record<string, { last?: { at: number; message?: string } }> };
    assert.deepEqual(pings.heartbeats.nightly?.last, { at: pingedAt, status: 'ok', durationMs: 90_000, message: 'exported 1200 rows' });
    daemon = await start();

    assert.deepEqual(readdirSync(stateDir).filter((f) => f.includes('corrupt')), [], 'nothing moved aside');
    assert.equal(logs.filter((l) => l.msg === 'state directory problem').length, 0, 'no state problem said');
    const after = {
      silences: (await get('/api/v1/silences')) as Array<{ id: string; startsAt: number }>,
      receivers: ((await get('/api/v1/alerts')) as { receivers: Array<{ name: string; pending: number }> }).receivers,
      api: ((await get('/api/v1/status?probe=api')) as { state: string; outage: { since: number; periods: number; failingMs: number } }),
    };
    assert.deepEqual(after.silences, before.silences, 'the silence, as posted');
    assert.equal(after.receivers.find((r) => r.name === 'down')?.pending, before.receivers.find((r) => r.name === 'down')?.pending, 'the queue for the dead receiver');
    assert.equal(after.api.state, 'failing');
    assert.equal(after.api.outage.since, before.api.outage.since, 'the same incident');
    assert.equal(after.api.outage.periods, 2);
    // The ping, as it was sent, judged by the first run after the restart.
    await seconds(1);
    const nightly = (await get('/api/v1/status?probe=nightly')) as { last: { verdict: string; detail: { lastAt: number; lastMessage: string; lastDurationMs: number; pings: number } } };
    assert.equal(nightly.last.verdict, 'ok');
    assert.deepEqual([nightly.last.detail.lastAt, nightly.last.detail.lastMessage, nightly.last.detail.lastDurationMs, nightly.last.detail.pings], [pingedAt, 'exported 1200 rows', 90_000, 1]);

    // The story goes on: api recovers and settles; one all-clear for the whole flapping incident,
    // with both failing periods in it; no page repeated by the restart.
    const pagesBefore = hook.bodies.filter((b) => b.includes('"status":"firing"') && b.includes('"probe":"api"')).length;
    await seconds(10, ['batch']);
    const clear = await waitFor('the all-clear', () => hook.bodies.find((b) => b.includes('"status":"resolved"') && b.includes('"probe":"api"')), 10_000, 20);
    assert.match(clear, /recovered after flapping: failing \d+(\.\d)?s in 2 periods over/);
    assert.equal(hook.bodies.filter((b) => b.includes('"status":"firing"') && b.includes('"probe":"api"')).length, pagesBefore, 'no page repeated by the restart');
    assert.ok(!hook.bodies.some((b) => b.includes('"probe":"batch"')), 'batch stayed muted by its maintenance window');
  } finally {
    await daemon.stop();
    await target.close();
    await hook.close();
  }
});
