import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { configDir } from '../../test/config-dir.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { closedPort as closedPortOf, httpServer, tcpServer, type Running } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';
import { run } from './commands.js';

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the CLI as a child (asynchronously: the test's own target server must keep answering). */
async function flowprobe(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  // The bundled WebSocket probes mint a JWT from DEMO_JWT_SECRET (flowprobe demo sets it).
  // The examples' heartbeat tokens come from the environment too.
  const env = { ...process.env, DEMO_JWT_SECRET: 'cli-test-jwt-secret-0123456789abcdef', NIGHTLY_EXPORT_TOKEN: 'cli-test-export-token-0123456789', QUEUE_WORKER_TOKEN: 'cli-test-worker-token-0123456789' };
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, out, err };
}

describe('flowprobe command line', () => {
  let target: Running;
  before(async () => {
    target = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
  });
  after(() => target.close());

  it('check accepts the bundled config and probes', async () => {
    const r = await flowprobe(['check']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^ok: \d+ probe\(s\) from .*probes, listening on 127\.0\.0\.1:9464/);
  });

  it('check accepts the examples (the kinds the demo cannot serve)', async () => {
    const r = await flowprobe(['check', '--probes', 'examples']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /ok: 6 probe\(s\) from .*examples/);
  });

  it('check lists every problem and exits 1', async () => {
    const dir = configDir('probesDir: probes\n', { 'a.yaml': 'name: a\nkind: http\nurl: nope\nevery: often\n' });
    const r = await flowprobe(['check', '--config', dir.configFile]);
    assert.equal(r.code, 1);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /a\.yaml:3:6 url: expected an http\(s\) URL, found "nope"$/);
    assert.match(lines[1] ?? '', /a\.yaml:4:8 every: expected a duration like 500ms, 30s, 5m \(from 100ms to 7d\), found "often"$/);
    assert.equal(lines[2], '2 problem(s) found');
  });

  it('probe runs one probe and prints phases and each check', async () => {
    const dir = configDir('probesDir: probes\n', { 'a.yaml': `name: one\nkind: http\nurl: ${target.url}/\nexpect:\n  json: { "$.status": ok }\n` });
    const r = await flowprobe(['probe', 'one', '--config', dir.configFile]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^✅ one \(http\)  GET http:\/\/127\.0\.0\.1:\d+\/  →  ok in /);
    assert.match(r.out, /phases: dns .* · connect .* · first_byte .* · download /);
    assert.match(r.out, /✅ status: expected 2xx, observed 200/);
    assert.match(r.out, /✅ json \$\.status: expected == "ok", observed "ok"/);
  });

  it('probe prints a degraded verdict with ⚠️ on the check over its degrade limit, and exits 0', async () => {
    const dir = configDir('probesDir: probes\n', { 'a.yaml': `name: one\nkind: http\nurl: ${target.url}/\ndegradeWhen: { phases: { connect: 0ms } }\n` });
    const r = await flowprobe(['probe', 'one', '--config', dir.configFile]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^⚠️ one \(http\)  GET http:\/\/127\.0\.0\.1:\d+\/  →  DEGRADED in /);
    assert.match(r.out, /✅ status: expected 2xx, observed 200/);
    assert.match(r.out, /⚠️ phase connect: expected <= 0ms \(else degraded\), observed /);
    assert.match(r.out, /degraded: phase connect .*, over its degrade limit/);
    const json = await flowprobe(['probe', 'one', '--json', '--config', dir.configFile]);
    assert.equal((JSON.parse(json.out) as { verdict: string }).verdict, 'degraded');
  });

  it('probe --json prints the result and exits 1 when it fails', async () => {
    const dir = configDir('probesDir: probes\n', { 'a.yaml': `name: one\nkind: http\nurl: ${target.url}/\nexpect:\n  status: 204\n` });
    const r = await flowprobe(['probe', 'one', '--json', '--config', dir.configFile]);
    assert.equal(r.code, 1);
    const result = JSON.parse(r.out) as { ok: boolean; failure: { code: string } };
    assert.equal(result.ok, false);
    assert.equal(result.failure.code, 'http_status');
  });

  it("probe NAME checks that probe's file only: an unset ${ENV} in another probe's file does not block it", async () => {
    const dir = configDir('probesDir: probes\n', {
      'a.yaml': `name: one\nkind: http\nurl: ${target.url}/\n`,
      'b.yaml': 'name: two\nkind: http\nurl: http://127.0.0.1:1/\nheaders: { authorization: "Bearer ${UNSET_FOR_THIS_TEST}" }\n',
      'c.yaml': `- name: three\n  kind: http\n  url: ${target.url}/\n- name: four\n  kind: http\n  url: "http://127.0.0.1:1/\${UNSET_FOR_THIS_TEST}"\n`,
    });
    const one = await flowprobe(['probe', 'one', '--config', dir.configFile]);
    assert.equal(one.code, 0, one.err);
    const three = await flowprobe(['probe', 'three', '--config', dir.configFile]);
    assert.equal(three.code, 0, `a neighbour in the same list does not block it either: ${three.err}`);
    const two = await flowprobe(['probe', 'two', '--config', dir.configFile]);
    assert.equal(two.code, 78, 'its own unset variable still does');
    assert.match(two.err, /UNSET_FOR_THIS_TEST/);
    const all = await flowprobe(['check', '--config', dir.configFile]);
    assert.equal(all.code, 1, 'check still reads every file');
  });

  it('check warns when alerts would go nowhere (no receiver), and still exits 0', async () => {
    const dir = configDir('probesDir: probes\n', { 'a.yaml': `name: one\nkind: http\nurl: ${target.url}/\n` });
    const r = await flowprobe(['check', '--config', dir.configFile]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /^warning: no receiver: alerts are not delivered anywhere/m);
  });

  it('test-receiver needs the receiver\'s config only: an unset secret of a probe does not block it', async () => {
    const hook: string[] = [];
    const sink = await httpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => (hook.push(body), res.writeHead(200).end()));
    });
    try {
      const dir = configDir(`probesDir: probes\nalerting: { receivers: [{ name: hook, webhook: { url: "${sink.url}/" } }] }\n`, {
        'a.yaml': 'name: two\nkind: http\nurl: http://127.0.0.1:1/\nheaders: { authorization: "Bearer ${UNSET_FOR_THIS_TEST}" }\n',
      });
      const r = await flowprobe(['test-receiver', 'hook', '--config', dir.configFile]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /delivered to hook/);
      assert.match(hook[0] ?? '', /"test":true/);
    } finally {
      await sink.close();
    }
  });

  it('alerts needs only the listen address: probe files are not read', async () => {
    const dir = configDir(`probesDir: probes\nlisten: 127.0.0.1:${(await closedPortOf())}\n`, { 'a.yaml': 'name: broken\nkind: http\n' });
    const r = await flowprobe(['alerts', '--config', dir.configFile]);
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot reach the daemon at http:\/\/127\.0\.0\.1:\d+/, 'it got as far as asking the daemon');
    assert.doesNotMatch(r.err, /url: missing/);
  });

  it('probe of an unknown name exits 2 listing the names', async () => {
    const r = await flowprobe(['probe', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.err, /no probe named "nope"; configured: .*demo-health/);
  });

  it('--help exits 0 and an unknown command exits 2', async () => {
    assert.equal((await flowprobe(['--help'])).code, 0);
    const bad = await flowprobe(['frobnicate']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown command 'frobnicate'/);
  });

  it('demo starts the demo service and a daemon probing it, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [MAIN, 'demo', '--port', '0', '--listen', '127.0.0.1:0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
    const page = await waitFor('the banner with the page', () => /open the status page: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1], 15_000);
    assert.match(out, /it probes a demo service on http:\/\/127\.0\.0\.1:\d+ \(ingest/);
    // Every fault, as a line to copy, and how to mend it.
    for (const fault of ['errorRate', 'latencyMs', 'dropRate', 'stallStream', 'closeSockets', 'staleDashboard', 'corruptHop']) {
      assert.match(out, new RegExp(`^  ${fault} +curl -X PUT -H 'Authorization: Bearer [0-9a-f]+' -d '\\{"${fault}":[^']+\\}' http://127\\.0\\.0\\.1:\\d+/api/faults$`, 'm'), fault);
    }
    assert.match(out, /mend everything: +curl -X DELETE -H 'Authorization: Bearer [0-9a-f]+' http:\/\/127\.0\.0\.1:\d+\/api\/faults/);
    const html = await (await fetch(`${page}/`)).text();
    assert.match(html, /<a href="\/probes\/demo-pipeline">demo-pipeline<\/a>/, 'the page lists the demo probes');
    // Probe results at info are not printed in the demo; nothing on stdout is a JSON log line.
    await waitFor('a probe ran', async () => ((await (await fetch(`${page}/api/v1/status?probe=demo-health`)).json()) as { last?: unknown }).last, 15_000);
    assert.ok(!out.split('\n').some((line) => line.startsWith('{')), out);
    assert.equal(err, '');
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('run refuses a bad config with exit 78, reloads on SIGHUP and exits 0 on SIGTERM', async () => {
    const bad = configDir('probesDir: probes\n', { 'a.yaml': 'name: a\nkind: http\n' });
    const refused = await flowprobe(['run', '--config', bad.configFile]);
    assert.equal(refused.code, 78);
    assert.match(refused.err, /url: missing, expected an http\(s\) URL/);

    const dir = configDir('probesDir: probes\n', { 'a.yaml': `name: a\nkind: http\nevery: 1s\nurl: ${target.url}/\n` });
    const child = spawn(process.execPath, [MAIN, 'run', '--config', dir.configFile, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor('daemon started', () => out.includes('flowprobe started') || undefined);
    child.kill('SIGHUP');
    await waitFor('reload logged', () => out.includes('configuration reloaded') || undefined);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(out, /"msg":"stopped"/);
  });

  it('a SIGHUP or SIGTERM that comes while the daemon starts is acted on once it has started', async () => {
    const dir = configDir('probesDir: probes\n', { 'a.yaml': `name: a\nkind: http\nevery: 1s\nurl: ${target.url}/\n` });
    const handlers: { stop?: () => Promise<void>; reload?: () => Promise<void> } = {};
    const logs: string[] = [];
    const logDestination = { write: (line: string) => void logs.push(line) };
    const io = { env: {}, out: () => undefined, err: () => undefined };
    const exit = run({ config: dir.configFile, listen: '127.0.0.1:0' }, io, { onStop: (h) => void (handlers.stop = h), onReload: (h) => void (handlers.reload = h) }, { voice: { logLevel: 'info', logDestination } });
    // Both signals arrive before the daemon has even bound its port.
    assert.ok(handlers.reload && handlers.stop, 'the handlers are in place as soon as run() is called');
    const reloaded = handlers.reload();
    const stopping = handlers.stop();
    await reloaded;
    await stopping;
    assert.equal(await exit, 0);
    const messages = logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
    assert.deepEqual(messages.filter((m) => ['flowprobe started', 'configuration reloaded', 'stopped'].includes(m)), ['flowprobe started', 'configuration reloaded', 'stopped']);
  });

  it('a second SIGTERM during a graceful stop writes the state and exits 143', async () => {
    let connected = false;
    const hang = await tcpServer(() => void (connected = true)); // accepts, never answers
    try {
      const dir = configDir('probesDir: probes\nstateDir: state\nshutdownGrace: 30s\n', { 'a.yaml': `name: a\nkind: http\nevery: 10s\ntimeout: 5s\nurl: ${hang.url}/\n` });
      const child = spawn(process.execPath, [MAIN, 'run', '--config', dir.configFile, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      let out = '';
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await waitFor('a run in flight against the silent target', () => connected || undefined, 20_000);
      child.kill('SIGTERM'); // graceful: waits for the run in flight (up to 5 s)…
      await waitFor('the graceful stop begun', () => out.includes('"msg":"stopping"') || undefined);
      child.kill('SIGTERM'); // …but not when asked twice
      assert.equal(await exited, 143);
      assert.match(err, /SIGTERM again: writing state and exiting with 143/);
      assert.ok(existsSync(path.join(dir.dir, 'state', 'detector.json')), 'the state was written');
    } finally {
      await hang.close();
    }
  });

  it('run exits 78 naming the cause when the listen address cannot be bound, leaving nothing behind', async () => {
    const dir = configDir('probesDir: probes\n', { 'a.yaml': `name: a\nkind: http\nevery: 1s\nurl: ${target.url}/\n` });
    const port = target.url.slice(target.url.lastIndexOf(':') + 1);
    const taken = await flowprobe(['run', '--config', dir.configFile, '--listen', `127.0.0.1:${port}`]);
    assert.equal(taken.code, 78);
    assert.match(taken.err, new RegExp(`flowprobe: not started: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use by another process`));
    assert.doesNotMatch(taken.err, /\n\s+at /, 'no stack trace');
    const outOfRange = await flowprobe(['check', '--config', configDir('probesDir: probes\nlisten: 127.0.0.1:99999\n', {}).configFile]);
    assert.equal(outOfRange.code, 1);
    assert.match(outOfRange.err, /listen: expected host:port like 127\.0\.0\.1:9464 \(port 0-65535\), found "127\.0\.0\.1:99999"/);
  });
});
