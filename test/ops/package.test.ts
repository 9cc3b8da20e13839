// test-runner: long (over a minute on purpose: started first, so it does not end the run alone)
// The Debian package (npm run package:deb): built, its contents and maintainer scripts read
// back, lintian clean (each override justified in the package); then, where this is a root shell with dpkg and no flowprobe of its own installed (CI),
// installed for real, checked as the service user, run under the unit's seccomp filter from
// the runtime it carries, upgraded keeping an edited config and the state, and purged leaving
// nothing it made behind.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { requireBinary } from '../binaries.js';
import { runsUnderFilter, unitFilter } from '../seccomp.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sh(command: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stdout}${r.stderr}`.slice(-3000));
  return r.stdout;
}

/** Builds the package at `version`; its path. */
function build(version: string): string {
  return sh('bash', ['scripts/package-deb.sh'], { FLOWPROBE_DEB_VERSION: version }).trim().split('\n').pop() as string;
}

it('the .deb: its own runtime, the unit on it, conffiles, maintainer scripts; installed, checked, run under the filter, upgraded keeping config and state, purged', { timeout: 300_000 }, async (t) => {
  const dpkgDeb = requireBinary(t, 'dpkg-deb', 'dpkg');
  if (!dpkgDeb) return;
  const deb = build('0.1.0~test1');
  assert.match(path.basename(deb), /^flowprobe_0\.1\.0~test1_amd64\.deb$/);
  const contents = sh(dpkgDeb, ['-c', deb]);
  for (const file of ['./opt/flowprobe/node/bin/node', './opt/flowprobe/dist/src/main.js', './usr/bin/flowprobe', './lib/systemd/system/flowprobe.service', './etc/flowprobe/flowprobe.yaml', './etc/flowprobe/probes/self.yaml']) {
    assert.ok(contents.includes(` ${file}\n`), `the package holds ${file}`);
  }
  assert.match(contents, /^-rw------- root\/root +\d+ .* \.\/etc\/flowprobe\/flowprobe\.env$/m, 'the env file is private');
  assert.ok(!/\/opt\/flowprobe\/dist\/\S*\.test\.js\n|\/dist\/(bench|test)\//.test(contents), 'none of our tests or benchmarks in the package');
  assert.deepEqual(sh(dpkgDeb, ['-I', deb, 'conffiles']).trim().split('\n').sort(), ['/etc/flowprobe/flowprobe.env', '/etc/flowprobe/flowprobe.yaml', '/etc/flowprobe/probes/self.yaml']);
  assert.match(sh(dpkgDeb, ['-I', deb, 'control']), /^Depends: libc6 \(>= 2\.28\), passwd$/m);

  // lintian: clean, with each remaining tag overridden and justified in the package's overrides.
  const lintian = requireBinary(t, 'lintian', 'lintian');
  if (!lintian) return;
  const lint = spawnSync(lintian, ['--tag-display-limit', '0', '--fail-on', 'error,warning', deb], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const tags = `${lint.stdout}${lint.stderr}`.split('\n').filter((l) => /^[EWI]: /.test(l));
  assert.deepEqual(tags, [], 'lintian tags not overridden');
  assert.equal(lint.status, 0, lint.stderr);

  // A real install needs root, dpkg, and a machine whose own flowprobe it would not touch.
  const dpkg = requireBinary(t, 'dpkg', 'dpkg');
  if (!dpkg) return;
  const installed = spawnSync(dpkg, ['-s', 'flowprobe'], { encoding: 'utf8' }).status === 0;
  if (process.getuid?.() !== 0 || installed) {
    const why = installed ? 'flowprobe is already installed here' : 'not root';
    if (process.env.CI === 'true' && !installed) assert.fail(`installing the package needs root under CI (${why})`);
    console.error(`!!! SKIPPING the real install: ${why}`);
    return;
  }
  try {
    sh(dpkg, ['-i', deb]);
    assert.equal(spawnSync('id', ['-u', 'flowprobe']).status, 0, 'the flowprobe user exists');
    const state = statSync('/var/lib/flowprobe');
    assert.equal(state.uid, Number(sh('id', ['-u', 'flowprobe']).trim()), 'the state directory belongs to the service user');
    assert.equal(statSync('/etc/flowprobe/flowprobe.env').mode & 0o777, 0o600);
    assert.match(readFileSync('/lib/systemd/system/flowprobe.service', 'utf8'), /^ExecStart=\/opt\/flowprobe\/node\/bin\/node --max-semi-space-size=4 \/opt\/flowprobe\/dist\/src\/main\.js run/m);
    // check as the service will run, with the packaged runtime (this host's node is not used).
    assert.match(sh('runuser', ['-u', 'flowprobe', '--', '/usr/bin/flowprobe', 'check', '--config', '/etc/flowprobe/flowprobe.yaml']), /^ok: 1 probe\(s\)/m);
    assert.match(sh('/usr/bin/flowprobe', ['--version']), /\d+\.\d+\.\d+/);
    const filter = unitFilter(t, '/lib/systemd/system/flowprobe.service');
    if (filter) await runsUnderFilter(filter, '/opt/flowprobe/node/bin/node', '/opt/flowprobe/dist/src/main.js');

    // The operator edits the config; the daemon has written state. An upgrade keeps both.
    appendFileSync('/etc/flowprobe/flowprobe.yaml', '# edited by the operator\n');
    writeFileSync('/var/lib/flowprobe/alerts.json', '{"kept":true}\n');
    const next = build('0.1.0~test2');
    sh(dpkg, ['-i', '--force-confold', next]);
    assert.match(sh(dpkg, ['-s', 'flowprobe']), /^Version: 0\.1\.0~test2$/m);
    assert.match(readFileSync('/etc/flowprobe/flowprobe.yaml', 'utf8'), /# edited by the operator\n$/);
    assert.equal(readFileSync('/var/lib/flowprobe/alerts.json', 'utf8'), '{"kept":true}\n');

    sh(dpkg, ['--purge', 'flowprobe']);
    for (const gone of ['/opt/flowprobe', '/etc/flowprobe', '/var/lib/flowprobe', '/usr/bin/flowprobe', '/lib/systemd/system/flowprobe.service']) assert.ok(!existsSync(gone), `${gone} is gone after purge`);
    assert.notEqual(spawnSync('id', ['-u', 'flowprobe']).status, 0, 'the user is gone after purge');
  } finally {
    spawnSync(dpkg, ['--purge', 'flowprobe']);
  }
});
