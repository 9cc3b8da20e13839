// A state directory that cannot be used is a clear error and an alert, not a crash loop.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { startDaemon } from '../../test/daemon-harness.js';
import { httpServer } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';
import { StateFile } from './state-file.js';

it('starts, probes and alerts through its receivers when the state directory is unusable', async () => {
  const pages: string[] = [];
  const sink = await httpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => (pages.push(body), res.end()));
  });
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

it('moves a corrupt state file aside and starts empty, saying so', () => {
  const dir = path.join(process.env.TMPDIR ?? '/tmp', `flowprobe-corrupt-${process.pid}-${Date.now()}`);
  const file = new StateFile<{ x: number }>(path.join(dir, 'detector.json'));
  file.save({ x: 1 });
  writeFileSync(file.file, '{"x": 1,,,');
  assert.equal(file.load(), undefined);
  assert.match(file.problem ?? '', /was not valid JSON \(moved to .*detector\.json\.corrupt-\d+\): starting from an empty state/);
  file.save({ x: 2 });
  assert.deepEqual(new StateFile(file.file).load(), { x: 2 });
});
