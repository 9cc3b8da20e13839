// The mqtt kind: what its runs report (live and retained messages, first message, gaps, ages,
// a marker's round trip), how that reads, its figures, rules and series. Its schema is
// ./schema.ts, its prober ./prober.ts.
import { Counter, Gauge, type Registry } from 'prom-client';
import { problem, type Problem } from '../../config/diagnostics.js';
import { formatDuration } from '../../config/units.js';
import type { Kind, RawProbeOf } from '../kinds.js';
import type { Spread } from '../stats.js';
import { CONNECTION_PHASES } from '../types.js';

declare module '../kinds.js' {
  interface Details {
    mqtt: MqttDetail;
  }
}

export interface MqttDetail {
  kind: 'mqtt';
  /** TCP (and TLS) connect and the broker's CONNACK, ms. */
  connectMs: number | undefined;
  /** Live messages: retained ones are counted apart and never make a stream look fresh. */
  messages: number;
  retained: number;
  bytes: number;
  /** From subscribed to the first live message, ms. */
  firstMessageMs: number | undefined;
  /** The longest wait between live messages (from subscribed, and to the end of the hold), ms. */
  longestGapMs: number | undefined;
  /** With messageTime: live messages' ages on arrival. */
  ageMs: Spread | undefined;
  /** With publish: from publishing the marker to its return, ms. */
  roundTripMs: number | undefined;
  /** Live messages by topic (the first 20 topics). */
  topics: Record<string, number>;
  heldMs: number | undefined;
}

/** Does the topic filter take messages published to `topic`? (+ one level, # the rest.) */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

function mqttRules(raw: Partial<RawProbeOf<'mqtt'>>, { timeoutMs }: { timeoutMs: number }): Problem[] {
  const problems: Problem[] = [];
  if (raw.hold !== undefined && raw.hold >= timeoutMs) problems.push(problem.at(['hold'], `expected a hold shorter than the timeout (${formatDuration(timeoutMs)}), found ${formatDuration(raw.hold)}`));
  if (raw.publish && raw.topics && !raw.topics.some((filter) => filterMatches(filter, raw.publish?.topic ?? ''))) {
    problems.push(problem.at(['publish', 'topic'], `expected a topic one of the subscribed filters takes (${raw.topics.join(', ')}): the marker would never come back, found "${raw.publish.topic}"`));
  }
  if (raw.expect?.roundTripWithin !== undefined && !raw.publish) problems.push(problem.at(['expect', 'roundTripWithin'], 'expected publish: a round trip needs a marker to publish'));
  if (raw.expect?.maxMessageAge !== undefined && raw.messageTime === undefined) problems.push(problem.at(['expect', 'maxMessageAge'], 'expected messageTime: a message age needs the JSON path of the time each message was sent'));
  return problems;
}

const series = (registers: Registry[]) => ({
  messages: new Counter({ name: 'flowprobe_mqtt_messages_total', help: 'MQTT messages received, live or retained (retained ones are old news and never count for freshness).', labelNames: ['probe', 'retained'], registers }),
  age: new Gauge({ name: 'flowprobe_mqtt_message_age_p99_seconds', help: 'The p99 age of live messages on arrival in the last run (with messageTime).', labelNames: ['probe'], registers }),
  roundTrip: new Gauge({ name: 'flowprobe_mqtt_round_trip_seconds', help: 'From publishing the marker to its return, in the last run (with publish).', labelNames: ['probe'], registers }),
});

export const mqttKind: Kind<'mqtt', ReturnType<typeof series>> = {
  tlsSchemes: ['mqtts'],
  rules: mqttRules,
  series,
  prober: async () => (await import('./prober.js')).probeMqtt,
  emptyDetail: () => ({ kind: 'mqtt', connectMs: undefined, messages: 0, retained: 0, bytes: 0, firstMessageMs: undefined, longestGapMs: undefined, ageMs: undefined, roundTripMs: undefined, topics: {}, heldMs: undefined }),
  main: { figure: { name: 'first_event' }, label: 'first message' },
  target: (spec) => `MQTT ${spec.topics.join(', ')} @ ${spec.url.hostname.includes(':') ? `[${spec.url.hostname}]` : spec.url.hostname}:${spec.url.port}${spec.url.scheme === 'mqtts' ? ' (TLS)' : ''}`,
  figures: () => ['duration', 'first_event', ...CONNECTION_PHASES],
  describe: (d) => {
    const ms = (v: number | undefined) => (v === undefined ? '-' : formatDuration(v));
    return [
      `mqtt: ${d.messages} live message(s) · ${d.retained} retained (ignored) · ${d.bytes} B · connected in ${ms(d.connectMs)} · first message ${ms(d.firstMessageMs)} · longest gap ${ms(d.longestGapMs)}${d.roundTripMs === undefined ? '' : ` · round trip ${ms(d.roundTripMs)}`}`,
      ...(d.ageMs ? [`    age p50 ${formatDuration(d.ageMs.p50)} · p99 ${formatDuration(d.ageMs.p99)} · max ${formatDuration(d.ageMs.max)} (${d.ageMs.n})`] : []),
    ];
  },
  declare: (probe, m) => {
    for (const retained of ['true', 'false']) m.messages.inc({ probe, retained }, 0);
  },
  record: (probe, d, m) => {
    m.messages.inc({ probe, retained: 'false' }, d.messages);
    m.messages.inc({ probe, retained: 'true' }, d.retained);
    if (d.ageMs) m.age.set({ probe }, d.ageMs.p99 / 1000);
    else m.age.remove({ probe });
    if (d.roundTripMs !== undefined) m.roundTrip.set({ probe }, d.roundTripMs / 1000);
    else m.roundTrip.remove({ probe });
  },
};
