// The mqtt kind against a real broker (Debian's mosquitto on loopback ports): live data with its
// age, a topic with only a retained message (old news: stale, where a monitor counting retained
// messages sees green), a marker's round trip, a gap, a wrong password, MQTT 5, and a refusal.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../../test/mosquitto.js';
import { headlineOf, runOnce, specOf } from '../../../test/probe-spec.js';
import { closedPort, httpServer } from '../../../test/servers.js';
import { createRedactor } from '../../logging/redact.js';
import { runProbe } from '../run-probe.js';
import type { ProbeResult } from '../types.js';
import { probeSchema } from '../../config/schema.js';
import type { RawProbeOf } from '../kinds.js';
import { mqttKind, type MqttDetail } from './kind.js';

const run = (fields: Record<string, unknown>, timeoutMs = 4_000) => runOnce('mqtt', fields, timeoutMs);

const headline = headlineOf;
const detailOf = (r: ProbeResult) => r.detail as MqttDetail;

describe('mqtt kind against mosquitto', () => {
  let broker: Mosquitto | undefined;
  let publisher: mqtt.MqttClient | undefined;
  let ticker: NodeJS.Timeout | undefined;
  before(async () => {
    broker = await startMosquitto();
    if (!broker) return;
    publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0 });
    // Old news: a retained reading from yesterday on a topic nobody publishes to any more.
    await publisher.publishAsync('plant/old/temperature', JSON.stringify({ ts: Date.now() - 86_400_000, celsius: 20 }), { retain: true });
    await publisher.publishAsync('plant/live/temperature', JSON.stringify({ ts: Date.now() - 86_400_000, celsius: 19 }), { retain: true });
    // Live data every 50 ms, stamped with when it was sent.
    ticker = setInterval(() => publisher?.publish('plant/live/temperature', JSON.stringify({ ts: Date.now(), celsius: 21 })), 50);
  });
  after(async () => {
    clearInterval(ticker);
    await publisher?.endAsync(true);
    await broker?.stop();
  });
  const url = () => `mqtt://127.0.0.1:${broker?.port}`;

  it('holds a subscription: live messages with their age; the retained one counted apart', async (t) => {
    if (!broker) return t.skip('mosquitto missing');
    const r = await run({ url: url(), topics: ['plant/live/+'], hold: '600ms', holdFull: true, messageTime: '$.ts', expect: { minMessages: 3, maxMessageAge: '2s', maxGap: '1s', firstMessageWithin: '1s' } });
    assert.equal(headline(r), 'ok');
    const d = detailOf(r);
    assert.ok(d.messages >= 3, `${d.messages} live messages`);
    assert.equal(d.retained, 1, 'yesterday\'s retained reading');
    assert.ok(d.ageMs && d.ageMs.max < 2_000, 'the retained reading (a day old) is not in the ages');
    assert.deepEqual(Object.keys(d.topics), ['plant/live/temperature']);
    assert.ok((r.phases.connect ?? 0) > 0 && (r.phases.first_event ?? 0) > 0);
  });

  it('a topic with only a retained message is stale, not fresh', async (t) => {
    if (!broker) return t.skip('mosquitto missing');
    const r = await run({ url: url(), topics: ['plant/old/#'], hold: '400ms' });
    assert.equal(headline(r), 'stale: no live message on plant/old/# in the 400ms hold (1 retained message(s) ignored: old news)');
  });

  it('publishes a marker and times its return, over MQTT 3.1.1 and 5', async (t) => {
    if (!broker) return t.skip('mosquitto missing');
    const [v4, v5] = await Promise.all([
      run({ url: url(), topics: ['flowprobe/markers/#'], publish: { topic: 'flowprobe/markers/a' }, hold: '2s', expect: { roundTripWithin: '1s' } }),
      run({ url: url(), version: '5', topics: ['flowprobe/markers/#'], publish: { topic: 'flowprobe/markers/b', qos: 1 }, qos: 1, hold: '2s' }),
    ]);
    assert.deepEqual([headline(v4), headline(v5)], ['ok', 'ok']);
    assert.ok((detailOf(v4).roundTripMs ?? -1) >= 0 && (detailOf(v5).roundTripMs ?? -1) >= 0);
  });

  it('times a pipeline leg by leg with MQTT as a flow watcher: ingest → broker → watcher; a retained marker is not an arrival', async (t) => {
    if (!broker) return t.skip('mosquitto missing');
    // The ingest service publishes what it is sent to the broker, a little later.
    const ingest = await httpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(202).end();
        setTimeout(() => publisher?.publish('pipeline/events', body), 30);
      });
    });
    // A marker left retained on the topic from an earlier run must not count.
    await publisher?.publishAsync('pipeline/stale', JSON.stringify({ marker: 'left-over' }), { retain: true });
    try {
      const flow = (awaited: string) => ({
        watch: [{ name: 'broker', mqtt: { url: url(), topics: ['pipeline/#'] } }],
        steps: [{ inject: { url: `${ingest.url}/ingest`, json: { marker: '{{run.id}}', value: 42 } } }, { await: { on: 'broker', match: { json: { '$.marker': awaited } }, within: '1s' } }],
      });
      const now = Date.now();
      const ok = await runProbe(specOf('flow', flow('{{run.id}}'), 4_000), { signal: AbortSignal.timeout(4_000), runId: 'mqtt-flow-run', redact: createRedactor([]) }, { slot: now, startedAt: now });
      assert.equal(headline(ok), 'ok');
      const legs = (ok.detail as { legs: Record<string, number> }).legs;
      assert.deepEqual(Object.keys(legs), ['inject', 'broker'], 'each leg timed');
      // Awaiting the left-over marker: the broker replays it (retained) on subscribing; not an arrival.
      const stale = await runProbe(specOf('flow', flow('left-over'), 4_000), { signal: AbortSignal.timeout(4_000), runId: 'mqtt-flow-stale', redact: createRedactor([]) }, { slot: now, startedAt: now });
      assert.match(headline(stale), /^timeout: leg broker: marker not seen within 1s of the injection/);
    } finally {
      await ingest.close();
    }
  });

  it('names a gap, a wrong password, a refused subscription target and a closed port', async (t) => {
    if (!broker) return t.skip('mosquitto missing');
    const gappy = setTimeout(() => publisher?.publish('plant/gappy/x', '{}'), 700);
    publisher?.publish('plant/gappy/x', '{}');
    const refused = await closedPort();
    const [gap, denied, allowed, nothing] = await Promise.all([
      run({ url: url(), topics: ['plant/gappy/x'], hold: '1200ms', holdFull: true, expect: { maxGap: '300ms' } }),
      run({ url: `mqtt://127.0.0.1:${broker.securePort}`, username: broker.user.name, password: 'wrong-password-0123456789', topics: ['a/#'], hold: '200ms', expect: { minMessages: 0 } }),
      run({ url: `mqtt://127.0.0.1:${broker.securePort}`, username: broker.user.name, password: broker.user.password, topics: ['a/#'], hold: '200ms', expect: { minMessages: 0 } }),
      run({ url: `mqtt://127.0.0.1:${refused}`, topics: ['a/#'] }),
    ]);
    clearTimeout(gappy);
    assert.match(headline(gap), /^assertion: longest gap between live messages on plant\/gappy\/x [0-9.]+m?s, over 300ms$/);
    assert.ok((detailOf(gap).longestGapMs ?? 0) >= 300);
    assert.equal(headline(denied), 'auth: the broker refused the connection: Not authorized (CONNACK 5)');
    assert.equal(headline(allowed), 'ok');
    assert.match(headline(nothing), /^connect: connection refused/);
  });
});

describe('mqtt probe rules', () => {
  const problems = (fields: Record<string, unknown>) => {
    const raw = probeSchema.parse({ name: 'm', kind: 'mqtt', url: 'mqtt://127.0.0.1:1883', ...fields }) as RawProbeOf<'mqtt'>;
    return (mqttKind.rules?.(raw, { timeoutMs: 10_000 }) ?? []).map((p) => `${p.path.join('.')}: ${p.message}`);
  };
  it('check refuses a marker on a topic no subscription takes, an age with no time to read, a hold past the timeout, a bad filter', () => {
    assert.deepEqual(problems({ topics: ['a/#'], publish: { topic: 'a/b/c' }, messageTime: '$.ts', expect: { maxMessageAge: '1s', roundTripWithin: '1s' } }), []);
    assert.deepEqual(problems({ topics: ['a/+'], publish: { topic: 'a/b/c' } }), ['publish.topic: expected a topic one of the subscribed filters takes (a/+): the marker would never come back, found "a/b/c"']);
    assert.deepEqual(problems({ topics: ['a/#'], expect: { maxMessageAge: '1s', roundTripWithin: '1s' } }), ['expect.roundTripWithin: expected publish: a round trip needs a marker to publish', 'expect.maxMessageAge: expected messageTime: a message age needs the JSON path of the time each message was sent']);
    assert.deepEqual(problems({ topics: ['a/#'], hold: '10s' }), ['hold: expected a hold shorter than the timeout (10s), found 10s']);
    assert.throws(() => probeSchema.parse({ name: 'm', kind: 'mqtt', url: 'mqtt://127.0.0.1:1883', topics: ['a/#/b'] }), /# alone in the last level/);
    assert.throws(() => probeSchema.parse({ name: 'm', kind: 'mqtt', url: 'mqtt://127.0.0.1:1883', topics: ['a/#'], publish: { topic: 'a/+' } }), /no \+ or # wildcards/);
  });
});
