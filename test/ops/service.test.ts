// The systemd unit and the Docker image, checked as far as this machine allows (no Docker
// engine here): the unit verifies cleanly and is well sandboxed; what the Dockerfile copies
// exists; and the command it runs starts the daemon from a clean production install.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { requireBinary } from '../binaries.js';
import { closedPort, httpServer } from '../servers.js';
import { waitFor } from '../wait.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT = path.join(ROOT, 'systemd/flowprobe.service');
const EXPOSURE_LIMIT = 2.0;

describe('systemd unit', () => {
  it('passes systemd-analyze verify with no output at all', (t) => {
    const analyze = requireBinary(t, 'systemd-analyze', 'systemd');
    if (!analyze) return;
    const r = spawnSync(analyze, ['verify', UNIT], { encoding: 'utf8' });
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'verify warns with exit 0: any output is a failure');
    assert.equal(r.status, 0);
  });

  it(`is sandboxed to an exposure of at most ${EXPOSURE_LIMIT}`, (t) => {
    const analyze = requireBinary(t, 'systemd-analyze', 'systemd');
    if (!analyze) return;
    const r = spawnSync(analyze, ['security', '--offline=true', UNIT], { encoding: 'utf8' });
    const exposure = Number(/Overall exposure level for flowprobe\.service: ([\d.]+)/.exec(r.stdout)?.[1]);
    assert.ok(exposure <= EXPOSURE_LIMIT, `exposure ${exposure} > ${EXPOSURE_LIMIT}\n${r.stdout}`);
  });
});

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
function unitAllowList(analyze: string): string[] {
  const lines = readFileSync(UNIT, 'utf8').split('\n').filter((l) => l.startsWith('SystemCallFilter='));
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

describe('systemd unit under its own seccomp filter', () => {
  it('starts, serves /healthz and records a probe result with exactly the unit\'s SystemCallFilter', async (t) => {
    const analyze = requireBinary(t, 'systemd-analyze', 'systemd');
    if (!analyze) return;
    const python = '/usr/bin/python3';
    const hasSeccomp = existsSync(python) && spawnSync(python, ['-c', 'import seccomp'], { encoding: 'utf8' }).status === 0;
    if (!hasSeccomp) {
      if (process.env.CI === 'true') assert.fail('python3-seccomp is needed (apt-get install -y python3-seccomp)');
      console.error('!!! SKIPPING: python3-seccomp not installed (apt-get install -y python3-seccomp)');
      return t.skip('python3-seccomp not installed');
    }
    const allowed = unitAllowList(analyze);
    assert.ok(allowed.length > 100 && allowed.includes('read') && !allowed.includes('reboot'), `${allowed.length} syscalls allowed`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-seccomp-'));
    const list = path.join(dir, 'syscalls.txt');
    writeFileSync(list, `${allowed.join('\n')}\n`);
    const target = await httpServer((_req, res) => res.end('ok'));
    const port = await closedPort();
    mkdirSync(path.join(dir, 'probes'));
    writeFileSync(path.join(dir, 'flowprobe.yaml'), `listen: 127.0.0.1:${port}\nprobesDir: probes\nstateDir: state\n`);
    writeFileSync(path.join(dir, 'probes', 'a.yaml'), `name: a\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/\n`);
    const loader = path.join(ROOT, 'test/ops/seccomp-exec.py');
    const child = spawn(python, [loader, list, '--', process.execPath, path.join(ROOT, 'dist/src/main.js'), 'run', '--config', path.join(dir, 'flowprobe.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`exit ${code ?? ''}${signal ?? ''}`)));
    try {
      const died = exited.then((how) => `the daemon died under the filter (${how}): ${stderr.slice(-500)}`);
      const healthy = waitFor('/healthz', async () => ((await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) ? true : undefined), 20_000, 100);
      const first = await Promise.race([healthy.then(() => undefined), died]);
      assert.equal(first, undefined, first);
      await waitFor('a probe result', async () => (/flowprobe_probe_runs_total\{probe="a",result="success"[^}]*\} [1-9]/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()) ? true : undefined), 20_000, 100);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await target.close();
    }
  });
});

describe('installing on a host', () => {
  it('scripts/install.sh into a temporary root: every path the unit names exists, and check passes with the env file', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-root-'));
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/install.sh'), '--root', root, '--no-user', '--no-systemctl'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^ok: 1 probe\(s\) from .*\/etc\/flowprobe\/probes, listening on 127\.0\.0\.1:9464/m);
    const unit = readFileSync(path.join(root, 'etc/systemd/system/flowprobe.service'), 'utf8');
    const paths = [...unit.matchAll(/(?:file:\/\/|[=\s-])(\/(?:opt|etc\/flowprobe|var\/lib\/flowprobe)[^\s]*)/g)].map((m) => m[1] as string);
    assert.ok(paths.length >= 5, paths.join(', '));
    for (const p of paths) assert.ok(existsSync(path.join(root, p)), `the unit names ${p}, which the install did not create`);
    assert.equal(statSync(path.join(root, 'etc/flowprobe/flowprobe.env')).mode & 0o777, 0o600, 'the env file is private');
    // An upgrade keeps what the operator wrote.
    writeFileSync(path.join(root, 'etc/flowprobe/flowprobe.env'), 'X=1\n');
    assert.equal(spawnSync('bash', [path.join(ROOT, 'scripts/install.sh'), '--root', root, '--no-user', '--no-systemctl'], { encoding: 'utf8' }).status, 0);
    assert.equal(readFileSync(path.join(root, 'etc/flowprobe/flowprobe.env'), 'utf8'), 'X=1\n');
  });
});

describe('what the README and the unit tell a new user is true', () => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const unit = readFileSync(path.join(ROOT, 'systemd/flowprobe.service'), 'utf8');

  it('the unit points at a README section that exists, and quotes the numbers the README does', () => {
    const section = /see README\.md \("([^"]+)"\)/.exec(unit)?.[1];
    assert.ok(section, 'the unit names a README section');
    assert.match(readme, new RegExp(`^#+ ${section.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    for (const setting of ['TimeoutStopSec', 'RestartSec']) {
      const value = new RegExp(`^${setting}=(\\S+)$`, 'm').exec(unit)?.[1];
      if (readme.includes(setting)) assert.ok(readme.includes(`${setting}=${value}`), `README quotes ${setting} as the unit sets it (${value})`);
    }
  });

  it('every file a README command reads is made by a step before it', () => {
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    for (const block of blocks) {
      for (const [, file] of block.matchAll(/--env-file (\S+)/g)) {
        const before = block.slice(0, block.indexOf(`--env-file ${file}`));
        assert.match(before, new RegExp(`(install|touch|cp|>)[^\\n]*\\b${(file as string).replace('.', '\\.')}\\b`), `--env-file ${file}: no step before it creates the file`);
      }
    }
  });

  it('`npx flowprobe` in a checkout runs the project\'s own command, offline', () => {
    assert.match(readme, /`npx flowprobe check`/);
    const r = spawnSync('npm', ['exec', '--offline', '--', 'flowprobe', 'check'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DEMO_JWT_SECRET: 'readme-test-secret-0123456789abcdef' } });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^ok: \d+ probe\(s\)/m);
  });
});

describe('Docker image', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  it('copies only files that exist', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] as string).split(/\s+/));
    assert.ok(sources.length >= 5, `found COPY sources: ${sources.join(', ')}`);
    for (const source of sources) assert.ok(existsSync(path.join(ROOT, source)), `COPY ${source}: missing`);
    for (const built of [...dockerfile.matchAll(/^COPY --from=build \/app\/(\S+)/gm)]) assert.ok(existsSync(path.join(ROOT, built[1] as string)), `built ${built[1]} missing`);
  });

  it('runs as a non-root user with a health check on /healthz', () => {
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^HEALTHCHECK .*"healthcheck", "--config", "\/etc\/flowprobe\/flowprobe\.yaml"\]$/m);
    assert.match(dockerfile, /^COPY config\/container \/etc\/flowprobe$/m);
    assert.match(dockerfile, /^VOLUME \["\/var\/lib\/flowprobe"\]$/m);
  });

  it('runs the README sequence as far as no engine allows: the image config, a mounted copy, the command and its HEALTHCHECK', async () => {
    // README: cp -r config/container my-config, add probes, mount it over /etc/flowprobe.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-container-'));
    const mine = path.join(dir, 'my-config');
    cpSync(path.join(ROOT, 'config/container'), mine, { recursive: true });
    const port = await closedPort();
    // Inside the container it is 0.0.0.0:9464; here, loopback and a free port.
    for (const file of ['flowprobe.yaml', 'probes/self.yaml']) {
      const text = readFileSync(path.join(mine, file), 'utf8');
      writeFileSync(path.join(mine, file), text.replace('0.0.0.0:9464', `127.0.0.1:${port}`).replace('127.0.0.1:9464', `127.0.0.1:${port}`));
    }
    const cli = (args: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'dist/src/main.js'), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    const checked = cli(['check', '--config', path.join(mine, 'flowprobe.yaml')]);
    assert.equal(checked.status, 0, `no secret needed to start: ${checked.stderr}`);
    const unhealthy = cli(['healthcheck', '--config', path.join(mine, 'flowprobe.yaml')]);
    assert.equal(unhealthy.status, 1, 'nothing listens yet');
    // The image's CMD, with the volume at a temporary directory.
    const daemon = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js'), 'run', '--config', path.join(mine, 'flowprobe.yaml'), '--state', path.join(dir, 'state')], { stdio: 'ignore', env: { PATH: process.env.PATH } });
    try {
      await waitFor('/healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) || undefined, 15_000, 100);
      const healthy = await new Promise<number | null>((resolve) => spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js'), 'healthcheck', '--config', path.join(mine, 'flowprobe.yaml')], { stdio: 'ignore' }).on('exit', resolve));
      assert.equal(healthy, 0, 'the HEALTHCHECK command passes, reading the port from the config');
      await waitFor('the self probe recorded', async () => (/flowprobe_probe_runs_total\{probe="flowprobe-self",result="success"[^}]*\} [1-9]/.test(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()) ? true : undefined), 40_000, 250);
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
    assert.ok(existsSync(path.join(dir, 'state', 'detector.json')), 'the state is written to the volume');
  });

  it("starts the daemon from a clean production install (npm ci --omit=dev) and answers /healthz", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-image-'));
    for (const entry of ['package.json', 'package-lock.json', 'config', 'probes', 'schema', 'dist/src']) cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
    const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, encoding: 'utf8' });
    assert.equal(install.status, 0, install.stderr);
    assert.ok(!existsSync(path.join(dir, 'node_modules/typescript')), 'dev dependencies are not installed');
    const port = await closedPort();
    // The image's CMD, with the listen address a container would get from its config.
    const daemon = spawn(process.execPath, [path.join(dir, 'dist/src/main.js'), 'run', '--config', path.join(dir, 'config/flowprobe.yaml'), '--listen', `127.0.0.1:${port}`], {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production', DEMO_JWT_SECRET: 'image-test-secret-0123456789abcdefg' },
      stdio: 'ignore',
    });
    try {
      const ok = await waitFor('/healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) || undefined, 15_000, 100);
      assert.equal(ok, true);
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
  });
});
