// A canary secret in every receiver's config never shows in logs, metrics, API output or the
// notifications themselves.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import { startDaemon } from '../../test/daemon-harness.js';
import { closedPort, httpServer } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';

const CANARY = 'canary-5ecret-8c1d2f';

it('keeps a canary secret out of logs, metrics, API output and notification bodies', async () => {
  const bodies: string[] = [];
  const hook = await httpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      // The body (and signature) only: a configured header or URL path is where a receiver is
      // meant to get its secret.
      bodies.push(`${String(req.headers['x-flowprobe-signature'] ?? '')} ${body}`);
      res.end();
    });
  });
  const smtpPort = await closedPort();
  const smtp = new SMTPServer({
    disableReverseLookup: true,
    secure: false,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username }),
    onData(stream: SMTPServerDataStream, _session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => (bodies.push(raw), callback()));
    },
  });
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
  const target = await httpServer((_req, res) => void res.writeHead(500).end(`oops ${CANARY}`));
  const config = [
    'probesDir: probes',
    'apiToken: ${API_TOKEN}',
    'detect: { failAfter: 1 }',
    'alerting:',
    '  group: { wait: 10ms, interval: 50ms }',
    '  receivers:',
    `    - { name: slack, slack: { webhookUrl: "${hook.url}/hooks/\${CANARY}" } }`,
    `    - { name: hook, webhook: { url: "${hook.url}/webhook", hmacSecret: "\${CANARY}", headers: { x-token: "\${CANARY}" } } }`,
    `    - { name: mail, email: { host: 127.0.0.1, port: ${smtpPort}, requireTls: false, auth: { user: ops, pass: "\${CANARY}" }, from: fp@lab, to: oncall@lab } }`,
    '',
  ].join('\n');
  const h = await startDaemon(config, { 'a.yaml': `name: leaky\nkind: http\nevery: 200ms\ntimeout: 150ms\nurl: ${target.url}/?key=\${CANARY}\nheaders: { authorization: "Bearer \${CANARY}" }\nexpect: { bodyContains: fine }\n` }, { CANARY, API_TOKEN: 'api-token-0123456789abcdef' });
  try {
    await waitFor('notifications to all three receivers', () => (bodies.length >= 3 ? true : undefined), 10_000);
    const everything = [
      h.logs.join('\n'),
      (await h.get('/metrics')).text,
      (await h.get('/api/v1/status')).text,
      (await h.get('/api/v1/status?probe=leaky')).text,
      (await h.get('/api/v1/alerts')).text,
      (await h.get('/')).text,
      (await h.get('/probes/leaky')).text,
      (await h.get('/alerts')).text,
      ...bodies,
    ].join('\n');
    assert.ok(everything.includes('[REDACTED]'), 'the secret was there to be redacted');
    const at = everything.indexOf(CANARY);
    assert.equal(at, -1, `canary leaked: …${everything.slice(Math.max(0, at - 200), at + 50)}`);
  } finally {
    await h.daemon.stop();
    await hook.close();
    await target.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  }
});
