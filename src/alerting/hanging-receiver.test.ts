// A receiver that accepts the request and never answers: each delivery still ends at its
// deadline, with garbage collections forced all along (an AbortSignal.timeout inside
// AbortSignal.any could be collected before it fired, and the queue stalled for ever); the
// receiver is reported failing through another one; probing is not this module's to stall.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SMTPServer } from 'smtp-server';
import { alertingConfig } from '../../test/alerting.js';
import { closedPort, httpServer, webhookSink } from '../../test/servers.js';
import { waitFor } from '../../test/wait.js';
import { systemClock } from '../scheduler/clock.js';
import { AlertEngine } from './engine.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

it('a hanging webhook and a hanging SMTP server: every attempt ends at its deadline under forced GC, and both are reported failing', { timeout: 60_000 }, async () => {
  const hanging = await httpServer(() => undefined);
  // An SMTP server that greets, then never answers the message.
  const smtpPort = await closedPort();
  const smtp = new SMTPServer({ disableReverseLookup: true, authOptional: true, secure: false, disabledCommands: ['STARTTLS'], logger: false, onData: () => undefined });
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
  const pager = await webhookSink();
  const attempts: Array<{ receiver: string; reason: string }> = [];
  const engine = new AlertEngine({
    clock: systemClock,
    stateDir: mkdtempSync(path.join(os.tmpdir(), 'flowprobe-hanging-')),
    location: 'lab',
    config: alertingConfig({
      receivers: [
        { name: 'hang', webhook: { url: `${hanging.url}/` } },
        { name: 'mail', email: { host: '127.0.0.1', port: smtpPort, requireTls: false, from: 'f@lab', to: 'o@lab' } },
        { name: 'pager', webhook: { url: `${pager.url}/` } },
      ],
      routes: [{ match: { alertname: 'FlowprobeReceiverFailing' }, receivers: ['pager'] }, { match: {}, receivers: ['hang', 'mail'] }],
      group: { wait: '0s', interval: '10ms' },
      timeout: '200ms',
      retry: { initial: '10ms', max: '100ms' },
      receiverFailingAfter: '1s',
    }),
    events: { attempt: (receiver, _n, d) => void attempts.push({ receiver, reason: d.ok ? 'ok' : d.reason }), decision: () => undefined, saveError: (e) => assert.fail(String(e)) },
  });
  const collecting = setInterval(gc, 20);
  try {
    engine.start();
    engine.handle([{ labels: { alertname: 'ProbeFailing', probe: 'api', severity: 'critical', location: 'lab' }, status: 'firing', at: Date.now(), summary: 'api is failing', checks: [], evidence: {} }]);
    await waitFor('three timed-out attempts on each hanging receiver', () => ['hang', 'mail'].every((r) => attempts.filter((a) => a.receiver === r && a.reason === 'timeout').length >= 3) || undefined, 20_000, 20);
    const page = await waitFor('the receiver-failing alert through the pager', () => pager.bodies.find((b) => b.includes('FlowprobeReceiverFailing') && b.includes('"receiver":"hang"')), 20_000, 20);
    assert.match(page, /receiver hang has failed to deliver for [\d.]+s: timeout: no answer within the delivery timeout/);
    assert.ok(attempts.filter((a) => a.receiver === 'hang').every((a) => a.reason === 'timeout'), JSON.stringify(attempts));
  } finally {
    clearInterval(collecting);
    engine.stop();
    await hanging.close();
    await pager.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  }
});
