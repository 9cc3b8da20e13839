// Input a running daemon takes from outside — API bodies, its own state files, a reload — goes
// through the same validating compile step as the config: a bad value is refused with a clear
// answer, and the daemon keeps probing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { mutedBy } from '../../src/alerting/maintenance.js';
import { daemonConfigSchema } from '../../src/config/schema.js';
import { startDaemon, type Harness } from '../daemon-harness.js';
import { assertNoLeak } from '../handles.js';
import { httpServer, webhookSink } from '../servers.js';
import { waitFor } from '../wait.js';

const TOKEN = 'test-token-0123456789abcdef';

async function post(h: Harness, body: string | Buffer): Promise<{ status: number; json: { error?: string; id?: string } }> {
  const res = await fetch(`${h.base}/api/v1/silences`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  return { status: res.status, json: (await res.json()) as { error?: string; id?: string } };
}

async function probeRuns(h: Harness, probe: string): Promise<number> {
  const text = (await h.get('/metrics')).text;
  const runs = [...text.matchAll(new RegExp(`^flowprobe_probe_runs_total\\{[^}]*probe="${probe}"[^}]*\\} (\\d+)`, 'gm'))];
  return runs.reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('the silences API', () => {
  it('answers 400, 413 and 409 for what it cannot take, and the daemon keeps going', async () => {
    const target = await httpServer((_req, res) => res.end('ok'));
    const h = await startDaemon(`probesDir: probes\napiToken: ${TOKEN}\nalerting: { group: { wait: 10ms, interval: 50ms } }\n`, { 'a.yaml': `name: a\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/\n` });
    try {
      const badRegex = await post(h, JSON.stringify({ matchers: { probe: '/payments-[/' }, duration: '1h', comment: 'x' }));
      assert.equal(badRegex.status, 400);
      assert.match(badRegex.json.error ?? '', /^matchers\.probe: expected a regular expression RE2 can run \(no backreferences or lookaround\): missing closing \]/);
      const everything = await post(h, JSON.stringify({ matchers: { probe: '/zz|.*/' }, duration: '1h', comment: 'x' }));
      assert.equal(everything.status, 400);
      assert.match(everything.json.error ?? '', /^matchers\.probe: expected a \/regex\/ that does not match every value \(write "\/\.\*\/" if every value is meant\)/);
      const nul = await post(h, JSON.stringify({ matchers: { probe: 'a' }, duration: '1h', comment: 'deploy\u0000<b>' }));
      assert.equal(nul.status, 400);
      assert.match(nul.json.error ?? '', /^comment: expected a comment without control characters/);
      const typo = await fetch(`${h.base}/api/v1/silencesXYZ`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{}' });
      assert.equal(typo.status, 404, 'a path that is not the endpoint');
      // A dry run says which probes a silence would mute now, and mutes nothing.
      const dry = await fetch(`${h.base}/api/v1/silences?dryRun=true`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ matchers: { probe: '/.*/' }, duration: '1h', comment: 'all of them' }) });
      assert.equal(dry.status, 200);
      assert.deepEqual(await dry.json(), { dryRun: true, silencing: ['a'] });
      const nullBody = await post(h, 'null');
      assert.equal(nullBody.status, 400);
      assert.match(nullBody.json.error ?? '', /expected a mapping/);
      const forever = await post(h, JSON.stringify({ matchers: { probe: 'a' }, duration: '999999999999d', comment: 'x' }));
      assert.equal(forever.status, 400);
      assert.match(forever.json.error ?? '', /^duration: expected a duration .*\(from 1s to 90d\)/);
      const noComment = await post(h, JSON.stringify({ matchers: { probe: 'a' }, duration: '1h', comment: 'x'.repeat(1_001) }));
      assert.equal(noComment.status, 400);
      assert.match(noComment.json.error ?? '', /^comment: expected a comment saying why of at most 1000 characters/);
      const huge = await post(h, Buffer.alloc(64 * 1024, 'a'));
      assert.equal(huge.status, 413);
      const good = await post(h, JSON.stringify({ matchers: { probe: '/a|b/' }, duration: '1h', comment: 'deploying' }));
      assert.equal(good.status, 201);
      assert.deepEqual((good.json as { silencing?: string[] }).silencing, ['a'], 'the answer says what it mutes now');
      // Still alive, still probing, and the good silence is listed as it was written.
      const before = await probeRuns(h, 'a');
      await waitFor('more runs after the bad requests', async () => ((await probeRuns(h, 'a')) > before ? true : undefined));
      const listed = JSON.parse((await h.get('/api/v1/silences')).text) as Array<{ matchers: Record<string, string> }>;
      assert.deepEqual(listed.map((s) => s.matchers), [{ probe: '/a|b/' }]);
    } finally {
      await h.daemon.stop();
      await target.close();
    }
  });

  it('caps the number of active silences', async () => {
    const h = await startDaemon(`probesDir: probes\napiToken: ${TOKEN}\n`, {});
    try {
      for (let i = 0; i < 1_000; i++) assert.equal((await post(h, JSON.stringify({ matchers: { probe: `p${i}` }, duration: '1h', comment: 'x' }))).status, 201);
      const over = await post(h, JSON.stringify({ matchers: { probe: 'one-more' }, duration: '1h', comment: 'x' }));
      assert.equal(over.status, 409);
      assert.match(over.json.error ?? '', /1000 silences are active, the most allowed/);
    } finally {
      await h.daemon.stop();
    }
  });
});

describe('state files of the wrong shape', () => {
  const shapes: Array<{ name: string; file: string; text: string; lost: RegExp }> = [
    { name: 'alerts.json is {}', file: 'alerts.json', text: '{}', lost: /lost: all of alerts\.json/ },
    { name: 'alerts.json is []', file: 'alerts.json', text: '[]', lost: /lost: all of alerts\.json/ },
    { name: 'alerts.json has a number for its queue', file: 'alerts.json', text: '{"alerts":{},"nflog":{},"queue":5,"silences":[]}', lost: /lost: queued notification: not a list/ },
    { name: 'alerts.json holds a silence with a broken regex', file: 'alerts.json', text: '{"alerts":{},"nflog":{},"queue":[],"silences":[{"id":"s","matchers":{"probe":"/payments-[/"},"startsAt":0,"endsAt":99999999999999,"comment":"x","createdBy":"x"}]}', lost: /lost: silence\[0\] \(s\): / },
    { name: 'a detector entry is 5', file: 'detector.json', text: '{"a":5}', lost: /lost: probe \\"a\\": / },
    { name: 'a detector entry starts in the year 287,000', file: 'detector.json', text: '{"a":{"health":"healthy","streak":{"startedAt":9e15},"consecutiveFailures":1,"consecutiveSuccesses":0,"window":[],"baseline":[],"fastStreak":0}}', lost: /lost: probe \\"a\\": streak\.startedAt: expected a time between 2000/ },
  ];
  for (const shape of shapes) {
    it(`${shape.name}: moved aside, said, alerted; the daemon probes and is ready`, async () => {
      const stateDir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-shape-'));
      writeFileSync(path.join(stateDir, shape.file), shape.text);
      const sink = await webhookSink();
      const pages = sink.bodies;
      const target = await httpServer((_req, res) => res.end('ok'));
      const config = ['probesDir: probes', `stateDir: ${stateDir}`, 'alerting:', `  receivers: [{ name: pager, webhook: { url: "${sink.url}/" } }]`, '  group: { wait: 10ms }', ''].join('\n');
      const h = await startDaemon(config, { 'a.yaml': `name: a\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/\n` });
      try {
        assert.equal((await h.get('/readyz')).status, 200);
        assert.equal((await h.get('/metrics')).status, 200);
        await waitFor('a probe run', async () => ((await probeRuns(h, 'a')) > 0 ? true : undefined));
        const page = await waitFor('the state alert', () => pages.find((p) => p.includes('FlowprobeStateLost')));
        assert.match(page, /could not read all of its saved state at start; lost: /);
        assert.match(page, shape.lost);
        assert.ok(readdirSync(stateDir).some((f) => f.startsWith(`${shape.file}.corrupt-`)), 'the file is kept aside');
      } finally {
        await h.daemon.stop();
        await target.close();
        await sink.close();
      }
    });
  }
});

describe('a reload with hostile files', () => {
  it('an alias bomb or a FIFO secret: the reload fails with a position, the running config stays', async () => {
    const target = await httpServer((_req, res) => res.end('ok'));
    const probe = `name: a\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/\n`;
    const h = await startDaemon('probesDir: probes\n', { 'a.yaml': probe });
    try {
      const bomb = ['x0: &x0 ["a","a","a","a","a","a","a","a","a","a"]', ...Array.from({ length: 7 }, (_, i) => `x${i + 1}: &x${i + 1} [${Array(10).fill(`*x${i}`).join(',')}]`)];
      h.dir.write('probes/a.yaml', `${probe}labels:\n${bomb.map((l) => `  ${l}`).join('\n')}\n`);
      const bombed = await h.daemon.reload();
      assert.equal(bombed.ok, false);
      assert.match(bombed.diagnostics[0]?.message ?? '', /expected at most 100 alias expansions/);
      assert.ok((bombed.diagnostics[0]?.line ?? 0) > 0, 'positioned');

      const fifo = path.join(h.dir.dir, 'secret.fifo');
      execFileSync('mkfifo', [fifo]);
      h.dir.write('probes/a.yaml', `${probe}headers: { authorization: "\${file:${fifo}}" }\n`);
      const piped = await h.daemon.reload();
      assert.equal(piped.ok, false);
      assert.match(piped.diagnostics[0]?.message ?? '', /not a regular file/);

      assert.equal((await h.get('/healthz')).status, 200);
      const before = await probeRuns(h, 'a');
      await waitFor('probing goes on with the running config', async () => ((await probeRuns(h, 'a')) > before ? true : undefined));
    } finally {
      await h.daemon.stop();
      await target.close();
    }
  });
});

describe('maintenance windows', () => {
  it('are compiled once: evaluating them 20,000 times leaves no memory behind', async () => {
    const windows = daemonConfigSchema.parse({ alerting: { maintenance: [{ name: 'nightly', cron: '0 3 * * *', duration: '1h', match: { probe: '/api.*/' } }] } }).alerting.maintenance;
    const at = Date.UTC(2026, 0, 1, 3, 30);
    // node-cron's per-call task cost ~2.8 KB each (+56 MB over 20,000 calls); compiled, it is noise.
    await assertNoLeak(
      '20,000 maintenance evaluations',
      async () => {
        for (let i = 0; i < 2_000; i++) mutedBy({ probe: 'api' }, at + i, windows, []);
      },
      async () => {
        for (let i = 0; i < 20_000; i++) assert.equal(mutedBy({ probe: 'api' }, at + i, windows, []), 'maintenance nightly');
        assert.equal(mutedBy({ probe: 'web' }, at, windows, []), undefined);
        assert.equal(mutedBy({ probe: 'api' }, Date.UTC(2026, 0, 1, 4, 30), windows, []), undefined);
      },
    );
  });
});
