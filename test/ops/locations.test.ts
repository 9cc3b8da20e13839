// Two daemons (two locations) probe the same service and both send to one real Alertmanager:
// on-call, behind Alertmanager, gets one notification per incident; Prometheus sees both.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { startAlertmanager } from '../alertmanager.js';
import { requireBinary } from '../binaries.js';
import { startDaemon, type Harness } from '../daemon-harness.js';
import { closedPort, httpServer } from '../servers.js';
import { waitFor } from '../wait.js';

it('two locations, one Alertmanager: one page per incident, both locations in Prometheus', async (t) => {
  const alertmanager = requireBinary(t, 'prometheus-alertmanager', 'prometheus-alertmanager');
  const prometheus = requireBinary(t, 'prometheus', 'prometheus');
  if (!alertmanager || !prometheus) return;
  let healthy = true;
  const service = await httpServer((_req, res) => void res.writeHead(healthy ? 200 : 503).end());
  const pages: Page[] = [];
  const oncall = await httpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => (pages.push(JSON.parse(body) as (typeof pages)[number]), res.end()));
  });
  const am = await startAlertmanager(alertmanager, oncall.url);
  const daemons: Harness[] = [];
  const promDir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-prom-locations-'));
  const promPort = await closedPort();
  let child: ReturnType<typeof spawn> | undefined;
  try {
    for (const location of ['eu-west', 'us-east']) {
      const config = [
        'probesDir: probes',
        `location: ${location}`,
        'detect: { failAfter: 2, recoverAfter: 2 }',
        'alerting:',
        `  receivers: [{ name: am, alertmanager: { url: "${am.url}" } }]`,
        '  group: { wait: 10ms, interval: 100ms }',
        '',
      ].join('\n');
      daemons.push(await startDaemon(config, { 'api.yaml': `name: checkout-api\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${service.url}/\n` }));
    }
    writeFileSync(
      path.join(promDir, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: flowprobe\n    static_configs: [{ targets: [${daemons.map((d) => `"127.0.0.1:${d.daemon.address?.port}"`).join(', ')}] }]\n`,
    );
    child = spawn(prometheus, [`--config.file=${promDir}/prometheus.yml`, `--storage.tsdb.path=${promDir}/data`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: 'ignore' });

    healthy = false;
    for (const d of daemons) await d.logged((l) => l.to === 'failing', 'failing in both locations');
    await waitFor('the page', () => pages.find((p) => p.status === 'firing'), 15_000);
    healthy = true;
    await waitFor('the all-clear', () => pages.find((p) => p.status === 'resolved'), 15_000);

    // A page is a notification that brings a firing alert on-call has not been told about. When
    // the two locations resolve a moment apart, Alertmanager may send an update in between
    // (status "firing", one alert resolved): that is an all-clear in progress, not a new page.
    const paging = newlyFiring(pages);
    assert.equal(paging.length, 1, `one page for one incident, got ${paging.length}: ${JSON.stringify(pages)}`);
    const locations = new Set(paging[0]?.alerts.map((a) => a.labels.location));
    assert.deepEqual([...locations].sort(), ['eu-west', 'us-east'], 'seen from both locations, in one notification');

    const seen = await waitFor('both locations in Prometheus', async () => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('count by (location) (flowprobe_probe_success{probe="checkout-api"})')}`).catch(() => undefined);
      const body = res?.ok ? ((await res.json()) as { data: { result: Array<{ metric: { location: string } }> } }) : undefined;
      return body && body.data.result.length === 2 ? body.data.result.map((r) => r.metric.location).sort() : undefined;
    }, 20_000, 250);
    assert.deepEqual(seen, ['eu-west', 'us-east']);
  } finally {
    child?.kill('SIGTERM');
    for (const d of daemons) await d.daemon.stop();
    await am.close();
    await oncall.close();
    await service.close();
  }
});

type Page = { status: string; alerts: Array<{ status: string; labels: Record<string, string> }> };

function newlyFiring(pages: Page[]): Page[] {
  let told = new Set<string>();
  return pages.filter((page) => {
    const firing = new Set(page.alerts.filter((a) => a.status === 'firing').map((a) => JSON.stringify(a.labels)));
    const isNew = [...firing].some((key) => !told.has(key));
    told = firing;
    return isNew;
  });
}
