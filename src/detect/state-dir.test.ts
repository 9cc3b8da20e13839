// A state directory that cannot be used is a clear error and an alert, not a crash loop.
import { z } from 'zod';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { startDaemon } from '../../test/daemon-harness.js';
import { httpServer, webhookSink } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';
import { StateFile } from './state-file.js';

it('starts, probes and alerts through its receivers when the state directory is unusable', async () => {
  const sink = await webhookSink();
  const pages = sink.bodies;
  const target = await httpServer((_req, res) => res.end('ok'));
  // stateDir lies under a device file: every read and write fails with ENOTDIR.
  const config = ['probesDir: probes', 'stateDir: /dev/null/state', 'alerting:', `  receivers: [{ name: pager, webhook: { url: "${sink.url}/" } }]`, '  group: { wait: 10ms }', ''].join('\n');
  const h = await startDaemon(config, { 'a.yaml': `name: a\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/\n` });
  try {
    await waitFor('the probe still running', () => h.logs.some((l) => l.includes('"probe":"a"') && l.includes('probe ok')) || undefined);
    const page = await waitFor('the state alert', () => pages.find((p) => p.includes('FlowprobeStateUnwritable')), 10_000);
    assert.match(page, /cannot use its state directory/);
    assert.ok(h.logs.some((l) => l.includes('state directory problem') && l.includes('ENOTDIR')), 'the log says why');
  } finally {
    await h.daemon.stop();
    await target.close();
    await sink.close();
  }
});

it('a state directory under /proc (where recursive mkdir never returned) neither freezes a save nor the stop', { timeout: 20_000 }, async () => {
  const target = await httpServer((_req, res) => res.end('ok'));
  const h = await startDaemon('probesDir: probes\nstateDir: /proc/1/nope/state\n', { 'a.yaml': `name: a\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/\n` });
  try {
    await waitFor('a run recorded', () => h.logs.some((l) => l.includes('"probe":"a"') && l.includes('probe ok')) || undefined);
    h.daemon.saveState();
    assert.ok(h.logs.some((l) => l.includes('cannot save detector state') && l.includes('ENOENT')), 'the save failed, said why, and returned');
  } finally {
    await h.daemon.stop();
    await target.close();
  }
});

it('moves a corrupt state file aside and starts empty, saying so', () => {
  const dir = path.join(process.env.TMPDIR ?? '/tmp', `flowprobe-corrupt-${process.pid}-${Date.now()}`);
  const shape = z.strictObject({ x: z.number() });
  const file = new StateFile(path.join(dir, 'detector.json'), shape);
  file.save({ x: 1 });
  writeFileSync(file.file, '{"x": 1,,,');
  assert.equal(file.load(), undefined);
  assert.match(file.problem ?? '', /was not valid JSON \(moved to .*detector\.json\.corrupt-[0-9TZ-]+\): starting from an empty state/);
  file.save({ x: 2 });
  assert.deepEqual(new StateFile(file.file, shape).load(), { x: 2 });
});

it('keeps probing and paging when the state directory is full, and catches up once there is room', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    // Needs root and the right to mount: a machine without them cannot make a full disk.
    console.warn(`\n*** SKIPPED: the full-disk test cannot mount a small tmpfs here (${(error as Error).message.split('\n')[0]}) ***\n`);
    t.skip('cannot mount a tmpfs');
    return;
  }
  const sink = await webhookSink();
  const pages = sink.bodies;
  let healthy = true;
  const target = await httpServer((_req, res) => void res.writeHead(healthy ? 200 : 503).end());
  const filler = path.join(dir, 'filler');
  try {
    writeFileSync(filler, Buffer.alloc(256 * 1024));
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  }
  const stateDir = path.join(dir, 'state');
  const config = ['probesDir: probes', `stateDir: ${stateDir}`, 'detect: { failAfter: 2, recoverAfter: 2 }', 'alerting:', `  receivers: [{ name: pager, webhook: { url: "${sink.url}/" } }]`, '  group: { wait: 10ms, interval: 50ms }', ''].join('\n');
  const h = await startDaemon(config, { 'a.yaml': `name: a\nkind: http\nevery: 100ms\ntimeout: 90ms\nurl: ${target.url}/\n` });
  try {
    healthy = false;
    // The transition cannot be written: the page still goes out, and so does one about the state.
    await waitFor('the probe page', () => pages.find((p) => p.includes('ProbeFailing') && p.includes('"status":"firing"')), 10_000);
    const statePage = await waitFor('the state alert', () => pages.find((p) => p.includes('FlowprobeStateUnwritable') && p.includes('"status":"firing"')), 10_000);
    assert.match(statePage, /no space left on device/);
    assert.equal(pages.filter((p) => p.includes('FlowprobeStateUnwritable') && p.includes('"status":"firing"')).length, 1, 'one alert, not one per failed write');
    const probing = h.logs.filter((l) => l.includes('"probe":"a"') && l.includes('probe failed')).length;
    await waitFor('probing to go on', () => h.logs.filter((l) => l.includes('"probe":"a"') && l.includes('probe failed')).length > probing + 3 || undefined);

    rmSync(filler);
    await waitFor('the state all-clear', () => pages.find((p) => p.includes('FlowprobeStateUnwritable') && p.includes('"status":"resolved"')), 15_000);
    // What was kept in memory is on disk now: a restart would remember the firing alert.
    const saved = JSON.parse(readFileSync(path.join(stateDir, 'alerts.json'), 'utf8')) as { alerts: Record<string, { labels: Record<string, string>; status: string }> };
    assert.ok(Object.values(saved.alerts).some((a) => a.labels.alertname === 'ProbeFailing' && a.labels.probe === 'a' && a.status === 'firing'), 'the firing probe alert was written once there was room');
    // The history database could not even be made while the disk was full: it is tried again
    // every 10 s, and the runs and the incident held meanwhile are written once it opens.
    const history = await waitFor('the history store', async () => {
      const res = await fetch(`${h.base}/api/v1/incidents`);
      return res.ok ? ((await res.json()) as { incidents: Array<{ probe: string; state: string }> }) : undefined;
    }, 15_000, 200);
    assert.deepEqual(history.incidents.map((i) => [i.probe, i.state]), [['a', 'open']], 'the incident that began while the disk was full');
    const runs = (await (await fetch(`${h.base}/api/v1/probes/a/history?step=run`)).json()) as { runs: Array<{ at: string; verdict: string }> };
    assert.ok(runs.runs.length > 0 && Date.parse(runs.runs[0]?.at ?? '') < Date.now() - 5_000, 'runs from before the store opened were held and written');
  } finally {
    await h.daemon.stop();
    await target.close();
    await sink.close();
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});
