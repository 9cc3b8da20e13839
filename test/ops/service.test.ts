// The systemd unit and the Docker image, checked as far as this machine allows (no Docker
// engine here): the unit verifies cleanly and is well sandboxed; what the Dockerfile copies
// exists; and the command it runs starts the daemon from a clean production install.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { requireBinary } from '../binaries.js';
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
    assert.match(dockerfile, /^HEALTHCHECK .*\/healthz/m);
    assert.match(dockerfile, /^VOLUME \["\/var\/lib\/flowprobe"\]$/m);
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
      env: { ...process.env, NODE_ENV: 'production', DEMO_JWT_SECRET: 'image-test-secret' },
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
