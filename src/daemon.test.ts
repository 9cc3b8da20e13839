import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requireBinary } from '../test/binaries.js';
import { startDaemon, type Harness } from '../test/daemon-harness.js';
import { closedPort, httpServer, type Running } from '../test/servers.js';
import { waitFor } from '../test/wait.js';

const probeFile = (name: string, url: string, extra = '') => `name: ${name}\nkind: http\nevery: 500ms\ntimeout: 400ms\nurl: ${url}\n${extra}`;

describe('daemon end to end', () => {
  let target: Running;
  let h: Harness;
  let slowStarted = 0;
  before(async () => {
    target = await httpServer((req, res) => {
      if (req.url === '/slow') {
        slowStarted++;
        return void setTimeout(() => res.end('late but fine'), 250);
      }
      if (req.url === '/echo-auth') {
        res.writeHead(200);
        return res.end(`you sent ${req.headers.authorization}`);
      }
      res.end('ok');
    });
    h = await startDaemon('probesDir: probes\nlocation: lab-1\nshutdownGrace: 2s\n', {
      'a.yaml': probeFile('alpha', `${target.url}/`),
      'b.yaml': probeFile('beta', `${target.url}/`),
      's.yaml': probeFile('secretive', `${target.url}/echo-auth`, 'headers:\n  authorization: Bearer ${CANARY}\nexpect:\n  bodyContains: never-there\n'),
    }, { CANARY: 'canary-7f3a9c-secret' });
  });
  after(async () => {
    await h.daemon.stop();
    await target.close();
  });

  it('probes on schedule and exposes results at /metrics and /api/v1/status', async () => {
    await h.logged((l) => l.probe === 'alpha' && l.msg === 'probe ok', 'alpha ok');
    const metrics = (await h.get('/metrics')).text;
    assert.match(metrics, /flowprobe_probe_success\{probe="alpha",kind="http",location="lab-1"\} 1/);
    assert.match(metrics, /flowprobe_probe_verdict\{probe="alpha",verdict="ok",location="lab-1"\} 1/);
    assert.match(metrics, /flowprobe_probe_verdict\{probe="alpha",verdict="degraded",location="lab-1"\} 0/);
    assert.match(metrics, /flowprobe_probe_runs_total\{probe="alpha",result="failure",location="lab-1"\} 0/);
    assert.match(metrics, /flowprobe_config_last_reload_successful\{location="lab-1"\} 1/);
    const status = JSON.parse((await h.get('/api/v1/status')).text) as { probes: Array<{ name: string; state: string; verdict: string }> };
    const alpha = status.probes.find((p) => p.name === 'alpha');
    assert.equal(alpha?.state, 'healthy');
    assert.equal(alpha?.verdict, 'ok');
    const full = JSON.parse((await h.get('/api/v1/status?probe=alpha')).text) as { last?: { checks: unknown[] } };
    assert.equal(full.last?.checks.length, 1);
    assert.equal((await h.get('/healthz')).status, 200);
    assert.equal((await h.get('/readyz')).status, 200);
  });

  it('never shows a secret in logs, metrics or the status API', async () => {
    await h.logged((l) => l.probe === 'secretive' && l.msg === 'probe failed: assertion', 'secretive failed');
    const everything = [h.logs.join('\n'), (await h.get('/metrics')).text, (await h.get('/api/v1/status')).text].join('\n');
    assert.ok(everything.includes('you sent Bearer [REDACTED]'), 'the echoed header shows, scrubbed');
    assert.ok(!everything.includes('canary-7f3a9c-secret'), 'canary leaked');
  });

  it('passes promtool check metrics with no findings', async (t) => {
    const promtool = requireBinary(t, 'promtool', 'prometheus');
    if (!promtool) return;
    const checked = spawnSync(promtool, ['check', 'metrics'], { input: (await h.get('/metrics')).text, encoding: 'utf8' });
    assert.equal(`${checked.stdout}${checked.stderr}`.trim(), '');
    assert.equal(checked.status, 0);
  });

  it('reloads: new probes start, removed probes and their series disappear', async () => {
    h.dir.write('probes/b.yaml', probeFile('gamma', `${target.url}/`));
    const reloaded = await h.daemon.reload();
    assert.equal(reloaded.ok, true);
    await h.logged((l) => l.probe === 'gamma' && l.msg === 'probe ok', 'gamma ok');
    const metrics = (await h.get('/metrics')).text;
    assert.doesNotMatch(metrics, /probe="beta"/);
    assert.match(metrics, /flowprobe_probe_success\{probe="gamma"/);
  });

  it('a probe that changes kind on reload keeps no series of its old kind', async () => {
    const port = await closedPort();
    h.dir.write('probes/b.yaml', `name: gamma\nkind: websocket\nevery: 500ms\ntimeout: 400ms\nurl: ws://127.0.0.1:${port}/\n`);
    assert.equal((await h.daemon.reload()).ok, true);
    await h.logged((l) => l.probe === 'gamma' && String(l.msg).startsWith('probe failed'), 'gamma failed as a websocket probe');
    const metrics = (await h.get('/metrics')).text;
    assert.match(metrics, /flowprobe_probe_success\{probe="gamma",kind="websocket"[^}]*\} 0/);
    assert.doesNotMatch(metrics, /probe="gamma",kind="http"/);
    h.dir.write('probes/b.yaml', probeFile('gamma', `${target.url}/`));
    assert.equal((await h.daemon.reload()).ok, true);
  });

  it('a burst of reloads (a SIGHUP storm) runs them one at a time, at most one more than the first, and ends on the newest files', async () => {
    const reloadedBefore = h.logs.filter((l) => l.includes('"msg":"configuration reloaded"')).length;
    h.dir.write('probes/b.yaml', probeFile('delta', `${target.url}/`));
    const storm = Array.from({ length: 10 }, () => h.daemon.reload());
    h.dir.write('probes/b.yaml', probeFile('epsilon', `${target.url}/`)); // written after they were asked for: the newest is what runs
    const results = await Promise.all(storm);
    assert.ok(results.every((r) => r.ok));
    const reloads = h.logs.filter((l) => l.includes('"msg":"configuration reloaded"')).length - reloadedBefore;
    assert.ok(reloads >= 1 && reloads <= 2, `${reloads} reloads ran for 10 asked`);
    await h.logged((l) => l.probe === 'epsilon' && l.msg === 'probe ok', 'the newest file is what runs');
    assert.doesNotMatch((await h.get('/metrics')).text, /probe="delta"/);
    h.dir.write('probes/b.yaml', probeFile('gamma', `${target.url}/`));
    assert.equal((await h.daemon.reload()).ok, true);
  });

  it('a bad reload keeps the running config, logs why and sets the metric to 0', async () => {
    h.dir.write('probes/b.yaml', 'name: gamma\nkind: http\nurl: 42\n');
    const reloaded = await h.daemon.reload();
    assert.equal(reloaded.ok, false);
    const line = await h.logged((l) => String(l.msg).startsWith('reload failed'), 'reload failure log');
    assert.deepEqual(line.problems, [`${path.join(h.dir.probesDir, 'b.yaml')}:3:6 url: expected an http(s) URL, found 42`]);
    assert.match((await h.get('/metrics')).text, /flowprobe_config_last_reload_successful\{location="lab-1"\} 0/);
    const before = h.logs.filter((l) => l.includes('"probe":"gamma"')).length;
    await waitFor('gamma still probing', () => h.logs.filter((l) => l.includes('"probe":"gamma"')).length > before || undefined);
  });

  it('a reload that changes the scheduler says it takes effect after a restart, and one that changes it back says nothing', async () => {
    h.dir.write('probes/b.yaml', probeFile('gamma', `${target.url}/`)); // the last test left it broken
    h.dir.write('flowprobe.yaml', 'probesDir: probes\nlocation: lab-1\nshutdownGrace: 2s\nscheduler: { spreadStep: 50ms }\n');
    try {
      assert.equal((await h.daemon.reload()).ok, true);
      const line = await h.logged((l) => l.key === 'scheduler.spreadStep', 'the restart warning');
      assert.equal(line.msg, 'scheduler.spreadStep changed: takes effect after a restart');
      assert.equal(h.logs.filter((l) => l.includes('"key":"scheduler.maxConcurrent"')).length, 0, 'only what changed is named');
    } finally {
      h.dir.write('flowprobe.yaml', 'probesDir: probes\nlocation: lab-1\nshutdownGrace: 2s\n');
      assert.equal((await h.daemon.reload()).ok, true);
    }
    // Changed back to what runs: nothing waits for a restart, so nothing is said.
    assert.equal(h.logs.filter((l) => l.includes('"key":"scheduler.spreadStep"')).length, 1);
  });

  it('a reload does not drop the result of a run in flight for an unchanged probe', async () => {
    // Every 10 s: within the 2 s after the reload, only the run already in flight can report.
    const h2 = await startDaemon('probesDir: probes\n', { 'a.yaml': `name: slow-reload\nkind: http\nevery: 10s\ntimeout: 2s\nurl: ${target.url}/slow\n` });
    try {
      const startedBefore = slowStarted;
      await waitFor('a slow run in flight', () => slowStarted > startedBefore || undefined, 12_000, 5);
      const okBefore = h2.logs.filter((l) => l.includes('"probe":"slow-reload"') && l.includes('probe ok')).length;
      assert.equal((await h2.daemon.reload()).ok, true);
      await h2.logged((l) => l.msg === 'configuration reloaded', 'reloaded');
      await waitFor('the in-flight result recorded', () => h2.logs.filter((l) => l.includes('"probe":"slow-reload"') && l.includes('probe ok')).length > okBefore || undefined, 2000, 5);
    } finally {
      await h2.daemon.stop();
    }
  });

  it('shuts down gracefully: a run in flight finishes and is recorded', async () => {
    const slow = await startDaemon('probesDir: probes\nshutdownGrace: 2s\n', { 'a.yaml': probeFile('slow', `${target.url}/slow`) });
    const startedBefore = slowStarted;
    await waitFor('a slow run in flight', () => slowStarted > startedBefore || undefined, 5000, 5);
    await slow.daemon.stop();
    const lines = slow.logs.map((l) => JSON.parse(l) as { msg: string; probe?: string });
    const ok = lines.findIndex((l) => l.probe === 'slow' && l.msg === 'probe ok');
    const stopped = lines.findIndex((l) => l.msg === 'stopped');
    assert.ok(ok >= 0 && ok < stopped, 'the in-flight run was recorded before "stopped"');
    assert.equal((await fetch(`${slow.base}/healthz`).catch(() => undefined)), undefined, 'server closed');
  });

  it('shuts down after the grace period when a run hangs, without recording it as a failure', async () => {
    const hang = await httpServer(() => undefined);
    const stuck = await startDaemon('probesDir: probes\nshutdownGrace: 100ms\n', {
      'a.yaml': 'name: stuck\nkind: http\nevery: 10s\ntimeout: 9s\nurl: URL\n'.replace('URL', hang.url),
    });
    try {
      await waitFor('a run in flight', () => ((stuck.daemon as unknown as { scheduler: { inFlight: number } }).scheduler.inFlight > 0) || undefined, 12_000, 5);
      const started = Date.now();
      await stuck.daemon.stop();
      assert.ok(Date.now() - started < 2000, `stop took ${Date.now() - started}ms`);
      assert.ok(!stuck.logs.some((l) => l.includes('probe failed')), 'an aborted run is not a failure of the target');
    } finally {
      await hang.close();
    }
  });
});

describe('a real Prometheus scrapes the daemon', () => {
  it('sees the probe series with the location label', async (t) => {
    const prometheus = requireBinary(t, 'prometheus', 'prometheus');
    if (!prometheus) return;
    const target = await httpServer((_req, res) => res.end('ok'));
    const h = await startDaemon('probesDir: probes\nlocation: scraped\n', { 'a.yaml': probeFile('scraped-probe', target.url) });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-prom-'));
    const port = await closedPort();
    writeFileSync(path.join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: flowprobe\n    static_configs: [{ targets: ["127.0.0.1:${h.daemon.address?.port}"] }]\n`);
    const child = spawn(prometheus, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
      const query = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent('flowprobe_probe_success{probe="scraped-probe"}')}`).catch(() => undefined);
        if (!res?.ok) return undefined;
        const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
        return body.data.result[0];
      };
      const sample = await waitFor('Prometheus to scrape flowprobe_probe_success', query, 30_000, 250);
      assert.equal(sample.metric.location, 'scraped');
      assert.equal(sample.value[1], '1');
      const up = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=up`).then((r) => r.json() as Promise<{ data: { result: Array<{ value: [number, string] }> } }>);
      assert.equal(up.data.result[0]?.value[1], '1', 'scrape target healthy');
    } finally {
      child.kill('SIGTERM');
      await h.daemon.stop();
      await target.close();
    }
  });
});
