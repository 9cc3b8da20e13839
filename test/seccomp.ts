// The systemd unit's seccomp allow-list, applied with libseccomp to a daemon started by a test:
// exactly the syscalls the unit's SystemCallFilter= lines allow (systemd-analyze expands the
// groups), so a syscall Node or a library adds shows up as a SIGSYS here, not on a host.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { requireBinary } from './binaries.js';
import { closedPort, httpServer } from './servers.js';
import { waitFor } from './wait.js';

const LOADER = fileURLToPath(new URL('../../test/ops/seccomp-exec.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

export interface UnitFilter {
  allowed: string[];
}

/** The syscalls of a systemd group (or a single name), nested groups expanded. */
function expandGroup(analyze: string, name: string, seen = new Set<string>()): Set<string> {
  if (!name.startsWith('@')) return new Set([name]);
  if (seen.has(name)) return new Set();
  seen.add(name);
  const out = spawnSync(analyze, ['syscall-filter', name], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`systemd-analyze syscall-filter ${name}: ${out.stderr}`);
  const names = new Set<string>();
  for (const line of out.stdout.split('\n').slice(1)) {
    const item = line.trim();
    if (item === '' || item.startsWith('#')) continue;
    for (const syscall of expandGroup(analyze, item, seen)) names.add(syscall);
  }
  return names;
}

/** The allow-list the unit's SystemCallFilter= lines resolve to, as systemd composes them: the
 * first (allow) line sets the list, each `~` line takes its syscalls out again. */
function unitAllowList(analyze: string, unit: string): string[] {
  const lines = readFileSync(unit, 'utf8').split('\n').filter((l) => l.startsWith('SystemCallFilter='));
  const allowed = new Set<string>();
  for (const line of lines) {
    const value = line.slice('SystemCallFilter='.length).trim();
    const deny = value.startsWith('~');
    for (const item of (deny ? value.slice(1) : value).split(/\s+/).filter(Boolean)) {
      for (const syscall of expandGroup(analyze, item)) deny ? allowed.delete(syscall) : allowed.add(syscall);
    }
  }
  return [...allowed].sort();
}

/** The unit's allow-list, or undefined after skipping the test (outside CI) when systemd-analyze
 * or python3-seccomp is missing — under CI that fails. */
export function unitFilter(t: TestContext, unit: string): UnitFilter | undefined {
  const analyze = requireBinary(t, 'systemd-analyze', 'systemd');
  if (!analyze) return undefined;
  const hasSeccomp = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import seccomp'], { encoding: 'utf8' }).status === 0;
  if (!hasSeccomp) {
    if (process.env.CI === 'true') assert.fail('python3-seccomp is needed (apt-get install -y python3-seccomp)');
    console.error('!!! SKIPPING: python3-seccomp not installed (apt-get install -y python3-seccomp)');
    t.skip('python3-seccomp not installed');
    return undefined;
  }
  return { allowed: unitAllowList(analyze, unit) };
}

/** Starts `node main.js run` under the filter with one HTTP probe (and, with `browser`, a
 * browser probe: Chromium under the same filter, as the unit starts it); resolves once /healthz
 * answers and a result was recorded; fails with the daemon's last words if it dies. */
export async function runsUnderFilter(filter: UnitFilter, node: string, main: string, options: { browser?: boolean } = {}): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-seccomp-'));
  const list = path.join(dir, 'syscalls.txt');
  writeFileSync(list, `${filter.allowed.join('\n')}\n`);
  const target = await httpServer((_req, res) => res.end('<!doctype html><title>ok</title><link rel="icon" href="data:,"><h1>ok</h1>'));
  const port = await closedPort();
  mkdirSync(path.join(dir, 'probes'));
  writeFileSync(path.join(dir, 'flowprobe.yaml'), `listen: 127.0.0.1:${port}\nprobesDir: probes\nstateDir: state\n`);
  writeFileSync(path.join(dir, 'probes', 'a.yaml'), `name: a\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/\n`);
  if (options.browser) writeFileSync(path.join(dir, 'probes', 'page.yaml'), `name: page\nkind: browser\nevery: 3s\ntimeout: 2900ms\nurl: ${target.url}/\nwaitFor: { selector: h1, text: ok }\nexpect: { consoleErrors: 0 }\n`);
  // Not as root: the unit runs as User=flowprobe, and systemd applies the filter after dropping
  // to it. Root is not the same process to a library: SQLite, as root only, hands each new WAL
  // file to the database's owner (fchown, which @privileged takes out). A user namespace in
  // which this process is uid 65534 is what the test can make without a second account that
  // could read this checkout; the files it owns stay its own.
  const asUser = ['--user', '--map-user=65534', '--map-group=65534'];
  const unshare = spawnSync('unshare', [...asUser, 'true'], { encoding: 'utf8' });
  assert.equal(unshare.status, 0, `unshare cannot make a user namespace here (to run the daemon as a non-root user, as the unit does): ${unshare.stderr}`);
  const child = spawn('unshare', [...asUser, PYTHON, LOADER, list, '--', node, main, 'run', '--config', path.join(dir, 'flowprobe.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`exit ${code ?? ''}${signal ?? ''}`)));
  try {
    const died = exited.then((how) => `the daemon died under the filter (${how}): ${stderr.slice(-500)}`);
    const healthy = waitFor('/healthz', async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) ? true : undefined), 20_000, 100);
    const first = await Promise.race([healthy.then(() => undefined), died]);
    assert.equal(first, undefined, first);
    await waitFor('a probe result', async () => (/flowprobe_probe_runs_total\{probe="a",result="success"[^}]*\} [1-9]/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()) ? true : undefined), 20_000, 100);
    if (options.browser) {
      let last = 'no run yet';
      await waitFor('a good browser run, Chromium under the filter', async () => {
        const doc = (await (await fetch(`http://127.0.0.1:${port}/api/v1/status?probe=page`)).json()) as { last?: { verdict: string; headline?: string } };
        if (doc.last) last = `${doc.last.verdict}: ${doc.last.headline ?? ''}`;
        return doc.last?.verdict === 'ok' ? true : undefined;
      }, 30_000, 200).catch((error: unknown) => assert.fail(`${(error as Error).message}; the browser probe's last run: ${last}; daemon stderr: ${stderr.slice(-500)}`));
    }
    // …and written to the history database (SQLite's own syscalls under the filter).
    await waitFor('a run in the history database', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/probes/a/history?step=run`);
      return res.ok && ((await res.json()) as { runs: unknown[] }).runs.length > 0 && existsSync(path.join(dir, 'state', 'history.db-wal')) ? true : undefined;
    }, 20_000, 100);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await target.close();
  }
}
