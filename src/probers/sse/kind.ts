// The sse kind: what its runs report beyond phases and checks, how that reads, which figures
// it has, and the series it feeds. Its schema is ./schema.ts, its prober ./prober.ts.
import { formatDuration } from '../../config/units.js';
import { Counter, Gauge, type Registry } from 'prom-client';
import { RecentQuantiles, RUNS_KEPT, SAMPLES_KEPT } from '../../metrics/recent-quantiles.js';
import type { Kind } from '../kinds.js';
import { sseRules } from './rules.js';
import { CONNECTION_PHASES } from '../types.js';

const ms = (v: number | undefined): string => (v === undefined ? '-' : formatDuration(v));
import type { Spread } from '../stats.js';

declare module '../kinds.js' {
  interface Details {
    sse: SseDetail;
  }
}

export interface SseDetail {
  kind: 'sse';
  status: number | undefined;
  /** Events (not comments) received by the first client. */
  events: number;
  /** Comment lines (": heartbeat"), counted apart: they never count as events. */
  comments: number;
  eventsPerMinute: number;
  /** With eventTime: age of events on arrival (now − the time the event says it was sent), all clients. */
  eventAgeMs: Spread | undefined;
  /** Longest silence between events (from headers to the first event, then between events). */
  longestGapMs: number | undefined;
  /** Every gap between consecutive events, for the gap histogram. */
  gapsMs: number[];
  sinceLastEventMs: number | undefined;
  missingIds: number;
  duplicateIds: number;
  /** The longest reconnect of the run (the planned resume, or the server ending the stream):
   * from the drop to the first event after it. */
  reconnectMs: number | undefined;
  reconnects: number;
  /** Times the server ended the stream and the probe reconnected (reconnect policy). */
  serverEnds: number;
  clients: number;
  /** Fan-out: clients that completed the window without a failure. */
  clientsOk: number;
  /** Fan-out: spread of first-event latency across clients, and the worst spread in delivery
   * of one event to all of them. */
  firstEventSpreadMs: number | undefined;
  deliverySpreadMs: number | undefined;
  sameEvents: boolean | undefined;
  /** Events arriving in bursts (a buffering proxy in front of the stream): the typical burst
   * size and the time between bursts; undefined when events arrive one by one. */
  bursts?: { size: number; everyMs: number } | undefined;
}

const series = (registers: Registry[]) => ({
    sseEvents: new Counter({ name: 'flowprobe_sse_events_total', help: 'SSE events received (comments excluded), first subscriber.', labelNames: ['probe'], registers }),
    sseComments: new Counter({ name: 'flowprobe_sse_comments_total', help: 'SSE comment lines (heartbeats) received, first subscriber.', labelNames: ['probe'], registers }),
    sseFirstEvent: new RecentQuantiles({ name: 'flowprobe_sse_first_event_seconds', help: 'SSE: from sending the request to the first event, first subscriber: quantiles of the last 128 runs.', labelNames: ['probe'], keep: RUNS_KEPT, registers }),
    sseGap: new RecentQuantiles({ name: 'flowprobe_sse_gap_seconds', help: 'Gaps between SSE events (from the response headers to the first event, then between events): quantiles of the last 256 gaps.', labelNames: ['probe'], keep: SAMPLES_KEPT, registers }),
    sseMissing: new Counter({ name: 'flowprobe_sse_missing_ids_total', help: 'Numeric SSE event ids skipped.', labelNames: ['probe'], registers }),
    sseDuplicate: new Counter({ name: 'flowprobe_sse_duplicate_ids_total', help: 'Numeric SSE event ids seen again or out of order.', labelNames: ['probe'], registers }),
    sseReconnects: new Counter({ name: 'flowprobe_sse_reconnects_total', help: 'SSE reconnections: the planned resume, and the server ending the stream.', labelNames: ['probe'], registers }),
    sseReconnect: new Gauge({ name: 'flowprobe_sse_reconnect_seconds', help: 'Longest SSE reconnect of the last run: from the drop to the first event after it.', labelNames: ['probe'], registers }),
    sseAge: new Gauge({ name: 'flowprobe_sse_event_age_p99_seconds', help: 'SSE events with a send time: p99 of their age on arrival, last run.', labelNames: ['probe'], registers }),
    sseSpread: new Gauge({ name: 'flowprobe_sse_fanout_delivery_spread_seconds', help: 'Fan-out: worst spread in delivery of one event across subscribers, last run.', labelNames: ['probe'], registers }),
});

export const sseKind: Kind<'sse', ReturnType<typeof series>> = {
    tlsSchemes: ['https'],
    series,
    prober: async () => (await import('./prober.js')).probeSse,
    rules: sseRules,
    emptyDetail: (spec) => ({
      kind: 'sse', status: undefined, events: 0, comments: 0, eventsPerMinute: 0, eventAgeMs: undefined, longestGapMs: undefined, gapsMs: [], sinceLastEventMs: undefined,
      missingIds: 0, duplicateIds: 0, reconnectMs: undefined, reconnects: 0, serverEnds: 0, clients: spec.clients, clientsOk: 0,
      firstEventSpreadMs: undefined, deliverySpreadMs: undefined, sameEvents: undefined,
    }),
    main: { figure: { name: 'first_event' }, label: 'first event' },
    target: (spec) => `SSE ${spec.url}${spec.clients > 1 ? ` ×${spec.clients}` : ''}`,
    figures: () => ['duration', 'first_event', ...CONNECTION_PHASES, 'phase.first_event'],
    describe: (d) => [
      `sse: ${d.events} event(s) · ${d.comments} comment(s) · ${d.eventsPerMinute.toFixed(1)}/min · longest gap ${ms(d.longestGapMs)} · since last ${ms(d.sinceLastEventMs)}`,
      `     ids: ${d.missingIds} missing · ${d.duplicateIds} duplicate${d.reconnects ? ` · ${d.reconnects} reconnect(s), the longest ${ms(d.reconnectMs)}${d.serverEnds ? ` (the server ended the stream ${d.serverEnds} time(s))` : ''}` : ''}`,
      ...(d.clients > 1
        ? [`     fan-out: ${d.clientsOk}/${d.clients} ok · first-event spread ${ms(d.firstEventSpreadMs)} · delivery spread ${ms(d.deliverySpreadMs)} · ${d.sameEvents === false ? 'clients saw different events' : 'same events'}`]
        : []),
    ],
    declare: (probe, m) => {
      for (const counter of [m.sseEvents, m.sseComments, m.sseMissing, m.sseDuplicate, m.sseReconnects]) counter.inc({ probe }, 0);
    },
    record: (probe, d, m, shared, phases) => {
      if (d.status !== undefined) shared.httpStatus(probe, d.status);
      if (phases.first_event !== undefined) m.sseFirstEvent.observe({ probe }, phases.first_event / 1000);
      m.sseEvents.inc({ probe }, d.events);
      m.sseComments.inc({ probe }, d.comments);
      for (const gap of d.gapsMs) m.sseGap.observe({ probe }, gap / 1000);
      m.sseMissing.inc({ probe }, d.missingIds);
      m.sseDuplicate.inc({ probe }, d.duplicateIds);
      m.sseReconnects.inc({ probe }, d.reconnects);
      if (d.reconnectMs !== undefined) m.sseReconnect.set({ probe }, d.reconnectMs / 1000);
      if (d.deliverySpreadMs !== undefined) m.sseSpread.set({ probe }, d.deliverySpreadMs / 1000);
      if (d.eventAgeMs !== undefined) m.sseAge.set({ probe }, d.eventAgeMs.p99 / 1000);
    },
  };
