// Input that used to be accepted and then crashed or silently disabled the daemon: each is now
// refused by `check` with a positioned message, or compiled into something that runs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configDir } from '../../test/config-dir.js';
import { createRedactor } from '../logging/redact.js';
import { runProbe } from '../probers/run-probe.js';
import { httpServer } from '../../test/servers.js';
import { formatDiagnostic } from './diagnostics.js';
import { loadConfig } from './load.js';

const HTTP = 'name: api\nkind: http\nurl: http://127.0.0.1:1/\n';

function problems(config: string, probes: Record<string, string>, env: Record<string, string> = {}): string[] {
  const dir = configDir(config, probes);
  const result = loadConfig(dir.configFile, { env, verifyStateDir: true });
  if (result.ok) return [];
  return result.diagnostics.map((d) => formatDiagnostic({ ...d, file: path.relative(dir.dir, path.resolve(d.file)) }));
}

const POSITIONED = /^[^\s:]+:\d+:\d+ /;

const refused: Array<{ name: string; config?: string; probes?: Record<string, string>; env?: Record<string, string>; expected: RegExp }> = [
  { name: 'a bad regex in a maintenance window', config: 'probesDir: probes\nalerting:\n  maintenance:\n    - { name: m, cron: "0 3 * * *", duration: 1h, match: { probe: "/([a-z/" } }\n', expected: /^flowprobe\.yaml:4:\d+ alerting\.maintenance\[0\]\.match\.probe: expected a regular expression RE2 can run \(no backreferences or lookaround\): missing closing \]: .*, found "\/\(\[a-z\/"/ },
  { name: 'a bad regex in a route', config: 'probesDir: probes\nalerting:\n  receivers: [{ name: a, webhook: { url: "http://127.0.0.1:9/" } }]\n  routes: [{ match: { probe: "/([a-z/" }, receivers: [a] }]\n', expected: /^flowprobe\.yaml:4:\d+ alerting\.routes\[0\]\.match\.probe: expected a regular expression RE2 can run/ },
  { name: 'a state directory under /proc (mkdir there never returned)', config: 'probesDir: probes\nstateDir: /proc/1/nope/state\n', expected: /^flowprobe\.yaml:2:11 stateDir: expected a directory flowprobe can create and write, found \/proc\/1\/nope\/state: cannot create or write it \(ENOENT\)/ },
  { name: 'a route regex that escaped its anchors to match everything', config: 'probesDir: probes\nalerting:\n  receivers: [{ name: a, webhook: { url: "http://127.0.0.1:9/" } }]\n  routes: [{ match: { probe: "/zz)|(.*/" }, receivers: [a] }]\n', expected: /^flowprobe\.yaml:4:\d+ alerting\.routes\[0\]\.match\.probe: expected a regular expression RE2 can run \(no backreferences or lookaround\): unexpected \): `zz\)\|\(\.\*`, found "\/zz\)\|\(\.\*\/"$/ },
  { name: 'a route regex that matches every value by accident', config: 'probesDir: probes\nalerting:\n  receivers: [{ name: a, webhook: { url: "http://127.0.0.1:9/" } }]\n  routes: [{ match: { probe: "/zz|.*/" }, receivers: [a] }]\n', expected: /^flowprobe\.yaml:4:\d+ alerting\.routes\[0\]\.match\.probe: expected a \/regex\/ that does not match every value \(write "\/\.\*\/" if every value is meant\), found "\/zz\|\.\*\/"$/ },
  { name: 'a body pattern with a backreference', probes: { 'a.yaml': `${HTTP}expect: { bodyMatches: "(a)\\\\1" }\n` }, expected: /^probes\/a\.yaml:4:\d+ expect\.bodyMatches: expected a regular expression RE2 can run \(no backreferences or lookaround\): invalid escape sequence/ },
  { name: 'a message pattern with lookahead', probes: { 'a.yaml': 'name: w\nkind: websocket\nurl: ws://127.0.0.1:1/\nsteps: [{ expect: { regex: "a(?=b)" } }]\n' }, expected: /steps\[0\]\.expect\.regex: expected a regular expression RE2 can run \(no backreferences or lookaround\): invalid or unsupported Perl syntax/ },
  { name: 'a process pattern RE2 cannot run', config: 'probesDir: probes\nresources: { processes: [{ name: p, match: "(?<!x)y" }] }\n', expected: /resources\.processes\[0\]\.match: expected a regular expression RE2 can run/ },
  { name: 'a degradation figure with a typo', probes: { 'a.yaml': `${HTTP}detect: { degraded: { figure: phase.frist_byte, threshold: 1s } }\n` }, expected: /^probes\/a\.yaml:4:\d+ detect\.degraded\.figure: expected duration, total, rtt_p95, first_event, phase\.</ },
  { name: 'a figure the kind does not have', probes: { 'a.yaml': `${HTTP}detect: { degraded: { figure: rtt_p95, threshold: 1s } }\n` }, expected: /^probes\/a\.yaml:4:\d+ detect\.degraded\.figure: expected a figure a http probe has \(duration, phase\.dns.*\), found "rtt_p95"/ },
  { name: 'a default figure a probe does not have', config: 'probesDir: probes\ndetect: { degraded: { figure: leg.stream, threshold: 1s } }\n', probes: { 'a.yaml': HTTP }, expected: /^probes\/a\.yaml:1:7 name: detect\.degraded\.figure \(from the daemon config\): expected a figure a http probe has/ },
  { name: 'a missing CA file', probes: { 'a.yaml': `${HTTP}tls: { ca: /nonexistent/ca.pem }\n` }, expected: /^probes\/a\.yaml:4:\d+ tls\.ca: cannot use CA file \/nonexistent\/ca\.pem: ENOENT/ },
  { name: 'a CA file that holds no certificate', probes: { 'a.yaml': `${HTTP}tls: { ca: /etc/hostname }\n` }, expected: /^probes\/a\.yaml:4:\d+ tls\.ca: expected a PEM CA file/ },
  { name: 'a bad RS256 key', probes: { 'a.yaml': 'name: w\nkind: websocket\nurl: ws://127.0.0.1:1/\nauth: { jwt: { secret: not-a-key, algorithm: RS256 } }\n' }, expected: /^probes\/a\.yaml:4:\d+ auth\.jwt\.secret: expected a PEM private key/ },
  { name: 'an interval of 400 nines days', probes: { 'a.yaml': `${HTTP}every: 999999999999999999999999d\n` }, expected: /every: expected a duration like 500ms, 30s, 5m \(from 100ms to 7d\)/ },
  { name: 'a group repeat of 0ms', config: 'probesDir: probes\nalerting: { group: { wait: 0ms, interval: 0ms, repeat: 0ms } }\n', expected: /alerting\.group\.interval: expected a duration .*\(from 10ms to 1d\)[\s\S]*alerting\.group\.repeat: expected a duration .*\(from 1m to 7d\)/ },
  { name: 'a retry of 0ms', config: 'probesDir: probes\nalerting: { retry: { initial: 0ms } }\n', expected: /alerting\.retry\.initial: expected a duration .*\(from 10ms to 1h\)/ },
  { name: 'a resource interval of 0ms', config: 'probesDir: probes\nresources: { interval: 0ms }\n', expected: /resources\.interval: expected a duration .*\(from 100ms to 1h\)/ },
  { name: 'a port above 65535', config: 'probesDir: probes\nlisten: 127.0.0.1:99999\n', expected: /^flowprobe\.yaml:2:9 listen: expected host:port like 127\.0\.0\.1:9464 \(port 0-65535\)/ },
  { name: 'an unterminated reference', probes: { 'a.yaml': `${HTTP}headers: { x-token: "\${NOPE" }\n` }, expected: /headers\.x-token: expected \$\{ENV_VAR\} or \$\{file:\/path\} closed with "\}", found an unterminated \$\{NOPE/ },
  { name: 'a huge maxBody', probes: { 'a.yaml': `${HTTP}maxBody: 99999999GiB\n` }, expected: /maxBody: expected a size .*\(from 0B to 256MiB\), found "99999999GiB"/ },
  { name: 'a CRLF in a header value', probes: { 'a.yaml': `${HTTP}headers: { x-a: "one\\r\\nx-injected: two" }\n` }, expected: /headers\.x-a: expected a header value without line breaks or NUL/ },
  { name: 'a JSONPath filter with a regular expression (not linear time)', probes: { 'a.yaml': `${HTTP}expect: { json: { "$.items[?(@.name.match(/a+$/))].ok": true } }\n` }, expected: /^probes\/a\.yaml:4:\d+ expect\.json\..*: expected a JSON path filter without regular expressions/ },
  { name: 'an ordering operator with a string operand', probes: { 'a.yaml': `${HTTP}expect: { json: { "$.depth": { lt: "100" } } }\n` }, expected: /^probes\/a\.yaml:4:\d+ expect\.json\.\$\.depth\.lt: expected a number \(a string never compares as a number: write 5, not "5"\)/ },
  { name: 'an unknown operator', probes: { 'a.yaml': `${HTTP}expect: { json: { "$.depth": { below: 100 } } }\n` }, expected: /^probes\/a\.yaml:4:\d+ expect\.json\.\$\.depth\.below: unknown key/ },
  { name: 'a regex operand RE2 cannot run', probes: { 'a.yaml': `${HTTP}expect: { json: { "$.name": { matches: "(a)\\\\1" } } }\n` }, expected: /^probes\/a\.yaml:4:\d+ expect\.json\.\$\.name\.matches: expected a regular expression RE2 can run/ },
  { name: 'a JSONPath with an open bracket', probes: { 'a.yaml': `${HTTP}expect: { json: { "$.items[": 1 } }\n` }, expected: /expected a JSON path with balanced brackets/ },
  { name: 'a cron expression that never fires', probes: { 'a.yaml': `${HTTP}cron: "0 0 30 2 *"\n` }, expected: /cron: expected a cron expression .*it never fires/ },
  { name: 'nesting thousands of levels deep (the parser overflowed its stack)', probes: { 'a.yaml': `${HTTP}labels: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n` }, expected: /^probes\/a\.yaml:4:\d+ invalid YAML: expected at most 64 levels of \[ and \{ nesting, found more$/ },
  { name: 'a YAML alias bomb', probes: { 'a.yaml': `${HTTP}${aliasBomb()}` }, expected: /^probes\/a\.yaml:\d+:\d+ invalid YAML: expected at most 100 alias expansions/ },
  { name: 'a one-character secret (it would be removed from every word that has it)', probes: { 'a.yaml': `${HTTP}headers: { x-key: "\${K}" }\n` }, env: { K: 'e' }, expected: /^probes\/a\.yaml:4:\d+ headers\.x-key: expected a secret of at least 8 characters from \$\{K\}, found one of 1: shorter ones cannot be kept out of logs and alerts/ },
  { name: 'an HS256 secret shorter than the hash', probes: { 'a.yaml': 'name: w\nkind: websocket\nurl: ws://127.0.0.1:1/\nauth: { jwt: { secret: "\${JWT}" } }\n' }, env: { JWT: 'sixteen-bytes-ok' }, expected: /^probes\/a\.yaml:4:\d+ auth\.jwt\.secret: expected an HS256 secret of at least 32 bytes \(RFC 7518 §3\.2\), found one of 16/ },
  { name: 'a secret file that is a device', probes: { 'a.yaml': `${HTTP}headers: { authorization: "\${file:/dev/zero}" }\n` }, expected: /cannot read secret file \/dev\/zero \(not a regular file; expected a regular file of at most 64KiB\)/ },
];

function aliasBomb(): string {
  const lines = ['description: x', 'labels:', '  a: &a "lol"'];
  lines.push('x0: &x0 [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]');
  for (let i = 1; i < 8; i++) lines.push(`x${i}: &x${i} [${Array(10).fill(`*x${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

describe('compile once: what cannot run is refused by check, with file:line:col key and what was expected', () => {
  for (const c of refused) {
    it(c.name, () => {
      const found = problems(c.config ?? 'probesDir: probes\n', c.probes ?? { 'a.yaml': HTTP }, c.env);
      assert.ok(found.length > 0, 'refused');
      assert.match(found.join('\n'), c.expected);
      for (const line of found) assert.match(line, POSITIONED, `every problem is positioned: ${line}`);
    });
  }

  it('refuses a FIFO as a secret file at once instead of hanging', () => {
    const dir = configDir('probesDir: probes\n', {});
    const fifo = path.join(dir.dir, 'secret.fifo');
    execFileSync('mkfifo', [fifo]);
    dir.write('probes/a.yaml', `${HTTP}headers: { authorization: "\${file:${fifo}}" }\n`);
    const result = loadConfig(dir.configFile, { env: {} });
    assert.ok(!result.ok);
    assert.match(result.diagnostics.map(formatDiagnostic).join('\n'), /cannot read secret file .*secret\.fifo \(not a regular file/);
  });

  it('reports cross-field problems in the same pass as schema problems', () => {
    const found = problems('probesDir: probes\nalerting:\n  receivers: [{ name: a, webhook: { url: "http://127.0.0.1:9/" } }]\n  routes: [{ receivers: [b] }]\n  bogus: 1\n', {
      'a.yaml': `${HTTP}every: 1s\ntimeout: 2s\nmethod: FETCH\n`,
    });
    assert.deepEqual(
      found.map((line) => line.replace(/:\d+:\d+ /, ' ')),
      [
        'flowprobe.yaml alerting.routes[0].receivers[0]: expected one of the receivers (a), found "b"',
        'flowprobe.yaml alerting.bogus: unknown key',
        'probes/a.yaml timeout: expected a timeout shorter than the interval (1s), found 2s',
        'probes/a.yaml method: expected one of: "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", found "FETCH"',
      ],
    );
  });
});

describe('compiled objects', () => {
  it('reads the CA once at load: the running probe never opens the file', async () => {
    const dir = configDir('probesDir: probes\n', {});
    // A real PEM certificate, generated for this test.
    const key = path.join(dir.dir, 'key.pem');
    const ca = path.join(dir.dir, 'ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', ca, '-days', '1', '-subj', '/CN=flowprobe-test'], { stdio: 'pipe' });
    const target = await httpServer((_req, res) => res.end('ok'));
    try {
      dir.write('probes/a.yaml', `name: a\nkind: http\nurl: ${target.url}/\ntls: { ca: ${ca} }\n`);
      const result = loadConfig(dir.configFile, { env: {} });
      assert.ok(result.ok, result.ok ? '' : result.diagnostics.map(formatDiagnostic).join('\n'));
      const spec = result.config.probes[0];
      assert.ok(spec?.kind === 'http' && Buffer.isBuffer(spec.tls.ca) && spec.tls.ca.length > 0, 'the CA bytes are in the compiled spec');
      writeFileSync(ca, 'replaced after load');
      const run = await runProbe(spec, { signal: AbortSignal.timeout(2_000), runId: 'r', redact: (t) => t }, { slot: 0, startedAt: 0 });
      assert.equal(run.ok, true, JSON.stringify(run));
    } finally {
      await target.close();
    }
  });

  it('imports a JWT signing key once, at load', () => {
    const dir = configDir('probesDir: probes\n', { 'a.yaml': 'name: w\nkind: websocket\nurl: ws://127.0.0.1:1/\nauth: { jwt: { secret: "${JWT}" } }\n' });
    const result = loadConfig(dir.configFile, { env: { JWT: 'a-signing-secret-of-32-bytes-or-more' } });
    assert.ok(result.ok);
    const spec = result.config.probes[0];
    assert.ok(spec?.kind === 'websocket' && spec.auth && 'jwt' in spec.auth);
    assert.ok(spec.auth.jwt.key instanceof KeyObject && spec.auth.jwt.key.type === 'secret');
    assert.ok(!('secret' in spec.auth.jwt), 'the compiled spec holds the key, not the text');
  });

  it('redacts long secrets before anything is shortened (too short ones are refused above)', async () => {
    const secret = 'S'.repeat(150);
    const target = await httpServer((_req, res) => res.end(`prefix ${'x'.repeat(40)} ${secret} and the rest`));
    try {
      const dir = configDir('probesDir: probes\n', {
        'a.yaml': `name: a\nkind: http\nurl: ${target.url}/\nheaders: { x-k: "\${K}", x-t: "\${T}" }\nexpect: { bodyContains: "nothing like this" }\n`,
      });
      const result = loadConfig(dir.configFile, { env: { K: secret, T: 'qqqqqqqq' } });
      assert.ok(result.ok);
      assert.ok(result.config.secrets.includes('qqqqqqqq'), 'an eight-character secret is a secret');
      const redact = createRedactor(result.config.secrets);
      const spec = result.config.probes[0];
      assert.ok(spec);
      const run = await runProbe(spec, { signal: AbortSignal.timeout(2_000), runId: 'r', redact }, { slot: 0, startedAt: 0 });
      const observed = run.checks.find((c) => c.name === 'body contains')?.observed ?? '';
      assert.match(observed, /\[REDACTED\]/);
      assert.doesNotMatch(observed, /SSSS/, 'no part of the secret survives the cut');
      assert.equal(redact('a qqqqqqqq in the text'), 'a [REDACTED] in the text');
    } finally {
      await target.close();
    }
  });
});
