// Past one machine: daemons given FLOWPROBE_SHARD=i/N split the probe files between them by a
// rendezvous hash of the probe name. Three real daemons over 300 probes: each probe runs in
// exactly one, the union is all 300; going to four shards moves at most 35 % of them.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ownerOf, parseShard } from '../../src/config/shard.js';
import { Daemon } from '../../src/daemon.js';
import { systemClock } from '../../src/scheduler/clock.js';
import { configDir } from '../config-dir.js';
import { httpServer } from '../servers.js';
import { waitFor } from '../wait.js';

const PROBES = 300;
const names = Array.from({ length: PROBES }, (_, i) => `probe-${String(i).padStart(3, '0')}`);

it('three daemons split 300 probes, each run by exactly one; four shards move at most 35 %', { timeout: 60_000 }, async () => {
  const hits = new Map<string, number>();
  const target = await httpServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').searchParams.get('p') ?? '';
    hits.set(name, (hits.get(name) ?? 0) + 1);
    res.end('ok');
  });
  // One file holds a list of 100 probes; the split is by probe, not by file.
  const files = Object.fromEntries(
    [0, 1, 2].map((f) => [`list-${f}.yaml`, names.slice(f * 100, f * 100 + 100).map((n) => `- name: ${n}\n  kind: http\n  every: 2s\n  timeout: 1s\n  url: ${target.url}/?p=${n}\n`).join('')]),
  );
  const dir = configDir('probesDir: probes\nlog: { level: warn }\n', files);
  const start = (shard: string) => Daemon.start({ configFile: dir.configFile, env: { FLOWPROBE_SHARD: shard }, clock: systemClock, version: '0.0.0-test', listen: '127.0.0.1:0', stateDir: `${dir.dir}/state-${shard.replace('/', '-of-')}`, logDestination: { write: () => undefined } });
  const daemons = await Promise.all(['0/3', '1/3', '2/3'].map(start));
  try {
    const owned = await Promise.all(
      daemons.map(async (d) => {
        const status = (await (await fetch(`http://127.0.0.1:${d.address?.port}/api/v1/status`)).json()) as { probes: Array<{ name: string }> };
        return status.probes.map((p) => p.name);
      }),
    );
    const union = owned.flat();
    assert.equal(union.length, PROBES, `no probe in two shards: ${owned.map((o) => o.length).join(' + ')}`);
    assert.deepEqual([...new Set(union)].sort(), names, 'every probe in one of them');
    for (const [i, list] of owned.entries()) assert.ok(list.length > 60 && list.length < 140, `shard ${i} has ${list.length}: roughly a third`);
    // Each probe is really probed, and by one daemon only: its series exist in one /metrics.
    await waitFor('every probe hit', () => (names.every((n) => (hits.get(n) ?? 0) > 0) ? true : undefined), 20_000, 100);
    const metrics = await Promise.all(daemons.map(async (d) => (await fetch(`http://127.0.0.1:${d.address?.port}/metrics`)).text()));
    for (const name of names.slice(0, 30)) {
      const holders = metrics.filter((m) => m.includes(`flowprobe_probe_runs_total{probe="${name}",result="success"`));
      assert.equal(holders.length, 1, `${name} is run by one daemon`);
    }
    assert.match(metrics[1] ?? '', /flowprobe_build_info\{version="0\.0\.0-test",node="[^"]+",location="default",shard="1"\} 1/, 'the shard label on its own series');
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await target.close();
  }

  // 3 → 4 shards: a probe moves only if the new shard wins it.
  const moved = names.filter((n) => ownerOf(n, 3) !== ownerOf(n, 4));
  assert.ok(moved.every((n) => ownerOf(n, 4) === 3), 'nothing moves between the old shards');
  assert.ok(moved.length <= 0.35 * PROBES, `${moved.length} of ${PROBES} moved`);
  assert.ok(moved.length > 0.1 * PROBES, `the new shard gets its share: ${moved.length}`);
});

it('FLOWPROBE_SHARD reads index/count from 0, and refuses anything else', () => {
  assert.deepEqual(parseShard('2/5'), { index: 2, count: 5 });
  assert.deepEqual(parseShard('0/1'), { index: 0, count: 1 });
  for (const bad of ['5/5', '1/0', '-1/3', '2', 'a/b', '1/1001', ' / ']) assert.equal(parseShard(bad), undefined, bad);
  const dir = configDir('probesDir: probes\nshard: { index: 0, count: 2 }\n', { 'a.yaml': names.slice(0, 10).map((n) => `- name: ${n}\n  kind: http\n  url: http://127.0.0.1:1/\n`).join('') });
  const refused = loadConfig(dir.configFile, { env: { FLOWPROBE_SHARD: '3/3' } });
  assert.ok(!refused.ok && refused.diagnostics.some((d) => d.key === 'FLOWPROBE_SHARD' && /expected index\/count .* found "3\/3"/.test(d.message)));
  const fromConfig = loadConfig(dir.configFile, { env: {} });
  const fromEnv = loadConfig(dir.configFile, { env: { FLOWPROBE_SHARD: '1/2' } });
  assert.ok(fromConfig.ok && fromEnv.ok);
  assert.equal(fromConfig.config.probesDefined, 10);
  assert.equal(fromConfig.config.probes.length + fromEnv.config.probes.length, 10, 'the config says shard 0 of 2, the environment 1 of 2: together, all');
  const badConfig = configDir('probesDir: probes\nshard: { index: 2, count: 2 }\n');
  const bad = loadConfig(badConfig.configFile, { env: {} });
  assert.ok(!bad.ok && bad.diagnostics.some((d) => d.key === 'shard.index' && /expected index below count/.test(d.message)), JSON.stringify(bad));
});
