// Sequences of faults through the whole daemon: real targets, a real webhook server, a real SMTP
// server, /metrics and the log — on a fake clock, so minutes of faults take seconds and every
// figure is exact to the run. Fault A 30 s → mend 2 min → fault B 40 s → mend → fault C 10 s →
// up 2 s → fault C again 10 s (a flap) → mend; probes b and c fail together, overlapping B.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { Daemon } from '../../src/daemon.js';
import { configDir } from '../config-dir.js';
import { FakeClock, nextSecond } from '../fake-clock.js';
import { httpServer, smtpSink } from '../servers.js';
import { waitFor } from '../wait.js';

interface Hook {
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string>; summary: string; durationMs?: number }>;
}

it('a sequence of faults: one incident each with its own duration, a flap as one incident, one all-clear each, in the log, the webhook, the mail and /metrics', { timeout: 240_000 }, async () => {
  // What each probe's target answers this second.
  const down = new Set<string>();
  const target = await httpServer((req, res) => void res.writeHead(down.has(req.url?.slice(1) ?? '') ? 503 : 200).end());
  const hooks: Hook[] = [];
  const webhook = await httpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => (hooks.push(JSON.parse(body) as Hook), res.writeHead(200).end()));
  });
  const smtp = await smtpSink();
  const mails = smtp.messages;
  const smtpPort = smtp.port;

  const config = [
    'probesDir: probes',
    'stateDir: state',
    'detect: { failAfter: 3, recoverAfter: 2, recoverWithin: 1m }',
    'resources: { interval: 1h }',
    'alerting:',
    '  receivers:',
    `    - { name: hook, webhook: { url: "${webhook.url}/" } }`,
    `    - { name: mail, email: { host: 127.0.0.1, port: ${smtpPort}, requireTls: false, from: flowprobe@lab, to: oncall@lab } }`,
    '  group: { by: [alertname, probe], wait: 1s, interval: 2s, repeat: 4h }',
    // Three of three probes failing at once is flowprobe's own "probably our side" rule; this
    // test is about each probe's incidents, so that rule is off here (tested on its own).
    '  probeSide: false',
    '  retry: { initial: 1s, max: 5s }',
    '',
  ].join('\n');
  const probe = (name: string) => `name: ${name}\nkind: http\ncron: \"* * * * * *\"\ntimeout: 500ms\nurl: ${target.url}/${name}\n`;
  const dir = configDir(config, { 'a.yaml': probe('a'), 'b.yaml': probe('b'), 'c.yaml': probe('c') });
  const logs: Array<Record<string, unknown>> = [];
  const clock = new FakeClock(Date.now() - 3_600_000);
  const daemon = await Daemon.start({
    configFile: dir.configFile,
    env: {},
    clock,
    version: 'test',
    listen: '127.0.0.1:0',
    stateDir: mkdtempSync(path.join(os.tmpdir(), 'flowprobe-incidents-')),
    logLevel: 'debug',
    logDestination: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const base = `http://127.0.0.1:${daemon.address?.port}`;
  const results = () => logs.filter((l) => typeof l.run === 'string').length;
  /** One second of fake time with these targets down; waits for each probe's run of it. */
  const second = async (broken: string[]) => {
    down.clear();
    for (const name of broken) down.add(name);
    const before = results();
    await nextSecond(clock, () => waitFor('this second\'s three runs', () => results() >= before + 3 || undefined, 10_000, 2));
  };
  const seconds = async (n: number, broken: string[] = []) => {
    for (let i = 0; i < n; i++) await second(broken);
  };
  try {
    await seconds(10);
    await seconds(30, ['a']); // fault A
    await seconds(120); // mend 2 min
    await seconds(10, ['a']); // fault B, 40 s; b and c fail together during it
    await seconds(10, ['a', 'b']);
    await seconds(15, ['a', 'b', 'c']);
    await seconds(5, ['a', 'c']);
    await seconds(20);
    await seconds(10, ['a']); // fault C
    await seconds(2); // up for 2 runs: recovered, and within the 2 s flap window when it fails again
    await seconds(10, ['a']); // fault C again: the same incident, flapping
    await seconds(30);
    // Every all-clear delivered: a three times, b and c once, to both receivers.
    await waitFor('the all-clears by webhook', () => hooks.filter((h) => h.status === 'resolved').length >= 5 || undefined, 20_000, 20);
    await waitFor('the all-clears by mail', () => mails.filter((m) => /^Subject: \[RESOLVED\]/m.test(m)).length >= 5 || undefined, 20_000, 20);

    const failing = (probe: string) => hooks.filter((h) => h.status === 'firing').flatMap((h) => h.alerts).filter((a) => a.labels.probe === probe && a.labels.alertname === 'ProbeFailing');
    const cleared = (probe: string) => hooks.filter((h) => h.status === 'resolved').flatMap((h) => h.alerts).filter((a) => a.labels.probe === probe);
    const near = (actual: number | undefined, expected: number) => actual !== undefined && Math.abs(actual - expected) <= 1_000;
    const show = JSON.stringify(hooks.map((h) => h.alerts.map((a) => [a.labels.probe, a.status, a.summary, a.durationMs])));

    // a: fault A 30 s, fault B 40 s, fault C 10 + 10 s flapping — three incidents.
    const clearedA = cleared('a');
    assert.equal(clearedA.length, 3, show);
    assert.ok(near(clearedA[0]?.durationMs, 30_000), show);
    assert.ok(near(clearedA[1]?.durationMs, 40_000), show);
    assert.ok(near(clearedA[2]?.durationMs, 20_000), show);
    assert.match(clearedA[2]?.summary ?? '', /^a \(http\) recovered after flapping: failing \d+(\.\d)?s in 2 periods over/);
    // Pages: A, B, C, and C's flap update — never a page for a recovery.
    assert.deepEqual(failing('a').map((a) => /flapping/.test(a.summary)), [false, false, false, true], show);
    // b and c overlapped: one incident each, each with its own duration.
    assert.equal(cleared('b').length, 1, show);
    assert.ok(near(cleared('b')[0]?.durationMs, 25_000), show);
    assert.equal(cleared('c').length, 1, show);
    assert.ok(near(cleared('c')[0]?.durationMs, 20_000), show);
    // recoverWithin 1m: no incident failed that long, so no "not recovered" page.
    assert.equal(hooks.flatMap((h) => h.alerts).filter((a) => a.labels.alertname === 'ProbeNotRecovered').length, 0, show);
    // One all-clear per incident per receiver, never two with the same text.
    const texts = hooks.filter((h) => h.status === 'resolved').map((h) => h.alerts.map((a) => `${a.labels.probe}:${a.summary}`).join('|'));
    assert.equal(new Set(texts).size, texts.length, texts.join('\n'));
    const mailed = mails.filter((m) => /^Subject: \[RESOLVED\]/m.test(m));
    assert.equal(mailed.length, 5, mailed.map((m) => /^Subject: .*$/m.exec(m)?.[0]).join('\n'));

    // The log tells the same story: five incidents closed, with their failing time.
    const closed = logs.filter((l) => l.reason === 'incident-closed').map((l) => [l.probe, l.outage_ms, l.failing_periods]);
    assert.equal(closed.length, 5, JSON.stringify(closed));
    assert.deepEqual(closed.filter(([p]) => p === 'a').map(([, , periods]) => periods), [1, 1, 2]);

    // /metrics: one MTTR sample per incident, their sum the failing time.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const sample = (name: string, probe: string) => Number(metrics.split('\n').find((line) => line.startsWith(`${name}{`) && line.includes(`probe="${probe}"`))?.split(' ').at(-1));
    assert.equal(sample('flowprobe_outage_duration_seconds_count', 'a'), 3);
    assert.ok(Math.abs(sample('flowprobe_outage_duration_seconds_sum', 'a') - 90) <= 3, `sum ${sample('flowprobe_outage_duration_seconds_sum', 'a')}`);
    assert.equal(sample('flowprobe_outage_duration_seconds_count', 'b'), 1);
    assert.equal(sample('flowprobe_outage_duration_seconds_count', 'c'), 1);
    assert.ok(metrics.split('\n').some((line) => line.startsWith('flowprobe_probe_state{') && line.includes('probe="a"') && line.includes('state="healthy"') && line.endsWith(' 1')));
    // /alerts lists the receivers and how each one's last delivery went.
    const api = (await (await fetch(`${base}/api/v1/alerts`)).json()) as { receivers: Array<{ name: string; kind: string; pending: number; last?: { ok: boolean } }>; warning?: string };
    assert.deepEqual(api.receivers.map((r) => [r.name, r.kind, r.pending, r.last?.ok]), [['hook', 'webhook', 0, true], ['mail', 'email', 0, true]]);
    assert.equal(api.warning, undefined);
    assert.match(await (await fetch(`${base}/alerts`)).text(), /<td>hook<\/td><td>webhook<\/td><td>0<\/td><td>✔ delivered/);
  } finally {
    await daemon.stop();
    await target.close();
    await webhook.close();
    await smtp.close();
  }
});
