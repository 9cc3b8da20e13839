// Every probe kind, registered in one table: how to load its prober, what an empty result
// detail looks like, what it points at, which figures a degradation rule may watch, and how its
// detail reads to a human. Declared over every ProbeKind, so a new kind does not compile until
// each of these is filled in. (Its schema is the kind's member of the probe union in
// config/schema.ts; its metrics are declared with all others in metrics/metrics.ts.)
import type { ProbeKind, ProbeSpec } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import type { FlowDetail, HttpDetail, ProbeContext, ProberOutcome, SseDetail, WebSocketDetail } from './types.js';

interface Details {
  http: HttpDetail;
  sse: SseDetail;
  websocket: WebSocketDetail;
  flow: FlowDetail;
}

/** What the figure check needs of a probe: its kind, and for flows its steps and watchers
 * (possibly only partly valid while `check` reports other problems). */
export type FigureInput<K extends ProbeKind> = K extends 'flow'
  ? { kind: K; steps?: ReadonlyArray<{ await: { on: string } } | { poll: { name: string } } | { inject: unknown }>; watch?: readonly unknown[] }
  : { kind: K };

export interface Kind<K extends ProbeKind> {
  /** Loaded on first use: a daemon with only HTTP probes never loads ws, jose or the SSE parser. */
  prober(): Promise<(spec: ProbeSpec<K>, ctx: ProbeContext) => Promise<ProberOutcome>>;
  emptyDetail(spec: ProbeSpec<K>): Details[K];
  target(spec: ProbeSpec<K>): string;
  figures(spec: FigureInput<K>): string[];
  describe(detail: Details[K]): string[];
}

const ms = (v: number | undefined) => (v === undefined ? '-' : formatDuration(v));
const spreadOf = (label: string, v: WebSocketDetail['rttMs']) =>
  v ? `${label} p50 ${formatDuration(v.p50)} · p95 ${formatDuration(v.p95)} · p99 ${formatDuration(v.p99)} · max ${formatDuration(v.max)} (${v.n})` : `${label} -`;
const CONNECTION_PHASES = ['phase.dns', 'phase.connect', 'phase.tls', 'phase.first_byte'];

export const KINDS: { [K in ProbeKind]: Kind<K> } = {
  http: {
    prober: async () => (await import('./http.js')).probeHttp,
    emptyDetail: () => ({ kind: 'http', status: undefined, bytes: 0, redirects: 0 }),
    target: (spec) => `${spec.method} ${spec.url}`,
    figures: () => ['duration', ...CONNECTION_PHASES, 'phase.download'],
    describe: (d) => [`http: status ${d.status ?? '-'} · ${d.bytes} bytes · ${d.redirects} redirect(s)`],
  },
  sse: {
    prober: async () => (await import('./sse.js')).probeSse,
    emptyDetail: (spec) => ({
      kind: 'sse', status: undefined, events: 0, comments: 0, eventsPerMinute: 0, eventAgeMs: undefined, longestGapMs: undefined, gapsMs: [], sinceLastEventMs: undefined,
      missingIds: 0, duplicateIds: 0, reconnectMs: undefined, reconnects: 0, clients: spec.clients, clientsOk: 0,
      firstEventSpreadMs: undefined, deliverySpreadMs: undefined, sameEvents: undefined,
    }),
    target: (spec) => `SSE ${spec.url}${spec.clients > 1 ? ` ×${spec.clients}` : ''}`,
    figures: () => ['duration', 'first_event', ...CONNECTION_PHASES, 'phase.first_event'],
    describe: (d) => [
      `sse: ${d.events} event(s) · ${d.comments} comment(s) · ${d.eventsPerMinute.toFixed(1)}/min · longest gap ${ms(d.longestGapMs)} · since last ${ms(d.sinceLastEventMs)}`,
      `     ids: ${d.missingIds} missing · ${d.duplicateIds} duplicate${d.reconnects ? ` · resumed in ${ms(d.reconnectMs)}` : ''}`,
      ...(d.clients > 1
        ? [`     fan-out: ${d.clientsOk}/${d.clients} ok · first-event spread ${ms(d.firstEventSpreadMs)} · delivery spread ${ms(d.deliverySpreadMs)} · ${d.sameEvents === false ? 'clients saw different events' : 'same events'}`]
        : []),
    ],
  },
  websocket: {
    prober: async () => (await import('./websocket.js')).probeWebSocket,
    emptyDetail: (spec) => ({
      kind: 'websocket', connections: spec.connections, connectionsOk: 0, failures: {}, handshakeMs: undefined, rttMs: undefined, rttSamplesMs: [],
      sent: 0, received: 0, outOfOrder: 0, missing: 0, duplicate: 0, subprotocol: undefined, closeCode: undefined,
    }),
    target: (spec) => `WS ${spec.url}${spec.connections > 1 ? ` ×${spec.connections}` : ''}`,
    figures: () => ['duration', 'rtt_p95', ...CONNECTION_PHASES],
    describe: (d) => {
      const failures = Object.entries(d.failures);
      return [
        `ws: ${d.connectionsOk}/${d.connections} connection(s) ok · sent ${d.sent} · received ${d.received} · subprotocol ${d.subprotocol ?? '-'} · close ${d.closeCode ?? '-'}`,
        `    ${spreadOf('handshake', d.handshakeMs)}`,
        `    ${spreadOf('rtt', d.rttMs)}`,
        `    order: ${d.outOfOrder} out of order · ${d.missing} missing · ${d.duplicate} duplicate`,
        ...(failures.length ? [`    failed connections: ${failures.map(([code, n]) => `${code} ×${n}`).join(', ')}`] : []),
      ];
    },
  },
  flow: {
    prober: async () => (await import('./flow.js')).probeFlow,
    emptyDetail: () => ({ kind: 'flow', legs: {}, totalMs: undefined, injected: false, unfinished: [], polls: 0 }),
    target: (spec) => `flow ${spec.steps.map((s) => ('inject' in s ? 'inject' : 'await' in s ? `→ ${s.await.on}` : `→ ${s.poll.name}`)).join(' ')}`,
    figures: (spec) => {
      const legs = (spec.steps ?? []).flatMap((step) => ('await' in step ? [`leg.${step.await.on}`] : 'poll' in step ? [`leg.${step.poll.name}`] : []));
      return ['duration', 'total', ...legs, ...((spec.watch ?? []).length > 0 ? CONNECTION_PHASES : [])];
    },
    describe: (d) => {
      const legs = Object.entries(d.legs).map(([leg, v]) => `${leg} ${formatDuration(v)}`);
      return [
        `flow: legs ${legs.length ? legs.join(' · ') : '-'} · total ${ms(d.totalMs)} · ${d.polls} poll(s)${d.injected ? '' : ' · nothing injected'}`,
        ...(d.unfinished.length ? [`      unfinished: ${d.unfinished.join(', ')}`] : []),
      ];
    },
  },
};

/** The table entry for a spec's own kind (TypeScript cannot correlate the two on its own). */
export function kindOf<K extends ProbeKind>(kind: K): Kind<K> {
  return KINDS[kind] as Kind<K>;
}
