// The systemd unit and the Docker image, checked as far as this machine allows (no Docker
// engine here): the unit verifies cleanly and is well sandboxed; what the Dockerfile copies
// exists; and the command it runs starts the daemon from a clean production install.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { requireBinary } from '../binaries.js';
import { runsUnderFilter, unitFilter } from '../seccomp.js';
import { closedPort } from '../servers.js';
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

describe('systemd unit under its own seccomp filter', () => {
  it('starts, serves /healthz and records a probe result with exactly the unit\'s SystemCallFilter', async (t) => {
    const filter = unitFilter(t, UNIT);
    if (!filter) return;
    assert.ok(filter.allowed.length > 100 && filter.allowed.includes('read') && !filter.allowed.includes('reboot'), `${filter.allowed.length} syscalls allowed`);
    await runsUnderFilter(filter, process.execPath, path.join(ROOT, 'dist/src/main.js'));
  });
  // A browser probe with its Chromium under the same filter: service-browser.test.ts (it runs alone).
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

  it('has Chromium only in the browser variant, which runs as the same user; the default target is the plain image', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1).map((stage) => `FROM ${stage}`);
    const browser = stages.find((stage) => /^FROM runtime AS browser$/m.test(stage));
    assert.ok(browser, 'a browser stage built on the runtime');
    assert.match(browser, /apt-get install -y --no-install-recommends chromium /);
    assert.match(browser, /^USER node$/m, 'back to the unprivileged user after the install');
    assert.equal(stages.at(-1)?.trim(), 'FROM runtime', 'docker build without --target gives the plain image');
    const plain = stages.find((stage) => /^FROM node:24-bookworm-slim AS runtime$/m.test(stage)) ?? 'chromium';
    assert.ok(!/chromium/.test(plain.split('\n').filter((line) => !line.startsWith('#')).join('\n')), 'no Chromium in the plain image');
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

describe('The compose demo (config/compose), as far as no engine allows', () => {
  const COMPOSE_DIR = path.join(ROOT, 'config/compose');
  interface Service { build?: { context: string; dockerfile: string }; command?: string[]; ports?: string[]; volumes?: string[]; environment?: Record<string, string> }
  const compose = parseYaml(readFileSync(path.join(COMPOSE_DIR, 'compose.yaml'), 'utf8')) as { services: Record<string, Service> };
  const service = (name: string): Service => {
    const found = compose.services[name];
    assert.ok(found, `service ${name} in compose.yaml`);
    return found;
  };
  /** A service's bind mounts: a file of this checkout → where it appears in the container. */
  const mounts = (name: string) =>
    (service(name).volumes ?? [])
      .filter((volume) => volume.startsWith('.'))
      .map((volume) => {
        const [source = '', target = ''] = volume.split(':');
        return { source: path.resolve(COMPOSE_DIR, source), target };
      });

  it('mounts only files that exist, builds from this Dockerfile and publishes on loopback only', () => {
    const build = service('flowprobe').build;
    assert.ok(build && existsSync(path.join(COMPOSE_DIR, build.context, build.dockerfile)), 'the build context holds the Dockerfile');
    for (const name of Object.keys(compose.services)) {
      for (const mount of mounts(name)) assert.ok(existsSync(mount.source), `${name}: ${mount.source} missing`);
      for (const port of service(name).ports ?? []) assert.match(port, /^127\.0\.0\.1:/, `${name} publishes ${port} beyond loopback`);
    }
  });

  it("Prometheus's config, laid out as the container sees it, passes promtool and scrapes the flowprobe service", (t) => {
    const promtool = requireBinary(t, 'promtool', 'prometheus');
    if (!promtool) return;
    const root = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-compose-'));
    for (const mount of mounts('prometheus')) cpSync(mount.source, path.join(root, mount.target));
    const config = path.join(root, 'etc/prometheus/prometheus.yml');
    const r = spawnSync(promtool, ['check', 'config', config], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /SUCCESS: 1 rule files found/);
    const listen = service('flowprobe').command?.[service('flowprobe').command!.indexOf('--listen') + 1];
    assert.equal(listen, '0.0.0.0:9464');
    assert.match(readFileSync(config, 'utf8'), /targets: \["flowprobe:9464"\]/);
  });

  it("Grafana's provisioning points at the Prometheus service and at the folder the dashboard is mounted in", () => {
    const grafana = mounts('grafana');
    const read = (target: string) => {
      const mount = grafana.find((m) => m.target.startsWith(target));
      assert.ok(mount, `a mount under ${target}`);
      return { ...mount, text: readFileSync(mount.source, 'utf8') };
    };
    const datasources = parseYaml(read('/etc/grafana/provisioning/datasources/').text) as { datasources: Array<{ type: string; url: string; isDefault: boolean }> };
    assert.deepEqual(datasources.datasources.map((d) => [d.type, d.url, d.isDefault]), [['prometheus', 'http://prometheus:9090', true]]);
    assert.ok(service('prometheus').ports?.some((p) => p.endsWith(':9090')));
    const providers = parseYaml(read('/etc/grafana/provisioning/dashboards/').text) as { providers: Array<{ options: { path: string } }> };
    const dashboard = read('/var/lib/grafana/dashboards/');
    assert.equal(path.dirname(dashboard.target), providers.providers[0]?.options.path);
    assert.equal(dashboard.source, path.join(ROOT, 'config/grafana/flowprobe-dashboard.json'), 'the dashboard the suite runs every query of');
    assert.equal(service('grafana').environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, dashboard.target);
  });

  it("the flowprobe service's command starts the demo and the daemon (here on loopback), its banner naming a reachable fault switch", async () => {
    const command = [...(service('flowprobe').command ?? [])];
    assert.equal(command[0], 'demo');
    // Here on loopback and free ports, with the state in a temporary directory.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-compose-run-'));
    const [daemonPort, demoPort] = [await closedPort(), await closedPort()];
    const args = command.map((arg) => (arg === '0.0.0.0:9464' ? `127.0.0.1:${daemonPort}` : arg === '0.0.0.0' ? '127.0.0.1' : arg === '/var/lib/flowprobe' ? dir : arg));
    let output = '';
    const daemon = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js'), ...args, '--port', String(demoPort)], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout.on('data', (chunk: Buffer) => (output += chunk));
    daemon.stderr.on('data', (chunk: Buffer) => (output += chunk));
    try {
      await waitFor('/healthz', async () => (await fetch(`http://127.0.0.1:${daemonPort}/healthz`).then((r) => r.ok, () => false)) || undefined, 15_000, 100);
      await waitFor('the banner', async () => (output.includes('mend everything') ? true : undefined), 15_000, 50);
      assert.match(output, new RegExp(`curl -X DELETE -H 'Authorization: Bearer [0-9a-f]+' http://127\\.0\\.0\\.1:${demoPort}/api/faults`));
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
  });
});
