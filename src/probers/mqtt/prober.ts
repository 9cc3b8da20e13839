// mqtt prober: the connection every prober opens (openTimedSocket: DNS, connect, TLS timed, the
// certificate recorded), handed to mqtt.js for CONNECT; then a subscription held for the hold,
// like an SSE stream. Retained messages are counted apart: a broker that is up with stale data
// looks fresh to a monitor that counts them. With publish, a marker goes out once subscribed and
// its return is timed.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { MqttClient, type IClientOptions, type IPublishPacket } from 'mqtt';
import { lookupFamily } from '../../config/probe-fields.js';
import type { ProbeSpec } from '../../config/schema.js';
import { formatDuration, formatSize } from '../../config/units.js';
import { check, checkLimit, failureFromChecks, limitChecks } from '../checks.js';
import { abortFailure, classifyError } from '../classify-error.js';
import { causeOf, openTimedSocket, stageOf, type Timeline } from '../connect.js';
import { render, sentAt } from '../messages.js';
import { spread, Tally } from '../stats.js';
import type { CheckResult, Failure, ProbeContext, ProberOutcome } from '../types.js';
import type { MqttDetail } from './kind.js';

const AGES_KEPT = 4_096;
const TOPICS_KEPT = 20;
const AUTH_CODES = new Set([4, 5, 134, 135, 138, 140]);

export async function probeMqtt(spec: ProbeSpec<'mqtt'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  const detail: MqttDetail = { kind: 'mqtt', connectMs: undefined, messages: 0, retained: 0, bytes: 0, firstMessageMs: undefined, longestGapMs: undefined, ageMs: undefined, roundTripMs: undefined, topics: {}, heldMs: undefined };
  const started = performance.now();
  const outcome = (failure: Failure | undefined, checks: CheckResult[] = []): ProberOutcome => ({ failure, phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks, detail });
  let socket: Socket;
  try {
    socket = await openTimedSocket({ hostname: spec.url.hostname, port: spec.url.port, secure: spec.url.scheme === 'mqtts' }, spec.tls, timeline, ctx.signal, lookupFamily(spec.ipFamily));
  } catch (error) {
    return outcome(classifyError(causeOf(error, timeline), ctx.signal, stageOf(timeline)));
  }
  const options: IClientOptions = {
    protocolVersion: spec.version === '5' ? 5 : 4,
    // Unique per run (a broker drops the older of two sessions with one id; 3.1.1 allows 23 characters).
    clientId: `flowprobe-${randomBytes(6).toString('hex')}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: spec.timeoutMs,
    keepalive: 60,
    resubscribe: false,
    timerVariant: 'native',
    ...(spec.username === undefined ? {} : { username: spec.username }),
    ...(spec.password === undefined ? {} : { password: spec.password }),
  };
  const client = new MqttClient(() => socket, options);
  const session = new Session(spec, ctx, client, started);
  try {
    const failure = await session.run();
    detail.connectMs = session.connectMs;
    Object.assign(detail, session.figures());
    if (detail.firstMessageMs !== undefined) timeline.phases.first_event = detail.firstMessageMs;
    if (failure) return outcome(failure);
    const checks = evaluate(spec, detail);
    return outcome(failureFromChecks(checks), checks);
  } finally {
    client.end(true);
    socket.destroy();
  }
}

/** One run's subscription: connect, subscribe, (publish), listen until the hold ends, the broker
 * hangs up, or enough came. */
class Session {
  connectMs: number | undefined;
  private messages = 0;
  private retained = 0;
  private bytes = 0;
  private firstAt: number | undefined;
  private lastAt: number | undefined;
  private readonly gaps = new Tally(1);
  private readonly ages = new Tally(AGES_KEPT);
  private readonly topics: Record<string, number> = {};
  private subscribedAt: number | undefined;
  private publishedAt: number | undefined;
  private roundTripMs: number | undefined;
  private endedAt: number | undefined;
  private finish: (failure: Failure | undefined) => void = () => undefined;

  constructor(
    private readonly spec: ProbeSpec<'mqtt'>,
    private readonly ctx: ProbeContext,
    private readonly client: MqttClient,
    private readonly started: number,
  ) {}

  run(): Promise<Failure | undefined> {
    const { spec, ctx, client } = this;
    return new Promise((resolve) => {
      let done = false;
      let holdTimer: NodeJS.Timeout | undefined;
      this.finish = (failure) => {
        if (done) return;
        done = true;
        this.endedAt = performance.now();
        clearTimeout(holdTimer);
        ctx.signal.removeEventListener('abort', onAbort);
        client.removeAllListeners('message');
        client.on('error', () => undefined);
        resolve(failure);
      };
      const onAbort = () => this.finish(abortFailure(ctx.signal));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      client.on('error', (error: Error & { code?: number | string }) => this.finish(this.connectMs === undefined ? refusal(error) : { code: 'protocol', message: `the broker broke the session: ${error.message}` }));
      client.on('close', () => {
        const at = formatDuration(performance.now() - this.started);
        this.finish(this.connectMs === undefined ? { code: 'closed', message: `the broker closed the connection before accepting it (no CONNACK after ${at})` } : { code: 'closed', message: `the broker closed the connection after ${at} of the ${formatDuration(spec.hold)} hold (${this.messages} live message(s))` });
      });
      client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => this.onMessage(topic, payload, packet));
      client.once('connect', () => {
        this.connectMs = performance.now() - this.started;
        client.subscribe(spec.topics, { qos: spec.qos }, (error, granted) => {
          if (error) return this.finish({ code: 'protocol', message: `the subscription failed: ${error.message}` });
          const refused = (granted ?? []).find((g) => g.qos === 128 || g.qos > 2);
          if (refused) return this.finish({ code: 'auth', message: `the broker refused the subscription to ${refused.topic} (SUBACK 0x80: not permitted, or the filter is not supported)` });
          this.subscribedAt = performance.now();
          holdTimer = setTimeout(() => this.finish(undefined), Math.max(0, spec.hold - (this.subscribedAt - this.started)));
          if (spec.publish) {
            this.publishedAt = performance.now();
            client.publish(spec.publish.topic, render(spec.publish.payload, { runId: ctx.runId }), { qos: spec.publish.qos }, (err) => err && this.finish({ code: 'protocol', message: `publishing the marker to ${spec.publish?.topic} failed: ${err.message}` }));
          }
        });
      });
    });
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const { spec, ctx } = this;
    if (payload.length > spec.maxMessageSize) return this.finish({ code: 'protocol', message: `a message on ${topic} of ${formatSize(payload.length)}, over maxMessageSize ${formatSize(spec.maxMessageSize)}` });
    // Retained: what the broker kept from before, delivered because we subscribed. Old news.
    if (packet.retain) return void (this.retained += 1);
    const now = performance.now();
    this.messages += 1;
    this.bytes += payload.length;
    if (topic in this.topics || Object.keys(this.topics).length < TOPICS_KEPT) this.topics[topic] = (this.topics[topic] ?? 0) + 1;
    this.gaps.add(now - (this.lastAt ?? this.subscribedAt ?? this.started));
    this.firstAt ??= now;
    this.lastAt = now;
    const text = payload.toString('utf8');
    if (spec.messageTime !== undefined) {
      const sent = sentAt(text, spec.messageTime);
      if (sent !== undefined) this.ages.add(performance.timeOrigin + now - sent);
    }
    if (this.publishedAt !== undefined && this.roundTripMs === undefined && text.includes(ctx.runId)) this.roundTripMs = now - this.publishedAt;
    const enough = this.messages >= spec.expect.minMessages && (!spec.publish || this.roundTripMs !== undefined);
    if (enough && !spec.holdFull) this.finish(undefined);
  }

  figures(): Partial<MqttDetail> {
    const end = this.endedAt ?? performance.now();
    const open = this.subscribedAt === undefined ? undefined : end - (this.lastAt ?? this.subscribedAt);
    const longest = [this.gaps.max, open].filter((v): v is number => v !== undefined);
    return {
      messages: this.messages,
      retained: this.retained,
      bytes: this.bytes,
      firstMessageMs: this.firstAt === undefined ? undefined : this.firstAt - this.started,
      longestGapMs: longest.length ? Math.max(...longest) : undefined,
      ageMs: spread(this.ages.recent()),
      roundTripMs: this.roundTripMs,
      topics: { ...this.topics },
      heldMs: this.subscribedAt === undefined ? undefined : end - this.subscribedAt,
    };
  }
}

/** The broker said no to CONNECT (a CONNACK with a reason), or the session broke before it. */
function refusal(error: Error & { code?: number | string }): Failure {
  const code = typeof error.code === 'number' ? error.code : undefined;
  if (code === undefined) return { code: 'protocol', message: `the MQTT session failed before the broker accepted it: ${error.message}` };
  const why = error.message.replace(/^Connection refused: /, '');
  return { code: AUTH_CODES.has(code) ? 'auth' : 'protocol', message: `the broker refused the connection: ${why} (CONNACK ${code})` };
}

function evaluate(spec: ProbeSpec<'mqtt'>, d: MqttDetail): CheckResult[] {
  const { expect, degradeWhen: soft } = spec;
  const checks: CheckResult[] = [];
  const topics = spec.topics.join(', ');
  const retained = d.retained ? ` (${d.retained} retained message(s) ignored: old news)` : '';
  const count = check('messages', d.messages >= expect.minMessages, `>= ${expect.minMessages} live`, String(d.messages));
  if (count.ok) checks.push(count);
  else if (d.messages === 0) checks.push({ ...count, code: 'stale', headline: `no live message on ${topics} in the ${formatDuration(spec.hold)} hold${retained}` });
  else checks.push({ ...count, headline: `${d.messages} live message(s) on ${topics} in the ${formatDuration(spec.hold)} hold, expected at least ${expect.minMessages}${retained}` });
  const over = (c: CheckResult | undefined, what: string, limit: number | undefined) => (c && !c.ok && limit !== undefined ? { ...c, headline: `${what} ${c.observed}, over ${formatDuration(limit)}` } : c);
  checks.push(...limitChecks([
    over(checkLimit('first message', d.firstMessageMs, { fail: expect.firstMessageWithin, degrade: soft.firstMessageWithin }, 'duration'), `first live message on ${topics} after`, expect.firstMessageWithin),
    over(checkLimit('longest gap', d.longestGapMs, { fail: expect.maxGap, degrade: soft.maxGap }, 'duration'), `longest gap between live messages on ${topics}`, expect.maxGap),
    over(checkLimit('message age p99', d.ageMs?.p99, { fail: expect.maxMessageAge, degrade: soft.maxMessageAge }, 'duration'), `messages on ${topics} arrive old: age p99`, expect.maxMessageAge),
    over(checkLimit('connect', d.connectMs, { fail: expect.maxConnect, degrade: soft.maxConnect }, 'duration'), 'connect and CONNACK', expect.maxConnect),
  ]));
  if (spec.publish) {
    const back = d.roundTripMs !== undefined;
    const c = checkLimit('round trip', d.roundTripMs, { fail: expect.roundTripWithin, degrade: soft.roundTripWithin }, 'duration') ?? check('round trip', back, 'the marker back', back ? formatDuration(d.roundTripMs ?? 0) : 'none');
    checks.push(back ? over(c, `the marker's round trip through ${spec.publish.topic}`, expect.roundTripWithin) ?? c : { ...c, ok: false, headline: `the marker published to ${spec.publish.topic} did not come back within the ${formatDuration(spec.hold)} hold` });
  }
  return checks;
}
