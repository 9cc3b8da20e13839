// mqtt prober: a subscription (mqtt-client.ts: the shared timed socket, CONNECT, SUBSCRIBE)
// held for the hold, like an SSE stream. Retained messages are counted apart: a broker that is up
// with stale data looks fresh to a monitor that counts them. With publish, a marker goes out
// once subscribed and its return is timed.
import { performance } from 'node:perf_hooks';
import type { ProbeSpec } from '../../config/schema.js';
import { formatDuration, formatSize } from '../../config/units.js';
import { check, checkLimit, failureFromChecks, limitChecks } from '../checks.js';
import { abortFailure } from '../classify-error.js';
import type { Timeline } from '../connect.js';
import { render, sentAt } from '../messages.js';
import { openMqtt } from '../mqtt-client.js';
import { spread, Tally } from '../stats.js';
import type { CheckResult, Failure, ProbeContext, ProberOutcome } from '../types.js';
import type { MqttDetail } from './kind.js';

const AGES_KEPT = 4_096;
const TOPICS_KEPT = 20;

export async function probeMqtt(spec: ProbeSpec<'mqtt'>, ctx: ProbeContext): Promise<ProberOutcome> {
  const timeline: Timeline = { phases: {}, connectedAt: undefined };
  const detail: MqttDetail = { kind: 'mqtt', connectMs: undefined, messages: 0, retained: 0, bytes: 0, firstMessageMs: undefined, longestGapMs: undefined, ageMs: undefined, roundTripMs: undefined, topics: {}, heldMs: undefined };
  const outcome = (failure: Failure | undefined, checks: CheckResult[] = []): ProberOutcome => ({ failure, phases: timeline.phases, tls: timeline.tls, remote: timeline.remote, checks, detail });
  const listen = new Listening(spec, ctx, performance.now());
  const session = await openMqtt(spec, timeline, ctx.signal, spec.timeoutMs, { onMessage: (topic, payload, retained) => listen.onMessage(topic, payload, retained), onBroken: (failure) => listen.end(failure) });
  if ('failure' in session) return outcome(session.failure);
  try {
    detail.connectMs = session.connectMs;
    const failure = await listen.hold(session.subscribedAt, (topic, payload, qos) => session.client.publish(topic, payload, { qos }, (err) => err && listen.end({ code: 'protocol', message: `publishing the marker to ${topic} failed: ${err.message}` })));
    Object.assign(detail, listen.figures());
    if (detail.firstMessageMs !== undefined) timeline.phases.first_event = detail.firstMessageMs;
    if (failure) return outcome(failure);
    const checks = evaluate(spec, detail);
    return outcome(failureFromChecks(checks), checks);
  } finally {
    session.close();
  }
}

/** What one run's subscription heard, until the hold ends, the broker hangs up, or enough came. */
class Listening {
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
  /** Set once the hold has begun; a failure before then waits for it. */
  private ended: Failure | undefined | null = null;
  private finish: ((failure: Failure | undefined) => void) | undefined;

  constructor(
    private readonly spec: ProbeSpec<'mqtt'>,
    private readonly ctx: ProbeContext,
    private readonly started: number,
  ) {}

  /** Holds from the SUBACK; publishes the marker if asked. */
  hold(subscribedAt: number, publish: (topic: string, payload: string, qos: 0 | 1) => void): Promise<Failure | undefined> {
    const { spec, ctx } = this;
    this.subscribedAt = subscribedAt;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.end(undefined), Math.max(0, spec.hold - (subscribedAt - this.started)));
      const onAbort = () => this.end(abortFailure(ctx.signal));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      this.finish = (failure) => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        resolve(failure);
      };
      if (this.ended !== null || ctx.signal.aborted) return this.end(this.ended ?? abortFailure(ctx.signal));
      if (this.enough()) return this.end(undefined);
      if (spec.publish) {
        this.publishedAt = performance.now();
        publish(spec.publish.topic, render(spec.publish.payload, { runId: ctx.runId }), spec.publish.qos);
      }
    });
  }

  end(failure: Failure | undefined): void {
    if (!this.finish) {
      this.ended ??= failure;
      return;
    }
    const finish = this.finish;
    this.finish = () => undefined;
    this.endedAt = performance.now();
    if (failure?.code === 'closed') failure = { code: 'closed', message: `${failure.message} of the ${formatDuration(this.spec.hold)} hold (${this.messages} live message(s))` };
    finish(failure);
  }

  onMessage(topic: string, payload: Buffer, retained: boolean): void {
    const { spec, ctx } = this;
    if (payload.length > spec.maxMessageSize) return this.end({ code: 'protocol', message: `a message on ${topic} of ${formatSize(payload.length)}, over maxMessageSize ${formatSize(spec.maxMessageSize)}` });
    // Retained: what the broker kept from before, delivered because we subscribed. Old news.
    if (retained) return void (this.retained += 1);
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
    if (this.enough() && this.finish) this.end(undefined);
  }

  private enough(): boolean {
    const { spec } = this;
    return !spec.holdFull && this.messages >= spec.expect.minMessages && (!spec.publish || this.roundTripMs !== undefined);
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
