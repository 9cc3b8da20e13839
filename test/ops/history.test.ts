// test-runner: alone (it starts headless Chromium, which can starve a test file beside it)
// The history store through a whole daemon: two faults make two incidents with their own causes,
// read back from the API, the badges and the pages in headless Chromium (the daily bars
// focusable and read out, the chart labelled, /incidents filtered); and a daemon killed with
// SIGKILL loses at most the last second of runs and leaves a database that checks clean.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { it, type TestContext } from 'node:test';
import { launchChromium } from '../browser.js';
import { configDir } from '../config-dir.js';
import { startDaemon } from '../daemon-harness.js';
import { closedPort, httpServer } from '../servers.js';
import { waitFor } from '../wait.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

interface IncidentJson {
  probe: string;
  state: 'open' | 'closed';
  cause: string;
  failingSeconds: number | null;
  timeline: Array<{ text: string }>;
}

it('two faults are two incidents with their causes, on the API, the badges and the pages', { timeout: 90_000 }, async (t) => {
  let status = 200;
  const target = await httpServer((_req, res) => void res.writeHead(status).end('ok'));
  const h = await startDaemon('probesDir: probes\ndetect: { failAfter: 2, recoverAfter: 2, failureRatio: false, flapWindow: 1s }\n', {
    // Room in the deadline: Chromium starting beside this process must not fail a healthy run (CI
    // once saw a third incident open while the pages were read, at a 150 ms timeout).
    'api.yaml': `name: api\nkind: http\nevery: 500ms\ntimeout: 450ms\nurl: ${target.url}/\n`,
  });
  const incidents = async (query = '') => ((await (await fetch(`${h.base}/api/v1/incidents${query}`)).json()) as { incidents: IncidentJson[] }).incidents;
  const problems: string[] = [];
  const browser = await launchChromium(t);
  try {
    for (const [fault, count] of [[503, 1], [500, 2]] as const) {
      status = fault;
      await waitFor(`incident ${count} open`, async () => ((await incidents('?state=open')).length === 1 ? true : undefined), 15_000, 50);
      status = 200;
      await waitFor(`incident ${count} closed`, async () => ((await incidents('?state=closed')).length === count ? true : undefined), 15_000, 50).catch(async (e) => {
        throw new Error(`${(e as Error).message}: ${JSON.stringify(await incidents())}`);
      });
    }
    const [second, first] = await incidents();
    assert.match(first?.cause ?? '', /503/, 'the first fault, with its own cause');
    assert.match(second?.cause ?? '', /500/, 'the second, newest first');
    for (const i of [first, second]) {
      assert.equal(i?.state, 'closed');
      assert.ok((i?.failingSeconds ?? 99) < 10, `failing ${i?.failingSeconds}s`);
      assert.match(i?.timeline.at(-1)?.text ?? '', /^closed: failing/);
    }
    assert.deepEqual(await incidents('?probe=nope'), []);
    assert.equal((await fetch(`${h.base}/api/v1/incidents?state=maybe`)).status, 400);

    const runs = (await (await fetch(`${h.base}/api/v1/probes/api/history?step=run`)).json()) as { runs: Array<{ verdict: string; ms?: number }> };
    assert.ok(runs.runs.some((r) => r.verdict === 'failed') && runs.runs.some((r) => r.verdict === 'ok' && typeof r.ms === 'number'));
    const hours = (await (await fetch(`${h.base}/api/v1/probes/api/history?step=hour`)).json()) as { buckets: Array<{ runs: number; ok: number; failed: number; p95Ms: number | null }> };
    const runsInHours = hours.buckets.reduce((n, b) => n + b.runs, 0);
    assert.ok(runsInHours >= runs.runs.length, `the hours count every run: ${runsInHours} vs ${runs.runs.length}`);
    assert.ok(hours.buckets.every((b) => b.ok + b.failed === b.runs && (b.p95Ms ?? 0) > 0));
    assert.equal((await fetch(`${h.base}/api/v1/probes/nope/history`)).status, 404);
    assert.equal((await fetch(`${h.base}/api/v1/probes/api/history?step=week`)).status, 400);

    assert.match(await (await fetch(`${h.base}/badges/api/status.svg`)).text(), /aria-label="api status: up"/);
    const uptime = (await (await fetch(`${h.base}/badges/api/shields.json?window=24h`)).json()) as { message: string; schemaVersion: number };
    assert.equal(uptime.schemaVersion, 1);
    assert.match(uptime.message, /^\d{1,2}\.\d\d %$/, 'under 100 %: runs failed today');
    assert.equal((await fetch(`${h.base}/badges/api/uptime.svg?window=1y`)).status, 400);

    await checkFeed(t, `${h.base}/incidents.atom`);

    if (!browser) return;
    // The pages agree with the API, whatever else happened since (a run that failed while they were
    // read would add an incident to both).
    const incidentCount = (await incidents()).length;
    assert.ok(incidentCount >= 2, `${incidentCount} incidents`);
    const page = await browser.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => void (message.type() === 'error' && problems.push(`console: ${message.text()}`)));
    await page.goto(`${h.base}/`);
    const strip = page.locator('#row-api .days[role="img"]');
    assert.match((await strip.getAttribute('aria-label')) ?? '', /^90 days: 1 with failures of 1 % or more/);
    assert.equal(await strip.getAttribute('tabindex'), '0');
    assert.match((await page.locator('#row-api .uptime').textContent()) ?? '', /^30 d \d{1,2}\.\d\d %$/);

    await page.goto(`${h.base}/probes/api`);
    const days = page.locator('ol.days.each li');
    assert.equal(await days.count(), 90);
    const today = new Date().toISOString().slice(0, 10);
    assert.match((await days.last().getAttribute('aria-label')) ?? '', new RegExp(`^${today}: \\d{1,2}\\.\\d\\d % up \\(\\d+ of \\d+ runs failed\\), ${incidentCount} incidents$`));
    await days.nth(88).focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), await days.last().getAttribute('aria-label'), 'Tab walks the bars');
    assert.match((await page.locator('p.uptime').textContent()) ?? '', /24h \d{1,2}\.\d\d % · 7d/);
    assert.match((await page.locator('svg.chart').first().getAttribute('aria-label')) ?? '', /per hour over 24 hours: p95 at most/);
    assert.equal(await page.locator('#history table.incidents tbody tr').count(), incidentCount);
    assert.match((await page.locator('#history .meta').textContent()) ?? '', /MTTR/);

    await page.goto(`${h.base}/incidents?state=closed`);
    assert.equal(await page.locator('table.incidents tbody tr').count(), (await incidents('?state=closed')).length);
    await page.goto(`${h.base}/incidents?state=open`);
    assert.match((await page.locator('main').textContent()) ?? '', /No incident recorded/);
    assert.deepEqual(problems, []);
  } finally {
    await browser?.close();
    await h.daemon.stop();
    await target.close();
  }
});

it('kill -9 loses at most the last second of runs and of the hour and day counts, and leaves a database that checks clean', { timeout: 60_000 }, async () => {
  const target = await httpServer((_req, res) => void res.end('ok'));
  const port = await closedPort();
  const dir = configDir(`probesDir: probes\nlisten: 127.0.0.1:${port}\n`, { 'api.yaml': `name: api\nkind: http\nevery: 100ms\ntimeout: 90ms\nurl: ${target.url}/\n` });
  const base = `http://127.0.0.1:${port}`;
  const start = () => spawn(process.execPath, [MAIN, 'run', '--config', dir.configFile], { stdio: 'ignore' });
  const recorded = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return [...text.matchAll(/^flowprobe_probe_runs_total\{probe="api",result="(?:success|failure)"[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  let daemon: ChildProcess = start();
  try {
    await waitFor('20 runs', async () => ((await recorded().catch(() => 0)) >= 20 ? true : undefined), 15_000, 50);
    const before = await recorded();
    // Every run counted now was queued before this pause; a batch is written each second.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    daemon.kill('SIGKILL');
    await new Promise((resolve) => daemon.once('exit', resolve));
    const file = path.join(dir.dir, 'state', 'history.db');
    const db = new DatabaseSync(file);
    assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    const kept = (db.prepare("SELECT count(*) AS n FROM runs WHERE probe = 'api'").get() as { n: number }).n;
    const hours = (db.prepare("SELECT coalesce(sum(runs), 0) AS n FROM aggregates WHERE probe = 'api' AND span = 'hour'").get() as { n: number }).n;
    db.close();
    assert.ok(kept >= before, `${kept} runs kept of the ${before} counted 1.5 s before the kill`);
    // The hour in progress is written in the same transaction as the runs: it counts exactly them.
    assert.equal(hours, kept, 'the hour counts the runs the table kept');

    daemon = start();
    await waitFor('the restarted daemon', async () => (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) || undefined, 10_000, 20);
    assert.deepEqual(readdirSync(path.dirname(file)).filter((f) => f.includes('unreadable')), [], 'nothing was moved aside');
    await waitFor('runs after the restart', async () => {
      const runs = (await (await fetch(`${base}/api/v1/probes/api/history?step=run`)).json()) as { runs: unknown[] };
      return runs.runs.length > kept ? true : undefined;
    }, 10_000, 50);

    // README: a consistent copy while the daemon runs, once a batch since the restart is written.
    await waitFor('a batch written since the restart', () => {
      const reader = new DatabaseSync(file, { readOnly: true });
      try {
        return (reader.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n > kept || undefined;
      } finally {
        reader.close();
      }
    }, 10_000, 100);
    const copy = path.join(dir.dir, 'backup.db');
    const backup = spawnSync(process.execPath, [MAIN, 'backup-history', copy, '--config', dir.configFile], { encoding: 'utf8' });
    assert.equal(backup.status, 0, backup.stderr);
    assert.match(backup.stdout, /^copied .*history\.db to .*backup\.db \(\d+\.\d MB\)$/m);
    const copied = new DatabaseSync(copy, { readOnly: true });
    assert.equal((copied.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    assert.ok((copied.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n > kept, 'the copy holds the runs since the restart too');
    copied.close();
    const again = spawnSync(process.execPath, [MAIN, 'backup-history', copy, '--config', dir.configFile], { encoding: 'utf8' });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /exists: give a new file/);
  } finally {
    daemon.kill('SIGKILL');
    await target.close();
  }
});

/** The incidents feed, read by feedparser (Debian's python3-feedparser): well-formed Atom 1.0
 * (no "bozo" error), both incidents as entries with their causes, ids stable across reads. */
async function checkFeed(t: TestContext, url: string): Promise<void> {
  const hasParser = spawnSync('/usr/bin/python3', ['-c', 'import feedparser'], { encoding: 'utf8' }).status === 0;
  if (!hasParser) {
    if (process.env.CI === 'true') assert.fail('python3-feedparser is needed (apt-get install -y python3-feedparser)');
    console.error('!!! SKIPPING the feed check: python3-feedparser not installed (apt-get install -y python3-feedparser)');
    return t.diagnostic('feed check skipped: python3-feedparser not installed');
  }
  const res = await fetch(url);
  assert.equal(res.headers.get('content-type'), 'application/atom+xml; charset=utf-8');
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'flowprobe-feed-')), 'incidents.atom');
  writeFileSync(file, await res.text());
  const script = [
    'import feedparser, json, sys',
    'f = feedparser.parse(sys.argv[1])',
    'print(json.dumps({"bozo": f.bozo, "error": str(f.get("bozo_exception", "")), "version": f.version, "title": f.feed.get("title"), "entries": [{"id": e.id, "title": e.title, "link": e.link, "updated": e.updated} for e in f.entries]}))',
  ].join('\n');
  const parsed = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
  assert.equal(parsed.status, 0, parsed.stderr);
  const feed = JSON.parse(parsed.stdout) as { bozo: boolean | number; error: string; version: string; title: string; entries: Array<{ id: string; title: string; link: string }> };
  assert.ok(!feed.bozo, `not well-formed Atom: ${feed.error}`);
  assert.equal(feed.version, 'atom10');
  assert.match(feed.title, /^flowprobe incidents at default$/);
  assert.deepEqual(feed.entries.map((e) => /recovered after .* failing: .*(500|503)/.exec(e.title)?.[1]), ['500', '503'], 'newest first, each with its cause');
  assert.ok(feed.entries.every((e) => /\/probes\/api$/.test(e.link) && e.link.startsWith('http://127.0.0.1:')), 'links resolve against the daemon');
  assert.equal(new Set(feed.entries.map((e) => e.id)).size, 2);
}
