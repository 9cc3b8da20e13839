import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FakeClock } from '../../test/fake-clock.js';
import { alertingConfig } from '../../test/alerting.js';
import type { AlertEvent, Notification } from './alert.js';
import { silenceInput } from './maintenance.js';
import { AlertEngine } from './engine.js';
import type { Delivery, Receiver } from './receivers/receiver.js';
import { MAX_QUEUED_PER_RECEIVER } from './outbox.js';

/** A receiver that records what it got and answers as told. */
function recorder(name: string, answers: Delivery[] = []): Receiver & { got: Notification[] } {
  const got: Notification[] = [];
  return {
    name,
    kind: 'webhook',
    got,
    async send(n) {
      got.push(n);
      return answers.shift() ?? { ok: true };
    },
  };
}

function engine(clock: FakeClock, receivers: Receiver[], overrides: Record<string, unknown> = {}, stateDir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-alerting-'))) {
  return {
    stateDir,
    engine: new AlertEngine({
      clock,
      stateDir,
      location: 'lab',
      config: alertingConfig({ receivers: receivers.map((r) => ({ name: r.name, webhook: { url: 'http://127.0.0.1:9/' } })), group: { wait: '10s', interval: '1m', repeat: '4h' }, ...overrides }),
      events: { attempt: () => undefined, decision: () => undefined, saveError: (e) => assert.fail(String(e)) },
      receivers: new Map(receivers.map((r) => [r.name, r])),
    }),
  };
}

const event = (probe: string, status: 'firing' | 'resolved', at: number, alertname = 'ProbeFailing'): AlertEvent => ({
  labels: { alertname, probe, severity: 'critical', location: 'lab' },
  status,
  at,
  summary: `${probe} ${status}`,
  checks: [{ name: 'status', ok: status === 'resolved', expected: '2xx', observed: status === 'resolved' ? '200' : '503' }],
  evidence: {},
});

const summary = (n: Notification) => `${n.status}:${n.alerts.map((a) => `${a.labels.probe}=${a.status}`).sort().join(',')}`;

describe('alert engine (fake clock)', () => {
  it('groups 50 probes failing together into one notification after group wait', async () => {
    const clock = new FakeClock();
    const slack = recorder('slack');
    const { engine: e } = engine(clock, [slack]);
    e.start();
    e.handle(Array.from({ length: 50 }, (_, i) => event(`p${i}`, 'firing', clock.now())));
    await clock.advance(9_999);
    assert.equal(slack.got.length, 0, 'waits for the group');
    await clock.advance(1);
    assert.equal(slack.got.length, 1);
    assert.equal(slack.got[0]?.alerts.length, 50);
    assert.equal(slack.got[0]?.status, 'firing');
  });

  it('sends on change only, repeats after the repeat interval, and always resolves what it sent', async () => {
    const clock = new FakeClock();
    const slack = recorder('slack');
    const { engine: e } = engine(clock, [slack]);
    e.start();
    e.handle([event('api', 'firing', clock.now())]);
    await clock.advance(10_000);
    e.handle([event('api', 'firing', clock.now())]); // the same again: no news
    await clock.advance(3_600_000);
    assert.deepEqual(slack.got.map(summary), ['firing:api=firing']);
    await clock.advance(3 * 3_600_000);
    assert.deepEqual(slack.got.map(summary), ['firing:api=firing', 'firing:api=firing'], 'repeated after 4h');
    e.handle([event('api', 'resolved', clock.now())]);
    await clock.advance(60_000);
    assert.deepEqual(slack.got.map(summary).at(-1), 'resolved:api=resolved');
    assert.equal(e.alerts().length, 0, 'resolved and reported: forgotten');
  });

  it('does not notify a blip that resolved within group wait', async () => {
    const clock = new FakeClock();
    const slack = recorder('slack');
    const { engine: e } = engine(clock, [slack]);
    e.start();
    e.handle([event('api', 'firing', clock.now())]);
    await clock.advance(5_000);
    e.handle([event('api', 'resolved', clock.now())]);
    await clock.advance(3_600_000);
    assert.deepEqual(slack.got, []);
  });

  it('mutes during a maintenance window, and does not re-page an already notified alert after it', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 1, 1, 0, 0));
    const slack = recorder('slack');
    const { engine: e } = engine(clock, [slack], { maintenance: [{ name: 'nightly', cron: '0 0 2 * * *', duration: '1h', timezone: 'UTC', match: { probe: 'db' } }] });
    e.start();
    e.handle([event('api', 'firing', clock.now())]);
    await clock.advance(10_000);
    assert.deepEqual(slack.got.map(summary), ['firing:api=firing']);
    await clock.advance(3_600_000); // 02:00:10: the window is open for db only
    e.handle([event('db', 'firing', clock.now(), 'ProbeDegraded')]);
    await clock.advance(30 * 60_000);
    assert.equal(slack.got.length, 1, 'db muted during maintenance');
    await clock.advance(45 * 60_000); // window over
    assert.deepEqual(slack.got.map(summary).at(-1), 'firing:db=firing', 'a new alert is sent when the window closes');
  });

  it('a silence mutes new alerts; ending it does not re-page an alert sent before it', async () => {
    const clock = new FakeClock();
    const slack = recorder('slack');
    const { engine: e } = engine(clock, [slack]);
    e.start();
    e.handle([event('api', 'firing', clock.now())]);
    await clock.advance(10_000);
    const silence = e.addSilence(silenceInput.parse({ matchers: { probe: '/api|web/' }, duration: '1h', comment: 'deploying', createdBy: 'ops' }));
    assert.ok('id' in silence);
    e.handle([event('web', 'firing', clock.now())]);
    await clock.advance(2 * 60_000);
    assert.equal(slack.got.length, 1, 'web silenced');
    e.removeSilence(silence.id);
    await clock.advance(2 * 60_000);
    assert.deepEqual(slack.got.map(summary), ['firing:api=firing', 'firing:api=firing,web=firing'], 'web now; api was not re-paged on its own');
  });

  it('routes by labels, first match wins unless continue', async () => {
    const clock = new FakeClock();
    const [pager, chat, mail] = [recorder('pager'), recorder('chat'), recorder('mail')];
    const { engine: e } = engine(clock, [pager, chat, mail], {
      routes: [
        { match: { severity: 'critical' }, receivers: ['pager'], continue: true },
        { match: { probe: '/api.*/' }, receivers: ['chat'] },
        { match: {}, receivers: ['mail'] },
      ],
    });
    e.start();
    e.handle([event('api-1', 'firing', clock.now()), { ...event('web', 'firing', clock.now()), labels: { alertname: 'ProbeDegraded', probe: 'web', severity: 'warning', location: 'lab' } }]);
    await clock.advance(10_000);
    assert.deepEqual([pager.got.map(summary), chat.got.map(summary), mail.got.map(summary)], [['firing:api-1=firing'], ['firing:api-1=firing'], ['firing:web=firing']]);
  });

  it('retries with backoff and Retry-After, gives up on 4xx, and a dead receiver delays only itself', async () => {
    const clock = new FakeClock();
    const flaky = recorder('flaky', [
      { ok: false, retry: true, retryAfterMs: 30_000, reason: 'http_429', message: 'slow down' },
      { ok: false, retry: true, retryAfterMs: undefined, reason: 'http_5xx', message: '503' },
      { ok: false, retry: true, retryAfterMs: undefined, reason: 'http_5xx', message: '503' },
    ]);
    const healthy = recorder('healthy');
    const rejecting = recorder('rejecting', [{ ok: false, retry: false, retryAfterMs: undefined, reason: 'http_4xx', message: '400 bad payload' }]);
    const { engine: e } = engine(clock, [flaky, healthy, rejecting], { retry: { initial: '1s', max: '1m' } });
    e.start();
    e.handle([event('api', 'firing', clock.now())]);
    await clock.advance(10_000);
    assert.equal(healthy.got.length, 1, 'the healthy receiver is not held up');
    assert.equal(rejecting.got.length, 1);
    await clock.advance(29_999);
    assert.equal(flaky.got.length, 1, 'Retry-After honoured');
    await clock.advance(1);
    assert.equal(flaky.got.length, 2);
    await clock.advance(1_999);
    assert.equal(flaky.got.length, 2, 'backoff doubles per attempt: 2s after the second');
    await clock.advance(1);
    assert.equal(flaky.got.length, 3);
    await clock.advance(4_000);
    assert.equal(flaky.got.length, 4, 'then 4s');
    assert.equal(e.pending('flaky').count, 0, 'delivered at last');
    await clock.advance(3_600_000);
    assert.equal(rejecting.got.length, 1, 'a 4xx is not retried');
  });

  it('a receiver down for 10 minutes while 20 probes fail and recover gets each incident\'s all-clear, never a replayed page, and its queue stays bounded', async () => {
    const clock = new FakeClock();
    const down = { ok: false as const, retry: true, retryAfterMs: undefined, reason: 'network', message: 'connection refused' };
    let up = false;
    const got: Notification[] = [];
    const pager: Receiver = { name: 'pager', kind: 'webhook', send: async (n) => (up ? (got.push(n), { ok: true }) : down) };
    const dropped = new Map<string, number>();
    const e = new AlertEngine({
      clock,
      stateDir: mkdtempSync(path.join(os.tmpdir(), 'flowprobe-alerting-')),
      location: 'lab',
      config: alertingConfig({ receivers: [{ name: 'pager', webhook: { url: 'http://127.0.0.1:9/' } }], group: { by: ['alertname', 'probe'], wait: '1s', interval: '5s', repeat: '4h' }, retry: { initial: '1s', max: '1m' } }),
      events: { attempt: () => undefined, decision: () => undefined, saveError: (err) => assert.fail(String(err)), dropped: (_r, reason, n) => void dropped.set(reason, (dropped.get(reason) ?? 0) + n) },
      receivers: new Map([['pager', pager]]),
    });
    e.start();
    // Each flip is a state change the detector settled: firing opens an incident, resolved
    // closes it. 30 incidents per probe in 10 minutes: 600 all-clears, three times the cap.
    let most = 0;
    const incidentEnds = new Map<string, number[]>();
    for (let flip = 0; flip < 60; flip++) {
      const status = flip % 2 === 0 ? 'firing' : 'resolved';
      e.handle(Array.from({ length: 20 }, (_, i) => event(`p${i}`, status, clock.now())));
      if (status === 'resolved') for (let i = 0; i < 20; i++) incidentEnds.set(`p${i}`, [...(incidentEnds.get(`p${i}`) ?? []), clock.now()]);
      await clock.advance(10_000);
      most = Math.max(most, e.pending('pager').count);
    }
    assert.ok(most <= MAX_QUEUED_PER_RECEIVER, `bounded: at most ${MAX_QUEUED_PER_RECEIVER} queued, saw ${most}`);
    assert.ok((dropped.get('superseded') ?? 0) > 0, 'pages that waited were replaced by their group\'s newer state');
    assert.ok((dropped.get('overflow') ?? 0) > 0, 'past the cap, the oldest went');
    up = true;
    await clock.advance(30 * 60_000);
    assert.equal(e.pending('pager').count, 0);
    assert.ok(got.length <= MAX_QUEUED_PER_RECEIVER, `${got.length} delivered`);
    // Per probe: only all-clears, in order, each its own incident's (never one page replayed
    // per flip, never two incidents merged into one), and the newest ones kept.
    const byProbe = new Map<string, Notification[]>();
    for (const n of got) byProbe.set(n.alerts[0]?.labels.probe as string, [...(byProbe.get(n.alerts[0]?.labels.probe as string) ?? []), n]);
    assert.equal(byProbe.size, 20);
    for (const [probe, list] of byProbe) {
      assert.ok(list.every((n) => n.status === 'resolved'), `${probe}: ${list.map((n) => n.status).join()}`);
      const ends = list.map((n) => n.alerts[0]?.endsAt);
      assert.deepEqual(ends, incidentEnds.get(probe)?.slice(-ends.length), `${probe}: the newest incidents' all-clears, in order`);
    }
  });

  it('a slow receiver behind by one incident gets its all-clear before the next page, not replaced by it', async () => {
    const clock = new FakeClock();
    const got: Notification[] = [];
    let release: (() => void) | undefined;
    // The first delivery hangs until released: everything after it waits in the queue.
    const slow: Receiver = { name: 'mail', kind: 'email', send: (n) => new Promise((resolve) => (got.length === 0 && !release ? (release = () => (got.push(n), resolve({ ok: true }))) : (got.push(n), resolve({ ok: true })))) };
    const { engine: e } = engine(clock, [slow], { group: { by: ['alertname', 'probe'], wait: '1s', interval: '2s', repeat: '4h' } });
    e.handle([event('api', 'firing', clock.now())]);
    await clock.advance(5_000); // incident 1 paged: that delivery hangs
    e.handle([event('api', 'resolved', clock.now())]);
    await clock.advance(5_000); // its all-clear waits
    e.handle([event('api', 'firing', clock.now())]);
    await clock.advance(5_000); // incident 2's page waits behind it
    e.handle([{ ...event('api', 'firing', clock.now()), summary: 'api flapping', changed: true }]);
    await clock.advance(5_000); // and is replaced by its update
    assert.equal(e.pending('mail').count, 3);
    release?.();
    await clock.advance(60_000);
    assert.deepEqual(got.map((n) => `${n.status}:${n.alerts[0]?.summary}`), ['firing:api firing', 'resolved:api resolved', 'firing:api flapping']);
  });

  it('stopping aborts a delivery in flight, which stays in the outbox for the next start', async () => {
    const clock = new FakeClock();
    let aborted = false;
    const hanging: Receiver = {
      name: 'hanging',
      kind: 'webhook',
      send: (_n, signal) =>
        new Promise((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve({ ok: false, retry: true, retryAfterMs: undefined, reason: 'timeout', message: 'aborted' })), { once: true })),
    };
    const { engine: e, stateDir } = engine(clock, [hanging]);
    e.start();
    e.handle([event('api', 'firing', clock.now())]);
    await clock.advance(10_000);
    assert.equal(e.pending('hanging').count, 1, 'in flight');
    e.stop();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(aborted, 'the delivery was aborted, not left running');
    const { engine: again } = engine(new FakeClock(), [recorder('hanging')], {}, stateDir);
    assert.equal(again.pending('hanging').count, 1, 'still queued after the restart');
  });

  it('alerts through the others when a receiver keeps failing', async () => {
    const clock = new FakeClock();
    const down = recorder('down', Array.from({ length: 100 }, () => ({ ok: false as const, retry: true, retryAfterMs: 60_000, reason: 'network', message: 'ECONNREFUSED' })));
    const up = recorder('up');
    const { engine: e } = engine(clock, [down, up], { receiverFailingAfter: '5m' });
    e.start();
    e.handle([event('api', 'firing', clock.now())]);
    await clock.advance(6 * 60_000);
    const self = up.got.find((n) => n.alerts.some((a) => a.labels.alertname === 'FlowprobeReceiverFailing'));
    assert.ok(self, 'the failing receiver is reported through the other');
    assert.equal(self?.alerts[0]?.labels.receiver, 'down');
    assert.ok(!down.got.some((n) => n.alerts.some((a) => a.labels.alertname === 'FlowprobeReceiverFailing')), 'never through itself');
  });

  it('restarts without repeating a firing and still sends the resolved', async () => {
    const clock = new FakeClock();
    const first = recorder('slack');
    const a = engine(clock, [first]);
    a.engine.start();
    a.engine.handle([event('api', 'firing', clock.now())]);
    await clock.advance(10_000);
    a.engine.stop();
    const second = recorder('slack');
    const b = engine(clock, [second], {}, a.stateDir);
    b.engine.start();
    b.engine.handle([event('api', 'firing', clock.now())]); // the detector says it again after a restart
    await clock.advance(120_000);
    assert.deepEqual(second.got, [], 'no second firing');
    b.engine.handle([event('api', 'resolved', clock.now())]);
    await clock.advance(60_000);
    assert.deepEqual(second.got.map(summary), ['resolved:api=resolved']);
  });
});
