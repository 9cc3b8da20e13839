// Heartbeats through the whole daemon: the ping API's answers (a wrong token, an unknown name, a
// bad query, a burst), a job that reports a failure and then recovers; and two daemons that
// watch each other with selfHeartbeat, where the one that stops is reported missed by the other.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startDaemon, type Harness } from '../daemon-harness.js';
import { waitFor } from '../wait.js';

const TOKEN_A = 'daemon-a-heartbeat-token-0123456789';
const TOKEN_B = 'daemon-b-heartbeat-token-0123456789';

const heartbeatProbe = (name: string, token: string) => `name: ${name}\nkind: heartbeat\nevery: 200ms\ntoken: ${token}\npings: { every: 1s, grace: 1s }\n`;
const post = (h: Harness, path: string, token?: string) => fetch(`${h.base}${path}`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
const lastOf = async (h: Harness, probe: string) => ((await (await fetch(`${h.base}/api/v1/status?probe=${probe}`)).json()) as { last?: { verdict: string; failure?: { code: string; message: string }; detail: { pings: number } } }).last;

it('the ping API: a wrong token is 401, an unknown heartbeat 404, a bad query 400, a burst 429; a reported failure fails the probe until an ok ping', { timeout: 60_000 }, async () => {
  const h = await startDaemon('probesDir: probes\nresources: { interval: 1h }\ndetect: { failAfter: 1, recoverAfter: 1 }\n', { 'job.yaml': `name: job\nkind: heartbeat\nevery: 100ms\ntoken: ${TOKEN_A}\npings: { every: 1h }\n` });
  try {
    assert.equal((await post(h, '/api/v1/heartbeats/job', 'wrong-token-0123456789-0123456789')).status, 401);
    assert.equal((await post(h, '/api/v1/heartbeats/job')).status, 401);
    assert.equal((await post(h, '/api/v1/heartbeats/nope', TOKEN_A)).status, 404);
    assert.equal((await fetch(`${h.base}/api/v1/heartbeats/job`)).status, 405);
    const bad = await post(h, '/api/v1/heartbeats/job?status=maybe', TOKEN_A);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /status: expected status=ok or status=fail/);

    const failed = await post(h, `/api/v1/heartbeats/job?status=fail&duration=2m&msg=${encodeURIComponent('export: disk full')}`, TOKEN_A);
    assert.equal(failed.status, 200, await failed.text());
    const failure = await waitFor('the failure reported', async () => ((await lastOf(h, 'job'))?.failure?.code === 'assertion' ? (await lastOf(h, 'job'))?.failure : undefined));
    assert.match(failure.message, /^job reported a failure at \d{4}-\d\d-\d\d \d\d:\d\d UTC: export: disk full \(ran 2m\)$/);
    assert.equal((await post(h, '/api/v1/heartbeats/job', TOKEN_A)).status, 200);
    await waitFor('ok again after an ok ping', async () => (await lastOf(h, 'job'))?.verdict === 'ok' || undefined);

    // A job in a loop: a burst of 10 is taken (2 already were), then 429 with Retry-After.
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12; i++) {
      const res = await post(h, '/api/v1/heartbeats/job', TOKEN_A);
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    assert.ok(statuses.filter((s) => s === 429).length >= 3, `statuses: ${statuses.join(',')}`);
    assert.equal(retryAfter, '1');
    assert.ok(!h.logs.some((l) => l.includes(TOKEN_A)), 'the token is in no log line');
  } finally {
    await h.daemon.stop();
  }
});

it('two daemons watch each other: while both run each sees the other\'s pings; the one that stops is reported missed', { timeout: 60_000 }, async () => {
  // B watches A (a-alive) and pings A; A is started first, told about B by a reload.
  const a = await startDaemon('probesDir: probes\nresources: { interval: 1h }\n', { 'b.yaml': heartbeatProbe('b-alive', TOKEN_B) });
  const configB = ['probesDir: probes', 'resources: { interval: 1h }', `selfHeartbeat: { url: "${a.base}/api/v1/heartbeats/b-alive", every: 1s, token: "\${TOKEN}" }`, ''].join('\n');
  const b = await startDaemon(configB, { 'a.yaml': heartbeatProbe('a-alive', TOKEN_A) }, { TOKEN: TOKEN_B });
  let aStopped = false;
  try {
    a.dir.write('flowprobe.yaml', ['probesDir: probes', 'resources: { interval: 1h }', `selfHeartbeat: { url: "${b.base}/api/v1/heartbeats/a-alive", every: 1s, token: "${TOKEN_A}" }`, ''].join('\n'));
    assert.equal((await a.daemon.reload()).ok, true);
    await waitFor('each has the other\'s pings', async () => ((await lastOf(a, 'b-alive'))?.detail.pings ?? 0) >= 2 && ((await lastOf(b, 'a-alive'))?.detail.pings ?? 0) >= 2 || undefined, 15_000, 50);
    assert.equal((await lastOf(a, 'b-alive'))?.verdict, 'ok');
    assert.equal((await lastOf(b, 'a-alive'))?.verdict, 'ok');

    await a.daemon.stop();
    aStopped = true;
    const missed = await waitFor('B reports A missed', async () => {
      const last = await lastOf(b, 'a-alive');
      return last?.failure?.code === 'missed' ? last.failure : undefined;
    }, 15_000, 50);
    assert.match(missed.message, /^no ping from a-alive for [0-9.]+s \(expected every 1s ± 1s\); last at \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    // B's own pings to the stopped A fail, and B says so in its log, without the token.
    await waitFor('B logs its undelivered pings', () => b.logs.find((l) => l.includes('self heartbeat not delivered')), 10_000, 50);
    assert.ok(!b.logs.some((l) => l.includes(TOKEN_B)), 'B\'s token is in no log line');
  } finally {
    if (!aStopped) await a.daemon.stop();
    await b.daemon.stop();
  }
});
