import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startDaemon } from '../../test/daemon-harness.js';
import { httpServer } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';
import { probeSideVerdict } from './probe-side.js';

describe('probe-side problems', () => {
  it('suspects our side only when most probes fail at once', () => {
    const probes = (failing: number, total: number, code = 'connect') => Array.from({ length: total }, (_, i) => ({ failing: i < failing, lastCode: i < failing ? code : undefined }));
    const rule = { ratio: 0.8, minProbes: 3 };
    assert.equal(probeSideVerdict(probes(8, 10), rule).suspected, true);
    assert.equal(probeSideVerdict(probes(7, 10), rule).suspected, false);
    assert.equal(probeSideVerdict(probes(2, 2), rule).suspected, false, 'too few probes to tell');
    assert.equal(probeSideVerdict(probes(10, 10), false).suspected, false, 'disabled');
    assert.equal(probeSideVerdict(probes(9, 10, 'dns'), rule).codes, 'dns ×9');
  });

  it('a cut network pages once, as a probe-side problem, not once per probe', async () => {
    let cut = false;
    const pages: Array<{ status: string; alerts: Array<{ status: string; labels: Record<string, string> }> }> = [];
    const sink = await httpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => (pages.push(JSON.parse(body) as (typeof pages)[number]), res.end()));
    });
    // Five different targets, all unreachable while the "network" is cut.
    const target = await httpServer((req, res) => (cut ? req.socket.destroy() : res.end('ok')));
    const probes = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`p${i}.yaml`, `name: svc-${i}\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/${i}\n`]));
    const config = ['probesDir: probes', 'detect: { failAfter: 2, recoverAfter: 2 }', 'alerting:', `  receivers: [{ name: pager, webhook: { url: "${sink.url}/" } }]`, '  group: { wait: 1s, interval: 200ms }', ''].join('\n');
    const h = await startDaemon(config, probes);
    try {
      cut = true;
      const page = await waitFor('the probe-side page', () => pages.find((p) => p.alerts.some((a) => a.labels.alertname === 'FlowprobeProbeSideProblem' && a.status === 'firing')), 10_000);
      assert.match(JSON.stringify(page), /5 of 5 probes failing at once \(closed ×5\)|of 5 probes failing at once/);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      cut = false;
      await waitFor('the all-clear', () => pages.find((p) => p.alerts.some((a) => a.labels.alertname === 'FlowprobeProbeSideProblem' && a.status === 'resolved')), 10_000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const perProbe = pages.filter((p) => p.alerts.some((a) => a.labels.alertname === 'ProbeFailing'));
      assert.equal(perProbe.length, 0, `no per-probe pages: ${JSON.stringify(perProbe)}`);
    } finally {
      await h.daemon.stop();
      await target.close();
      await sink.close();
    }
  });
});
