// The daemon probing the demo service (every probe kind), a real Prometheus scraping it with
// the example rules loaded, and every PromQL expression of the Grafana dashboard and the rules
// run against that Prometheus: each must be valid and return data — a dashboard or rule that
// references a metric we do not export fails the build.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { requireBinary } from '../binaries.js';
import { startDaemon } from '../daemon-harness.js';
import { closedPort } from '../servers.js';
import { waitFor } from '../wait.js';
import { startDemoService } from '../../src/demo/service.js';
import { testPki } from '../tls.js';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RULES = path.join(ROOT, 'config/prometheus/flowprobe-rules.yml');
const DASHBOARD = path.join(ROOT, 'config/grafana/flowprobe-dashboard.json');

interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string; legendFormat?: string }> }>;
  templating: { list: Array<{ name: string; query?: { query: string } | string }> };
}

function dashboardExpressions(): Array<{ where: string; expr: string; legend?: string | undefined }> {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const panels = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `dashboard panel "${p.title}"`, expr: t.expr, legend: t.legendFormat })));
  const variables = dashboard.templating.list.flatMap((v) => {
    const query = typeof v.query === 'string' ? undefined : v.query?.query;
    const inner = query && /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1];
    return inner ? [{ where: `dashboard variable $${v.name}`, expr: inner }] : [];
  });
  return [...panels, ...variables];
}

function ruleExpressions(): Array<{ where: string; expr: string; alert: boolean }> {
  const text = readFileSync(RULES, 'utf8');
  const found: Array<{ where: string; expr: string; alert: boolean }> = [];
  let name = '';
  for (const line of text.split('\n')) {
    const named = /^\s*- (record|alert): (.+)$/.exec(line);
    if (named) name = `${named[1]} ${named[2]}`;
    const expr = /^\s*expr: (.+)$/.exec(line);
    if (expr) found.push({ where: `rule ${name}`, expr: expr[1] as string, alert: name.startsWith('alert') });
  }
  return found;
}

/** A legend names only labels its series have, and tells its series apart. */
function legendProblems(where: string, legend: string, series: Array<Record<string, string>>): string[] {
  const names = [...legend.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1] as string);
  const missing = names.filter((name) => series.some((labels) => labels[name] === undefined));
  if (missing.length > 0) return [`${where}: legend "${legend}" names ${missing.join(', ')}, which its series lack`];
  const shown = series.map((labels) => names.map((name) => labels[name]).join(' '));
  if (new Set(shown).size < series.length) return [`${where}: legend "${legend}" does not tell its ${series.length} series apart (labels: ${Object.keys(series[0] ?? {}).join(', ')})`];
  return [];
}

/** Dashboard variables and Grafana's interval macro, as Grafana would expand them for "All". */
function expand(expr: string): string {
  return expr.replaceAll('$__rate_interval', '30s').replaceAll('$__range', '1m').replaceAll('$location', '.*').replaceAll('$probe', '.*');
}

describe('the Grafana dashboard reads in five seconds', () => {
  type Panel = { title: string; type: string; description?: string; fieldConfig?: { defaults?: { thresholds?: { steps: Array<{ color: string; value: number | null }> }; mappings?: unknown[] } } };
  const panels = (JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] }).panels;
  const byTitle = (title: string) => panels.find((p) => p.title === title);

  it('every panel says what it shows', () => {
    assert.deepEqual(panels.filter((p) => p.type !== 'row' && !p.description?.trim()).map((p) => p.title), []);
  });

  it('failing turns red and degraded amber', () => {
    const colours = (title: string) => byTitle(title)?.fieldConfig?.defaults?.thresholds?.steps.map((s) => `${s.color}@${s.value ?? 'base'}`);
    assert.deepEqual(colours('Probes failing'), ['green@base', 'red@1']);
    assert.deepEqual(colours('Probes degraded'), ['green@base', 'orange@1']);
    assert.deepEqual(colours('Alerts firing'), ['green@base', 'red@1']);
  });

  it('shows state as a timeline with named states, uptime as a table, and the outbox both ways', () => {
    const state = byTitle('Probe state');
    assert.equal(state?.type, 'state-timeline');
    assert.match(JSON.stringify(state?.fieldConfig?.defaults?.mappings), /healthy.*degraded.*failing/);
    assert.equal(byTitle('Uptime and latency over the range')?.type, 'table');
    assert.match(JSON.stringify(byTitle('Outbox pending and oldest age')), /flowprobe_outbox_oldest_age_seconds/);
    assert.match(JSON.stringify(byTitle('Outbox pending and oldest age')), /flowprobe_outbox_pending/);
  });
});

describe('Prometheus and Grafana against a live daemon', () => {
  it('promtool accepts the example config and rules', (t) => {
    const promtool = requireBinary(t, 'promtool', 'prometheus');
    if (!promtool) return;
    for (const args of [['check', 'config', path.join(ROOT, 'config/prometheus/prometheus.yml')], ['check', 'rules', RULES]]) {
      const r: { status: number | null; stdout: string; stderr: string } = spawnSync(promtool, args, { encoding: "utf8" });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
  });

  it('every dashboard and rule expression is valid and returns data', async (t) => {
    const prometheus = requireBinary(t, 'prometheus', 'prometheus');
    if (!prometheus) return;
    const secret = 'observability-test-jwt-secret-0123';
    const demo = await startDemoService({ jwtSecret: secret, faultToken: 'x', tickMs: 200, dashboardRefreshMs: 50 });
    const ws = demo.wsUrl;
    const closed = await closedPort();
    const probes: Record<string, string> = {
      'http.yaml': `name: health\nkind: http\nevery: 1s\ntimeout: 800ms\nurl: ${demo.url}/healthz\nmetrics: { phases: true }\n`,
      // Series that exist only once something went wrong: a failure's reason, a transition, the
      // current outage, a WebSocket connection refused.
      'down.yaml': `- name: down\n  kind: http\n  every: 1s\n  timeout: 500ms\n  url: http://127.0.0.1:${closed}/\n- name: channel-down\n  kind: websocket\n  every: 1s\n  timeout: 500ms\n  url: ws://127.0.0.1:${closed}/\n`,
      'sse.yaml': `name: stream\nkind: sse\nevery: 2s\ntimeout: 1500ms\nurl: ${demo.url}/api/stream\nhold: 1s\nholdFull: true\nexpect: { minEvents: 1 }\n`,
      'ws.yaml': `name: channel\nkind: websocket\nevery: 2s\ntimeout: 1500ms\nurl: ${ws}\nauth: { jwt: { secret: "\${JWT}", in: query } }\nrtt: { samples: 3 }\nburst: { count: 10, send: { json: { type: echo, seq: "{{seq}}" } }, seqPath: $.seq, within: 1s }\n`,
      'flow.yaml': `name: pipeline\nkind: flow\nevery: 2s\ntimeout: 1500ms\nwatch: [{ name: stream, sse: { url: "${demo.url}/api/stream" } }]\nsteps:\n  - inject: { url: "${demo.url}/api/ingest", json: { marker: "{{run.id}}" } }\n  - await: { on: stream, match: { json: { $.marker: "{{run.id}}" } }, within: 1s }\n  - poll: { url: "${demo.url}/api/dashboard", until: { "$.items[*].marker": "{{run.id}}" }, every: 50ms, within: 1s }\n`,
    };
    const config = [
      'probesDir: probes',
      'location: ci',
      'detect: { degraded: { factor: 3, minSamples: 2, sustain: 1m } }',
      'alerting:',
      `  receivers: [{ name: pager, webhook: { url: "${demo.url}/oncall" } }]`,
      '',
    ].join('\n');
    // A TLS endpoint: the certificate panel and rule read what it served.
    const pki = testPki();
    const secure = https.createServer({ key: pki.expiring.key, cert: pki.expiring.cert }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    probes['tls.yaml'] = `name: secure\nkind: http\nevery: 1s\ntimeout: 800ms\nurl: https://localhost:${(secure.address() as AddressInfo).port}/\ntls: { ca: ${pki.root.certFile} }\n`;
    const h = await startDaemon(config, probes, { JWT: secret });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-prom-'));
    copyFileSync(RULES, path.join(dir, 'flowprobe-rules.yml'));
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nrule_files: [flowprobe-rules.yml]\nscrape_configs:\n  - job_name: flowprobe\n    static_configs: [{ targets: ["127.0.0.1:${h.daemon.address?.port}"] }]\n`,
    );
    const port = await closedPort();
    const child = spawn(prometheus, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/data`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    type QueryResult = { status: string; error?: string; data?: { result: Array<{ metric: Record<string, string> }> } };
    const query = async (expr: string): Promise<QueryResult> => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return (await res.json()) as QueryResult;
    };
    try {
      // Long enough for every probe kind to have run several times and for rates to exist.
      await waitFor('flow legs in Prometheus', async () => ((await query('flowprobe_flow_leg_seconds_count').catch(() => undefined))?.data?.result.length ? true : undefined), 30_000, 500);
      await waitFor('30s of history', async () => ((await query('count_over_time(flowprobe_build_info[30s]) >= 12').catch(() => undefined))?.data?.result.length ? true : undefined), 40_000, 1000);
      const problems: string[] = [];
      for (const { where, expr, legend } of dashboardExpressions()) {
        const r = await query(expand(expr));
        if (r.status !== 'success') problems.push(`${where}: invalid: ${r.error}`);
        else if (!r.data?.result.length) problems.push(`${where}: no data for ${expand(expr)}`);
        else if (legend !== undefined) problems.push(...legendProblems(where, legend, r.data.result.map((x) => x.metric)));
      }
      for (const { where, expr, alert } of ruleExpressions()) {
        // An alert's condition is empty while nothing is wrong: its operands must have data.
        const operand = alert ? expr.replace(/\s*(==|>|<)\s*[\d.()* ]+(?=$|\s+(or|and)\s)/g, '') : expr;
        const r = await query(operand);
        if (r.status !== 'success') problems.push(`${where}: invalid: ${r.error}`);
        else if (!r.data?.result.length) problems.push(`${where}: no data for ${operand}`);
      }
      assert.deepEqual(problems, []);
    } finally {
      child.kill('SIGTERM');
      await h.daemon.stop();
      await demo.close();
      secure.closeAllConnections();
      secure.close();
    }
  });
});
