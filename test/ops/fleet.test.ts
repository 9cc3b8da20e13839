// test-runner: alone (it starts headless Chromium, which can starve a test file beside it)
// A fleet on one page: three shard daemons write their history to one PostgreSQL (a real
// cluster of the test's own), and the first daemon's page shows every probe, each with its
// shard, in headless Chromium. Then the store stops for a few seconds and comes back: the
// daemons keep probing, every page says the store is unreachable, and afterwards no probe's
// runs have a gap: what ran while it was down was held and written.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import pg from 'pg';
import { ownerOf } from '../../src/config/shard.js';
import { Daemon } from '../../src/daemon.js';
import { systemClock } from '../../src/scheduler/clock.js';
import { launchChromium } from '../browser.js';
import { configDir } from '../config-dir.js';
import { startPostgres } from '../postgres.js';
import { httpServer } from '../servers.js';
import { waitFor } from '../wait.js';

const names = ['api', 'auth', 'billing', 'checkout', 'feed', 'search', 'stream', 'upload', 'web'];
const PASSWORD = 'pg-secret-5d1f0c9e';

it('three shard daemons write to one PostgreSQL; one page shows every probe; the store goes and comes back without a gap', { timeout: 120_000 }, async (t) => {
  const server = await startPostgres();
  if (!server) return t.skip('PostgreSQL is not installed');
  t.after(() => server.close());
  const target = await httpServer((req, res) => {
    // checkout fails: an incident, owned by whichever shard runs it.
    res.statusCode = req.url?.includes('checkout') ? 503 : 200;
    res.end('ok');
  });
  const url = (await server.database('fleet')).replace('flowprobe@', `flowprobe:${PASSWORD}@`); // trust auth: the password is never asked for, only carried
  const dir = configDir('probesDir: probes\nlog: { level: info }\nhistory:\n  postgres: { url: "${PG_URL}" }\n', {
    'all.yaml': names.map((n) => `- name: ${n}\n  kind: http\n  every: 1s\n  timeout: 800ms\n  url: ${target.url}/${n}\n`).join(''),
  });
  const logs: string[] = [];
  const start = (shard: string) =>
    Daemon.start({ configFile: dir.configFile, env: { FLOWPROBE_SHARD: shard, PG_URL: url }, clock: systemClock, version: '0.0.0-test', listen: '127.0.0.1:0', stateDir: `${dir.dir}/state-${shard.replace('/', '-of-')}`, logDestination: { write: (line: string) => void logs.push(line) } });
  const daemons = await Promise.all(['0/3', '1/3', '2/3'].map(start));
  const base = `http://127.0.0.1:${daemons[0]?.address?.port}`;
  const get = async (path: string) => (await fetch(`${base}${path}`)).text();
  const browser = await launchChromium(t);
  try {
    // Every probe on the first daemon's page: its own as live rows, the others' from the store.
    const local = names.filter((n) => ownerOf(n, 3) === 0);
    const remote = names.filter((n) => ownerOf(n, 3) !== 0);
    assert.ok(local.length > 0 && remote.length > 0, `both kinds of row: ${local} | ${remote}`);
    const overview = await waitFor('every probe of the fleet on the first daemon\'s overview', async () => {
      const html = await get('/');
      return remote.every((n) => html.includes(`id="fleet-default-${n}"`)) ? html : undefined;
      // The directory is written every 5 s and read every 5 s: a probe shows within ~10 s.
    }, 45_000, 200);
    for (const n of local) assert.match(overview, new RegExp(`id="row-${n}"`), `${n} is a live row`);
    for (const n of remote) assert.match(overview, new RegExp(`id="fleet-default-${n}"[^>]*data-shard="${ownerOf(n, 3)}/3"`), `${n} is shown with the shard that runs it`);
    if (browser) {
      const page = await browser.newPage();
      await page.goto(`${base}/`);
      const rows = await page.locator('table.fleet tbody tr').count();
      assert.equal(rows, remote.length, 'the fleet table in the browser');
      // A remote probe's page: its bars and uptime, read from the store.
      await page.locator(`#fleet-default-${remote[0]} a`).click();
      await page.waitForURL(/\/probes\//);
      assert.match((await page.locator('h1').textContent()) ?? '', new RegExp(`${remote[0]}.*shard ${ownerOf(remote[0] as string, 3)}/3`));
      assert.match((await page.locator('#days p.uptime').textContent()) ?? '', /24h \d+(\.\d+)? % · 7d/, 'its uptime, from the store');
      await page.close();
    }
    // The failing probe's incident, whichever daemon runs it, on the first daemon's list.
    await waitFor('checkout\'s incident on the first daemon\'s /api/v1/incidents', async () => {
      const body = JSON.parse(await get('/api/v1/incidents?probe=checkout')) as { incidents: Array<{ cause: string; state: string }> };
      return body.incidents.find((i) => i.state === 'open' && /503/.test(i.cause));
    }, 20_000, 200);
    const history = JSON.parse(await get(`/api/v1/probes/${remote[0]}/history?step=run`)) as { runs: unknown[] };
    assert.ok(history.runs.length > 0, 'a remote probe\'s runs through the first daemon\'s API');

    // The store goes away for a few seconds.
    await server.stop();
    const downAt = Date.now();
    const note = await waitFor('the page saying the store is unreachable', async () => {
      const html = await get('/');
      // A batch during the server's own shutdown reads "the server is starting up or shutting
      // down (57P03)" first; once it is gone, every batch is refused.
      return /id="store-note"[^>]*>[^<]*The history store \(PostgreSQL, 127\.0\.0\.1:\d+\/fleet\) is unreachable(?:(?!<\/p>)[\s\S])*connection refused/.test(html) ? html : undefined;
    }, 10_000, 200);
    assert.match(note, /\d+ run\(s\) are held in memory/);
    await waitFor('runs held while it is down', () => (Date.now() - downAt > 4_000 ? true : undefined), 10_000, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200, 'still probing, still ready');
    await server.start();
    await waitFor('the note gone once the store answers', async () => (/id="store-note"/.test(await get('/')) ? undefined : true), 15_000, 200);
  } finally {
    await browser?.close();
    await Promise.all(daemons.map((d) => d.stop()));
    await target.close();
  }
  // Everything written (each daemon's last batch on its stop). Per probe: runs a second apart
  // across the outage, none missing.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = (await client.query<{ probe: string; at: number; shard: string }>('SELECT probe, at::float8 AS at, shard FROM runs ORDER BY probe, at')).rows;
    for (const name of names) {
      const ats = rows.filter((r) => r.probe === name).map((r) => r.at);
      assert.ok(ats.length > 5, `${name}: ${ats.length} runs`);
      const gaps = ats.slice(1).map((at, i) => at - (ats[i] as number));
      assert.ok(Math.max(...gaps) < 2_500, `${name}: a gap of ${Math.max(...gaps)} ms between runs every 1 s`);
      assert.ok(rows.filter((r) => r.probe === name).every((r) => r.shard === `${ownerOf(name, 3)}/3`), `${name} written by its own shard`);
    }
  } finally {
    await client.end();
  }
  const leaked = logs.filter((line) => line.includes(PASSWORD));
  assert.deepEqual(leaked, [], 'the password never in a log line');
  assert.ok(logs.some((line) => /cannot write the history database/.test(line)), 'the outage logged');
});
