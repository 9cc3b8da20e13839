import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { alertingConfig } from '../../../test/alerting.js';
import { startAlertmanager } from '../../../test/alertmanager.js';
import { requireBinary } from '../../../test/binaries.js';
import { httpServer } from '../../../test/servers.js';
import { waitFor } from '../../../test/wait.js';
import { systemClock } from '../../scheduler/clock.js';
import { AlertEngine } from '../engine.js';

it('a real Alertmanager shows the alert firing, then resolved, and notifies on-call of both', async (t) => {
  const binary = requireBinary(t, 'prometheus-alertmanager', 'prometheus-alertmanager');
  if (!binary) return;
  const notified: Array<{ status: string; alerts: Array<{ labels: Record<string, string> }> }> = [];
  const oncall = await httpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      notified.push(JSON.parse(body) as (typeof notified)[number]);
      res.end();
    });
  });
  const am = await startAlertmanager(binary, oncall.url);
  const engine = new AlertEngine({
    clock: systemClock,
    stateDir: mkdtempSync(path.join(os.tmpdir(), 'flowprobe-am-engine-')),
    location: 'lab',
    config: alertingConfig({ receivers: [{ name: 'am', alertmanager: { url: am.url } }], group: { wait: '10ms', interval: '10ms', repeat: '1h' } }),
    events: { attempt: () => undefined, decision: () => undefined, saveError: (e) => assert.fail(String(e)) },
  });
  engine.start();
  const labels = { alertname: 'ProbeFailing', probe: 'api', severity: 'critical', location: 'lab' };
  const active = async () => {
    const res = await fetch(`${am.url}/api/v2/alerts?filter=probe%3D%22api%22`);
    return (await res.json()) as Array<{ labels: Record<string, string>; status: { state: string }; annotations: Record<string, string> }>;
  };
  try {
    engine.handle([{ labels, status: 'firing', at: Date.now(), summary: 'api is failing', checks: [], evidence: {} }]);
    const [firing] = await waitFor('the alert in Alertmanager', async () => {
      const list = await active();
      return list.length ? list : undefined;
    });
    assert.equal(firing?.status.state, 'active');
    assert.deepEqual(firing?.labels, labels);
    assert.equal(firing?.annotations.summary, 'api is failing');
    await waitFor('on-call notified of the firing alert', () => notified.find((n) => n.status === 'firing'));

    engine.handle([{ labels, status: 'resolved', at: Date.now(), summary: 'api recovered', checks: [], evidence: {} }]);
    await waitFor('the alert resolved in Alertmanager', async () => ((await active()).length === 0 ? true : undefined));
    await waitFor('on-call notified of the resolution', () => notified.find((n) => n.status === 'resolved'));
    assert.equal(notified.filter((n) => n.status === 'firing').length, 1);
  } finally {
    engine.stop();
    await am.close();
    await oncall.close();
  }
});
