import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_TLS } from '../../config/fields.js';
import { describe, it } from 'node:test';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import { alertingConfig } from '../../../test/alerting.js';
import { closedPort, httpServer } from '../../../test/servers.js';
import { waitFor } from '../../../test/wait.js';
import { systemClock } from '../../scheduler/clock.js';
import { fingerprint, type Alert, type Notification } from '../alert.js';
import { AlertEngine } from '../engine.js';
import { alertmanagerReceiver } from './alertmanager.js';
import { emailReceiver } from './email.js';
import { slackMessage, slackReceiver } from './slack.js';
import { webhookReceiver } from './webhook.js';

const labels = { alertname: 'ProbeFailing', probe: 'api', kind: 'http', severity: 'critical', location: 'lab' };
const alert = (status: 'firing' | 'resolved'): Alert => ({
  fingerprint: fingerprint(labels),
  labels,
  summary: status === 'firing' ? 'api (http) is failing: http_status: status: expected 2xx, observed 503 — 3 consecutive failures' : 'api (http) recovered after 3m',
  checks: [
    { name: 'status', ok: false, expected: '2xx', observed: '503' },
    { name: 'duration', ok: true, expected: '<= 2s', observed: '12ms' },
  ],
  evidence: {},
  status,
  startsAt: Date.UTC(2026, 0, 1),
  endsAt: status === 'resolved' ? Date.UTC(2026, 0, 1, 0, 3) : undefined,
  durationMs: status === 'resolved' ? 180_000 : undefined,
});
const notification = (status: 'firing' | 'resolved'): Notification => ({
  id: `n-${status}`,
  receiver: 'r',
  groupKey: 'r:{"alertname":"ProbeFailing"}',
  groupLabels: { alertname: 'ProbeFailing' },
  status,
  alerts: [alert(status)],
  externalUrl: 'http://ops.example:9464',
  createdAt: Date.now(),
  test: false,
});

/** An HTTP sink answering each request with the next status (the last one repeats). */
async function sink(statuses: Array<number | 'hang'>, headers: Record<string, string> = {}) {
  const bodies: Array<{ body: string; headers: http.IncomingHttpHeaders }> = [];
  const server = await httpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push({ body, headers: req.headers });
      const status = statuses.length > 1 ? statuses.shift() : statuses[0];
      if (status === 'hang') return;
      res.writeHead(status ?? 200, headers).end(status === 200 ? 'ok' : 'nope');
    });
  });
  return { server, bodies };
}

it('reads only the bytes it keeps of an error answer: a body that never ends costs nothing', async () => {
  const server = await httpServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'text/html' });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const timer = setInterval(() => res.write(chunk), 1);
    res.on('close', () => clearInterval(timer));
  });
  try {
    const started = Date.now();
    const delivery = await webhookReceiver({ kind: 'webhook' as const, name: 'hook', webhook: { url: server.url, headers: {} } }).send(notification('firing'), AbortSignal.timeout(5_000));
    assert.ok(!delivery.ok && delivery.retry && delivery.reason === 'http_5xx', JSON.stringify(delivery));
    assert.ok(!delivery.ok && delivery.message.length <= 2_100, `kept ${delivery.ok ? 0 : delivery.message.length} characters`);
    assert.ok(Date.now() - started < 2_000, `returned after ${Date.now() - started} ms, not at the timeout`);
  } finally {
    await server.close();
  }
});

describe('Slack receiver against a Slack-shaped sink', () => {
  const slack = (url: string) => slackReceiver({ kind: 'slack' as const, name: 'slack', slack: { webhookUrl: url } });

  it('posts valid Block Kit: a header, the summary, ✅/❌ per check, colour by severity', async () => {
    const { server, bodies } = await sink([200]);
    try {
      assert.deepEqual(await slack(server.url).send(notification('firing'), AbortSignal.timeout(2000)), { ok: true });
      const message = JSON.parse(bodies[0]?.body ?? '{}') as { text: string; attachments: Array<{ color: string; blocks: Array<{ type: string; text?: { type: string; text: string }; elements?: unknown[] }> }> };
      assert.equal(message.text, '[FIRING:1] ProbeFailing api (lab)');
      const [attachment] = message.attachments;
      assert.equal(attachment?.color, '#d92d20');
      assert.deepEqual(attachment?.blocks.map((b) => b.type), ['header', 'section', 'section', 'context']);
      assert.equal(attachment?.blocks[0]?.text?.type, 'plain_text');
      assert.ok((attachment?.blocks[0]?.text?.text.length ?? 999) <= 150);
      assert.equal(attachment?.blocks[2]?.text?.text, '❌ status: expected 2xx, observed 503\n✅ duration: expected <= 2s, observed 12ms');
      for (const block of attachment?.blocks ?? []) if (block.text) assert.ok(block.text.text.length <= 3000);
      const resolved = slackMessage(notification('resolved'), undefined) as { text: string; attachments: Array<{ color: string; blocks: Array<{ text?: { text: string } }> }> };
      assert.equal(resolved.attachments[0]?.color, '#12b76a');
      assert.match(resolved.attachments[0]?.blocks[1]?.text?.text ?? '', /recovered after 3m$/);
      // A browser leg's failure: the page as it was, one click away.
      const withShot = notification('firing');
      withShot.alerts = [{ ...alert('firing'), evidence: { screenshot: 'probes/api/screenshot.jpg' } }];
      const shown = slackMessage(withShot, undefined) as { attachments: Array<{ blocks: Array<{ type: string; elements?: Array<{ text: string }> }> }> };
      assert.match(shown.attachments[0]?.blocks.at(-1)?.elements?.[0]?.text ?? '', /<http:\/\/ops\.example:9464\/probes\/api\/screenshot\.jpg\|the page when it failed>$/);
      assert.doesNotMatch(JSON.stringify(message), /screenshot/, 'no link without one');
    } finally {
      await server.close();
    }
  });

  it('classifies 429 with Retry-After, 5xx, 400 and a hang', async () => {
    const { server } = await sink([429, 503, 400, 'hang'], { 'retry-after': '7' });
    try {
      const receiver = slack(server.url);
      const send = () => receiver.send(notification('firing'), AbortSignal.timeout(300));
      assert.deepEqual(pick(await send()), { ok: false, retry: true, retryAfterMs: 7000, reason: 'http_429' });
      assert.deepEqual(pick(await send()), { ok: false, retry: true, retryAfterMs: 7000, reason: 'http_5xx' });
      assert.deepEqual(pick(await send()), { ok: false, retry: false, retryAfterMs: undefined, reason: 'http_4xx' });
      const started = Date.now();
      assert.deepEqual(pick(await send()), { ok: false, retry: true, retryAfterMs: undefined, reason: 'timeout' });
      assert.ok(Date.now() - started < 1000, 'a hanging receiver is bounded by the delivery timeout');
    } finally {
      await server.close();
    }
  });
});

function pick(d: Awaited<ReturnType<ReturnType<typeof slackReceiver>['send']>>) {
  return d.ok ? d : { ok: d.ok, retry: d.retry, retryAfterMs: d.retryAfterMs, reason: d.reason };
}

describe('webhook receiver', () => {
  it('signs the body with HMAC-SHA256 over timestamp.body', async () => {
    const { server, bodies } = await sink([200]);
    try {
      const secret = 'webhook-secret-0123456789';
      await webhookReceiver({ kind: 'webhook' as const, name: 'hook', webhook: { url: server.url, headers: {}, hmacSecret: secret } }).send(notification('firing'), AbortSignal.timeout(2000));
      const { body, headers } = bodies[0] ?? { body: '', headers: {} };
      const expected = createHmac('sha256', secret).update(`${headers['x-flowprobe-timestamp']}.${body}`).digest('hex');
      assert.equal(headers['x-flowprobe-signature'], `sha256=${expected}`);
      assert.equal((JSON.parse(body) as { alerts: Array<{ labels: { probe: string } }> }).alerts[0]?.labels.probe, 'api');
    } finally {
      await server.close();
    }
  });
});

describe('email receiver against a real SMTP server', () => {
  interface Received {
    subject: string;
    raw: string;
  }
  async function smtp(port: number, answer: () => 'ok' | 451 | 550) {
    const received: Received[] = [];
    const server = new SMTPServer({
      disableReverseLookup: true,
      authOptional: true,
      secure: false,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream: SMTPServerDataStream, _session, callback) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString()));
        stream.on('end', () => {
          const verdict = answer();
          if (verdict !== 'ok') return callback(Object.assign(new Error(verdict === 451 ? 'try again later' : 'mailbox unavailable'), { responseCode: verdict }));
          received.push({ subject: /^Subject: (.*)$/m.exec(raw)?.[1] ?? '', raw });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }
  const config = (port: number) => ({ kind: 'email' as const, name: 'mail', email: { host: '127.0.0.1', port, secure: false, requireTls: false, from: 'flowprobe@lab', to: ['oncall@lab'], tls: DEFAULT_TLS } });

  it('delivers a subject that sorts and threads, with text and HTML bodies', async () => {
    const port = await closedPort();
    const server = await smtp(port, () => 'ok');
    try {
      const delivery = await emailReceiver(config(port), 2000).send(notification('firing'), AbortSignal.timeout(2000));
      assert.deepEqual(delivery, { ok: true });
      const mail = server.received[0];
      assert.equal(mail?.subject, '[FIRING:1] ProbeFailing api (lab)');
      assert.match(mail?.raw ?? '', /Content-Type: text\/plain/);
      assert.match(mail?.raw ?? '', /Content-Type: text\/html/);
      assert.match(mail?.raw ?? '', /status: expected 2xx, observed 503/);
    } finally {
      await server.close();
    }
  });

  it('classifies SMTP 4xx as retry and 5xx as permanent', async () => {
    const port = await closedPort();
    const answers: Array<451 | 550> = [451, 550];
    const server = await smtp(port, () => answers.shift() ?? 550);
    try {
      const receiver = emailReceiver(config(port), 2000);
      const first = await receiver.send(notification('firing'), AbortSignal.timeout(2000));
      assert.ok(!first.ok && first.retry && first.reason === 'smtp_4xx', JSON.stringify(first));
      const second = await receiver.send(notification('firing'), AbortSignal.timeout(2000));
      assert.ok(!second.ok && !second.retry && second.reason === 'smtp_5xx', JSON.stringify(second));
    } finally {
      await server.close();
    }
  });

  it('through the engine: a 4xx is retried and delivered; a dead server is waited for, then delivered', async () => {
    const port = await closedPort();
    const attempts: string[] = [];
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-email-'));
    const engine = new AlertEngine({
      clock: systemClock,
      stateDir,
      location: 'lab',
      config: alertingConfig({ receivers: [{ name: 'mail', email: { ...config(port).email, tls: undefined } }], group: { wait: '10ms', interval: '10ms', repeat: '1h' }, retry: { initial: '50ms', max: '200ms' }, timeout: '1s' }),
      events: { attempt: (_r, _n, d) => void attempts.push(d.ok ? 'ok' : d.reason), decision: () => undefined, saveError: (e) => assert.fail(String(e)) },
    });
    engine.start();
    try {
      engine.handle([{ labels, status: 'firing', at: Date.now(), summary: 'api is failing', checks: [], evidence: {} }]);
      await waitFor('attempts against a dead server', () => attempts.length >= 2 || undefined);
      assert.ok(attempts.every((a): boolean => a === 'network'), attempts.join());
      const answers: Array<'ok' | 451> = [451, 'ok'];
      const server = await smtp(port, () => answers.shift() ?? 'ok');
      try {
        // Wait for the very condition asserted: the sender recorded the delivery (the SMTP server
        // may have the mail a moment before the client side has written its attempt).
        await waitFor('the delivery recorded once the server is up', () => (attempts.at(-1) === 'ok' ? true : undefined), 10_000);
        assert.ok(attempts.includes('smtp_4xx'), `a 4xx was retried: ${attempts.join()}`);
        assert.equal(server.received.length, 1);
        assert.equal(engine.pending('mail').count, 0);
      } finally {
        await server.close();
      }
    } finally {
      engine.stop();
    }
  });
});

describe('Alertmanager receiver payload', () => {
  it('sends labels, annotations, startsAt, endsAt for resolved, and generatorURL', async () => {
    const { server, bodies } = await sink([200]);
    try {
      await alertmanagerReceiver({ kind: 'alertmanager' as const, name: 'am', alertmanager: { url: server.url } }).send(notification('resolved'), AbortSignal.timeout(2000));
      assert.equal(bodies[0]?.headers['content-type'], 'application/json');
      const [sent] = JSON.parse(bodies[0]?.body ?? '[]') as Array<Record<string, unknown>>;
      assert.deepEqual(sent?.labels, labels);
      assert.equal(sent?.startsAt, '2026-01-01T00:00:00.000Z');
      assert.equal(sent?.endsAt, '2026-01-01T00:03:00.000Z');
      assert.equal(sent?.generatorURL, `http://ops.example:9464/probes/${labels.probe}`, 'the probe\'s status page');
    } finally {
      await server.close();
    }
  });
});
