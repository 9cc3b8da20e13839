import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { configDir } from '../../test/config-dir.js';
import { formatDiagnostic } from './diagnostics.js';
import { loadConfig } from './load.js';
import { PROBE_KINDS } from './schema.js';

/** The kind names as error messages list them (every kind registered in probers/kinds.ts). */
const KINDS = PROBE_KINDS.join(', ');

const HTTP = 'name: api\nkind: http\nurl: http://127.0.0.1:1/\n';

/** Loads and returns every problem as "file:line:col key: message", with the temp dir removed. */
function problems(config: string, probes: Record<string, string>, env: Record<string, string> = {}): string[] {
  const dir = configDir(config, probes);
  const result = loadConfig(dir.configFile, { env });
  if (result.ok) return [];
  const relative = (d: (typeof result.diagnostics)[number]) => ({ ...d, file: path.relative(dir.dir, path.resolve(d.file)) });
  return result.diagnostics.map((d) => formatDiagnostic(relative(d)).replaceAll(`${dir.dir}/`, ''));
}

const cases: Array<{ name: string; config?: string; probes: Record<string, string>; env?: Record<string, string>; expected: string[] }> = [
  { name: 'bad YAML', probes: { 'a.yaml': 'name: [\n' }, expected: ['probes/a.yaml:2:1 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'] },
  { name: 'duplicate YAML key', probes: { 'a.yaml': `${HTTP}url: http://x/\n` }, expected: ['probes/a.yaml:4:1 invalid YAML: Map keys must be unique'] },
  { name: 'unknown probe key', probes: { 'a.yaml': `${HTTP}retries: 3\n` }, expected: ['probes/a.yaml:4:1 retries: unknown key'] },
  { name: 'unknown nested key', probes: { 'a.yaml': `${HTTP}expect:\n  statuz: 200\n` }, expected: ['probes/a.yaml:5:3 expect.statuz: unknown key — did you mean "status"?'] },
  { name: 'a key named as other monitors name it', probes: { 'a.yaml': `${HTTP}interval: 30s\n` }, expected: ['probes/a.yaml:4:1 interval: unknown key — did you mean "every"?'] },
  { name: 'a key in snake case', config: 'probesDir: probes\ndetect: { recover_after: 2 }\n', probes: { 'a.yaml': HTTP }, expected: ['flowprobe.yaml:2:11 detect.recover_after: unknown key — did you mean "recoverAfter"?'] },
  { name: 'a key of another kind is not suggested for this one', probes: { 'a.yaml': `${HTTP}hold: 5s\n` }, expected: ['probes/a.yaml:4:1 hold: unknown key'] },
  { name: 'the sse reconnect policy of old, replaced by limits', probes: { 'a.yaml': 'name: s\nkind: sse\nurl: http://x/\nreconnect: { max: 3 }\n' }, expected: ['probes/a.yaml:4:12 reconnect: reconnect was replaced: reconnects are normal, as for an EventSource; limit them with expect.maxReconnects and expect.reconnectWithin (or under degradeWhen), found a mapping'] },
  { name: 'a certificate limit on a probe that does not speak TLS', probes: { 'a.yaml': `${HTTP}degradeWhen: { certExpiresIn: 21d }\n` }, expected: ['probes/a.yaml:4:31 degradeWhen.certExpiresIn: expected a TLS url (https://) for a certificate limit, found http://'] },
  { name: 'an ipFamily that contradicts the address in the url', probes: { 'a.yaml': `${HTTP}ipFamily: ipv6\n` }, expected: ['probes/a.yaml:4:11 ipFamily: expected ipFamily ipv4 or auto for the IPv4 address 127.0.0.1, found ipv6'] },
  { name: 'ipFamily both on an address, not a host name', probes: { 'a.yaml': 'name: api\nkind: http\nurl: http://[::1]:1/\nipFamily: both\n' }, expected: ['probes/a.yaml:4:11 ipFamily: expected a host name for ipFamily both (one per family), found the IPv6 address ::1'] },
  { name: 'unknown daemon key', config: 'probesDir: probes\nlisten_addr: x\n', probes: { 'a.yaml': HTTP }, expected: ['flowprobe.yaml:2:1 listen_addr: unknown key'] },
  { name: 'unknown kind', probes: { 'a.yaml': 'name: a\nkind: htp\nurl: http://x/\n' }, expected: [`probes/a.yaml:2:7 kind: expected kind to be one of: ${KINDS}, found "htp"`] },
  { name: 'missing kind', probes: { 'a.yaml': 'name: a\nurl: http://x/\n' }, expected: [`probes/a.yaml:1:1 kind: missing, expected kind to be one of: ${KINDS}`] },
  { name: 'missing url', probes: { 'a.yaml': 'name: a\nkind: http\n' }, expected: ['probes/a.yaml:1:1 url: missing, expected an http(s) URL'] },
  { name: 'wrong type', probes: { 'a.yaml': `${HTTP}followRedirects: "yes"\n` }, expected: ['probes/a.yaml:4:18 followRedirects: expected a boolean, found "yes"'] },
  { name: 'not an http URL', probes: { 'a.yaml': 'name: a\nkind: http\nurl: ftp://x/\n' }, expected: ['probes/a.yaml:3:6 url: expected an http(s) URL, found "ftp://x/"'] },
  { name: 'bad duration', probes: { 'a.yaml': `${HTTP}every: 5 minutes\n` }, expected: ['probes/a.yaml:4:8 every: expected a duration like 500ms, 30s, 5m (from 100ms to 7d), found "5 minutes"'] },
  { name: 'number as duration', probes: { 'a.yaml': `${HTTP}timeout: 5\n` }, expected: ['probes/a.yaml:4:10 timeout: expected a duration like 500ms, 30s, 5m (from 10ms to 1h), found 5'] },
  { name: 'bad cron', probes: { 'a.yaml': `${HTTP}cron: "61 * * * *"\n` }, expected: ['probes/a.yaml:4:7 cron: expected a cron expression ([second] minute hour day-of-month month day-of-week): Invalid value for minute: 61, found "61 * * * *"'] },
  { name: 'bad timezone', probes: { 'a.yaml': `${HTTP}cron: "* * * * *"\ntimezone: Mars/Olympus\n` }, expected: ['probes/a.yaml:5:11 timezone: expected an IANA time zone like UTC or Europe/Berlin, found "Mars/Olympus"'] },
  { name: 'every and cron', probes: { 'a.yaml': `${HTTP}every: 30s\ncron: "* * * * *"\n` }, expected: ['probes/a.yaml:5:7 cron: expected either every or cron, not both'] },
  { name: 'timeout >= interval', probes: { 'a.yaml': `${HTTP}every: 10s\ntimeout: 10s\n` }, expected: ['probes/a.yaml:5:10 timeout: expected a timeout shorter than the interval (10s), found 10s'] },
  { name: 'timeout >= cron gap', probes: { 'a.yaml': `${HTTP}cron: "*/5 * * * * *"\ntimeout: 6s\n` }, expected: ['probes/a.yaml:5:10 timeout: expected a timeout shorter than the interval (5s), found 6s'] },
  { name: 'interval too short', probes: { 'a.yaml': `${HTTP}every: 10ms\n` }, expected: ['probes/a.yaml:4:8 every: expected a duration like 500ms, 30s, 5m (from 100ms to 7d), found "10ms"'] },
  { name: 'duplicate probe name', probes: { 'a.yaml': HTTP, 'b.yaml': HTTP }, expected: ['probes/b.yaml:1:7 name: duplicate probe name "api", first defined at probes/a.yaml:1:7'] },
  { name: 'unset variable', probes: { 'a.yaml': `${HTTP}headers:\n  authorization: Bearer \${API_TOKEN}\n` }, expected: ['probes/a.yaml:5:18 headers.authorization: environment variable API_TOKEN is not set'] },
  { name: 'unreadable secret file', probes: { 'a.yaml': `${HTTP}headers:\n  authorization: \${file:/nonexistent/token}\n` }, expected: ['probes/a.yaml:5:18 headers.authorization: cannot read secret file /nonexistent/token (ENOENT; expected a regular file of at most 64KiB)'] },
  { name: 'malformed reference', probes: { 'a.yaml': `${HTTP}body: "\${not valid}"\n` }, expected: ['probes/a.yaml:4:7 body: expected ${ENV_VAR} or ${file:/path}, found ${not valid}'] },
  { name: 'bad status expectation', probes: { 'a.yaml': `${HTTP}expect:\n  status: ok\n` }, expected: ['probes/a.yaml:5:11 expect.status: expected a status code (200), a class ("2xx") or a list of them, found "ok"'] },
  { name: 'bad json path', probes: { 'a.yaml': `${HTTP}expect:\n  json: { status: ok }\n` }, expected: ['probes/a.yaml:5:11 expect.json.status: expected a JSON path starting with $, found key "status"'] },
  { name: 'bad regex', probes: { 'a.yaml': `${HTTP}expect:\n  bodyMatches: "(unclosed"\n` }, expected: ['probes/a.yaml:5:16 expect.bodyMatches: expected a regular expression RE2 can run (no backreferences or lookaround): missing closing ): `(unclosed`, found "(unclosed"'] },
  { name: 'bad enum', probes: { 'a.yaml': `${HTTP}method: FETCH\n` }, expected: ['probes/a.yaml:4:9 method: expected one of: "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", found "FETCH"'] },
  { name: 'bad probe name', probes: { 'a.yaml': 'name: "my probe!"\nkind: http\nurl: http://x/\n' }, expected: ['probes/a.yaml:1:7 name: expected a name of letters, digits, "_", "." or "-" (at most 100), found "my probe!"'] },
  { name: 'a spread step longer than a second', config: 'probesDir: probes\nscheduler: { spreadStep: 5s }\n', probes: { 'a.yaml': HTTP }, expected: ['flowprobe.yaml:2:26 scheduler.spreadStep: expected a duration like 500ms, 30s, 5m (from 1ms to 1s), found "5s"'] },
  { name: 'bad listen', config: 'probesDir: probes\nlisten: 9464\n', probes: { 'a.yaml': HTTP }, expected: ['flowprobe.yaml:2:9 listen: expected host:port like 127.0.0.1:9464 (port 0-65535), found 9464'] },
  { name: 'bad size', probes: { 'a.yaml': `${HTTP}maxBody: 1 megabyte\n` }, expected: ['probes/a.yaml:4:10 maxBody: expected a size like 1MiB, 512KiB or a number of bytes (from 0B to 256MiB), found "1 megabyte"'] },
  { name: 'list item problems are positioned', probes: { 'a.yaml': `- ${HTTP.replace(/\n(?!$)/g, '\n  ')}- name: b\n  kind: http\n  url: http://x/\n  every: 1s\n  timeout: 2s\n` }, expected: ['probes/a.yaml:8:12 [1].timeout: expected a timeout shorter than the interval (1s), found 2s'] },
  { name: 'sse hold not shorter than timeout', probes: { 'a.yaml': 'name: s\nkind: sse\nurl: http://x/\ntimeout: 5s\nhold: 5s\n' }, expected: ['probes/a.yaml:5:7 hold: expected a hold window shorter than the timeout (5s), found 5s'] },
  { name: 'sse resume outside the window', probes: { 'a.yaml': 'name: s\nkind: sse\nurl: http://x/\ntimeout: 9s\nhold: 5s\nresume: { after: 6s }\n' }, expected: ['probes/a.yaml:6:18 resume.after: expected resume.after inside the hold window (5s), found 6s'] },
  { name: 'flow await names no watcher', probes: { 'a.yaml': 'name: f\nkind: flow\nwatch:\n  - { name: stream, sse: { url: "http://x/" } }\nsteps:\n  - inject: { url: "http://x/" }\n  - await: { on: strem, match: { text: x } }\n' }, expected: ['probes/a.yaml:7:18 steps[1].await.on: expected one of the watchers (stream), found "strem"'] },
  { name: 'flow leg limit for an unknown leg', probes: { 'a.yaml': 'name: f\nkind: flow\nsteps:\n  - inject: { url: "http://x/", json: { m: "{{run.id}}" } }\n  - poll: { url: "http://x/", until: { $.a: "{{run.id}}" } }\nexpect:\n  legs: { dashbord: 1s }\n' }, expected: ['probes/a.yaml:7:11 expect.legs.dashbord: expected a leg of this flow (inject, dashboard), found "dashbord"'] },
  { name: 'flow: a poll with nothing injected before it, a template typo, a capture not captured, a leg named twice', probes: { 'a.yaml': 'name: f\nkind: flow\nsteps:\n  - poll: { url: "http://x/", until: { $.a: 1 } }\n  - inject: { url: "http://x/{{capture.id}}", json: { m: "{{run.idd}}" }, capture: { id: $.id } }\n  - poll: { url: "http://x/{{capture.id}}", until: { $.a: "{{run.id}}" } }\n' }, expected: [
    'probes/a.yaml:4:11 steps[0].poll: expected an inject step before this poll (nothing would carry the marker it waits for)',
    'probes/a.yaml:5:20 steps[1].inject.url: expected {{run.id}} (no inject before it captures anything), found "{{capture.id}}"',
    'probes/a.yaml:5:58 steps[1].inject.json.m: expected {{run.id}} (no inject before it captures anything), found "{{run.idd}}"',
    'probes/a.yaml:6:11 steps[2].poll.name: expected a leg name of its own, found "dashboard" (another leg has it)',
  ] },
  { name: 'http: body and json both, body checks on HEAD, a header the client sets, credentials in the URL, an infinite number', probes: { 'a.yaml': 'name: h\nkind: http\nurl: "http://u:p@x/"\nmethod: HEAD\nheaders: { transfer-encoding: chunked }\nbody: a\njson: { n: 1e400 }\nexpect: { bodyContains: ok }\n' }, expected: [
    'probes/a.yaml:3:6 url: expected a URL without user:password@ (the client does not send it): put credentials in headers, like authorization: "Basic ${CREDENTIALS}", found "http://u:p@x/"',
    'probes/a.yaml:5:12 headers.transfer-encoding: expected a header the client does not set itself (it sets transfer-encoding, content-length, expect, upgrade, connection, keep-alive, te and trailer from the request), found key "transfer-encoding"',
    'probes/a.yaml:7:7 json: expected JSON: every number finite (1e400, .inf and .nan have no JSON form), at most 64 levels deep, found a mapping',
  ] },
  { name: 'http: body and json both; body checks on HEAD', probes: { 'a.yaml': 'name: h\nkind: http\nurl: "http://x/"\nbody: a\njson: { n: 1 }\n', 'b.yaml': 'name: g\nkind: http\nurl: "http://x/"\nmethod: HEAD\nexpect: { bodyContains: ok }\n' }, expected: [
    'probes/a.yaml:5:7 json: expected body or json, not both (json would be sent and body ignored), found a mapping',
    'probes/b.yaml:5:9 expect: expected no body checks with method HEAD (a HEAD response has no body): use GET, found a mapping',
  ] },
  { name: 'an alert name with a typo in severity', config: 'probesDir: probes\nalerting: { severity: { ProbeFailling: warning } }\n', probes: { 'a.yaml': HTTP }, expected: ['flowprobe.yaml:2:25 alerting.severity.ProbeFailling: expected an alert name (ProbeFailing, ProbeDegraded, ProbeNotRecovered, ResourceOverBudget, ProcessGone, FlowprobeReceiverFailing, FlowprobeStateUnwritable, FlowprobeStateLost, FlowprobeProbeSideProblem, FlowprobeTest), found key "ProbeFailling"'] },
  { name: 'websocket: a subprotocol that is not a token, a token that cannot be one, exp in claims', probes: { 'a.yaml': 'name: w\nkind: websocket\nurl: ws://x/\nsubprotocols: ["a b"]\nauth: { token: "has space", in: subprotocol }\n' }, expected: [
    'probes/a.yaml:4:16 subprotocols[0]: expected a subprotocol that is an HTTP token (letters, digits and !#$%&\'*+-.^_`|~, no spaces or commas), found "a b"',
    'probes/a.yaml:5:16 auth.token: expected a token that can be sent as a subprotocol (an HTTP token: no spaces, commas or quotes); send it in: header or query, found "has space"',
  ] },
  { name: 'history: postgres set with store sqlite', config: 'probesDir: probes\nhistory: { store: sqlite, postgres: { url: "postgres://db/x" } }\n', probes: { 'a.yaml': HTTP }, expected: ['flowprobe.yaml:2:19 history.store: expected store: postgres (or no store key) when postgres is set, found "sqlite"'] },
  { name: 'history: store postgres without its url', config: 'probesDir: probes\nhistory: { store: postgres }\n', probes: { 'a.yaml': HTTP }, expected: ['flowprobe.yaml:2:10 history.postgres: missing, expected postgres: { url: "${PG_URL}" } with store: postgres'] },
  { name: 'history: a PostgreSQL URL that is not one, from the environment', config: 'probesDir: probes\nhistory: { postgres: { url: "${PG_URL}" } }\n', probes: { 'a.yaml': HTTP }, env: { PG_URL: 'mysql://root:hunter2@db/x' }, expected: ['flowprobe.yaml:2:29 history.postgres.url: expected a URL like postgres://user:password@host:5432/database (from the environment: url: "${PG_URL}"), found "${PG_URL}"'] },
  { name: 'missing probes directory', config: 'probesDir: nowhere\n', probes: {}, expected: [] },
];

describe('config validation: each broken config gets its exact message', () => {
  for (const c of cases.filter((c) => c.expected.length > 0)) {
    it(c.name, () => {
      assert.deepEqual(problems(c.config ?? 'probesDir: probes\n', c.probes, c.env), c.expected);
    });
  }

  it('a missing probes directory names the directory', () => {
    const found = problems('probesDir: nowhere\n', {});
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /nowhere cannot read probes directory \(ENOENT\)$/);
  });

  it('reports every problem of every file at once, daemon config included', () => {
    const found = problems('probesDir: probes\nbogus: 1\n', { 'a.yaml': `${HTTP}every: soon\n`, 'b.yaml': 'name: b\nkind: nope\n' });
    assert.deepEqual(found, [
      'flowprobe.yaml:2:1 bogus: unknown key',
      'probes/a.yaml:4:8 every: expected a duration like 500ms, 30s, 5m (from 100ms to 7d), found "soon"',
      `probes/b.yaml:2:7 kind: expected kind to be one of: ${KINDS}, found "nope"`,
    ]);
  });
});

describe('config loading', () => {
  it('applies defaults and resolves schedules, timeouts and paths', () => {
    const dir = configDir('probesDir: probes\ndefaults: { every: 20s, timeout: 30s }\n', {
      'a.yaml': HTTP,
      'b.yaml': `- name: c\n  kind: http\n  url: http://x/\n  cron: "*/10 * * * * *"\n  timezone: Europe/Berlin\n`,
    });
    const result = loadConfig(dir.configFile, { env: {} });
    assert.ok(result.ok);
    const [a, c] = result.config.probes;
    assert.deepEqual(a?.schedule, { type: 'every', everyMs: 20_000 });
    assert.equal(a?.timeoutMs, 16_000, 'default timeout capped below the interval');
    assert.equal(c?.schedule.type, 'cron');
    assert.equal(JSON.stringify(c?.schedule), '{"type":"cron","cron":"*/10 * * * * * (Europe/Berlin)"}');
    // Compiled once: the schedule gives due times, and nothing re-parses the expression.
    if (c?.schedule.type === 'cron') assert.equal(c.schedule.cron.next(Date.UTC(2026, 0, 1, 0, 0, 3)), Date.UTC(2026, 0, 1, 0, 0, 10));
    assert.equal(c?.timeoutMs, 8_000);
    assert.equal(result.config.settings.probesDir, dir.probesDir);
    assert.equal(result.config.settings.listen, '127.0.0.1:9464');
    assert.ok(Object.isFrozen(result.config.probes), 'config is immutable');
  });

  it('interpolates ${ENV} and ${file:} and records them as secrets', () => {
    const dir = configDir('probesDir: probes\n', {});
    dir.write('token.txt', 'file-secret-value\n');
    dir.write('probes/a.yaml', `${HTTP}headers:\n  authorization: Bearer \${API_TOKEN}\n  x-other: \${file:${dir.dir}/token.txt}\n  x-literal: "$\${NOT_A_REF}"\n`);
    const result = loadConfig(dir.configFile, { env: { API_TOKEN: 'env-secret-value' } });
    assert.ok(result.ok);
    const probe = result.config.probes[0];
    assert.ok(probe?.kind === 'http');
    assert.deepEqual(probe.headers, { authorization: 'Bearer env-secret-value', 'x-other': 'file-secret-value', 'x-literal': '${NOT_A_REF}' });
    assert.deepEqual([...result.config.secrets].sort(), ['env-secret-value', 'file-secret-value']);
  });

  it('keeps the history in PostgreSQL when history.postgres is set, the URL a secret', () => {
    const dir = configDir('probesDir: probes\nhistory: { postgres: { url: "${PG_URL}" } }\n', { 'a.yaml': HTTP });
    const result = loadConfig(dir.configFile, { env: { PG_URL: 'postgres://flowprobe:pw-7781@db:5432/flowprobe' } });
    assert.ok(result.ok);
    assert.equal(result.config.settings.history.store, 'postgres');
    assert.equal(result.config.settings.history.postgres?.url, 'postgres://flowprobe:pw-7781@db:5432/flowprobe');
    assert.ok(result.config.secrets.includes('postgres://flowprobe:pw-7781@db:5432/flowprobe'), 'redacted wherever it would show');
    const plain = loadConfig(configDir('probesDir: probes\n', { 'a.yaml': HTTP }).configFile, { env: {} });
    assert.ok(plain.ok && plain.config.settings.history.store === 'sqlite', 'SQLite by default');
  });

  it('never prints the value of a variable in a diagnostic', () => {
    const found = problems('probesDir: probes\n', { 'a.yaml': 'name: a\nkind: http\nurl: ${TARGET}\n' }, { TARGET: 'not-a-url-supersecret' });
    assert.deepEqual(found, ['probes/a.yaml:3:6 url: expected an http(s) URL, found "${TARGET}"']);
  });
});
