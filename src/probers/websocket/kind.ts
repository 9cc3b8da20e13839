// The websocket kind: what its runs report beyond phases and checks, how that reads, which
// figures it has, and the series it feeds. Its schema is ./schema.ts, its prober ./prober.ts.
import { formatDuration } from '../../config/units.js';
import { Counter, Gauge, type Registry } from 'prom-client';
import { RecentQuantiles, SAMPLES_KEPT } from '../../metrics/recent-quantiles.js';
import type { Kind } from '../kinds.js';
import { CONNECTION_PHASES, type FailureCode } from '../types.js';
import type { Spread } from '../stats.js';

declare module '../kinds.js' {
  interface Details {
    websocket: WebSocketDetail;
  }
}

export interface WebSocketDetail {
  kind: 'websocket';
  connections: number;
  connectionsOk: number;
  /** Failed connections by failure code. */
  failures: Partial<Record<FailureCode, number>>;
  handshakeMs: Spread | undefined;
  rttMs: Spread | undefined;
  /** Every RTT sample of the run, for the histogram. */
  rttSamplesMs: number[];
  sent: number;
  received: number;
  outOfOrder: number;
  missing: number;
  duplicate: number;
  subprotocol: string | undefined;
  /** The close code the (first) connection ended with. */
  closeCode: number | undefined;
}

const spreadOf = (label: string, v: Spread | undefined) =>
  v ? `${label} p50 ${formatDuration(v.p50)} · p95 ${formatDuration(v.p95)} · p99 ${formatDuration(v.p99)} · max ${formatDuration(v.max)} (${v.n})` : `${label} -`;

const series = (registers: Registry[]) => ({
    wsRtt: new RecentQuantiles({ name: 'flowprobe_ws_rtt_seconds', help: 'WebSocket round trips (ping/pong or request/response): quantiles of the last 256 samples.', labelNames: ['probe'], keep: SAMPLES_KEPT, registers }),
    wsMessages: new Counter({ name: 'flowprobe_ws_messages_total', help: 'WebSocket messages by direction.', labelNames: ['probe', 'direction'], registers }),
    wsOrder: new Counter({ name: 'flowprobe_ws_sequence_errors_total', help: 'Burst messages out of order, missing or duplicated.', labelNames: ['probe', 'error'], registers }),
    wsClose: new Gauge({ name: 'flowprobe_ws_last_close_code', help: 'Close code of the last run (first connection).', labelNames: ['probe'], registers }),
    wsConnFailures: new Counter({ name: 'flowprobe_ws_connection_failures_total', help: 'WebSocket connections that failed, by reason.', labelNames: ['probe', 'reason'], registers }),
});

export const websocketKind: Kind<'websocket', ReturnType<typeof series>> = {
    tlsSchemes: ['wss'],
    series,
    prober: async () => (await import('./prober.js')).probeWebSocket,
    figure: (d, figure) => (figure.name === 'rtt_p95' ? d.rttMs?.p95 : undefined),
    emptyDetail: (spec) => ({
      kind: 'websocket', connections: spec.connections, connectionsOk: 0, failures: {}, handshakeMs: undefined, rttMs: undefined, rttSamplesMs: [],
      sent: 0, received: 0, outOfOrder: 0, missing: 0, duplicate: 0, subprotocol: undefined, closeCode: undefined,
    }),
    main: { figure: { name: 'rtt_p95' }, label: 'RTT p95' },
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
    declare: (probe, m) => {
      for (const direction of ['sent', 'received']) m.wsMessages.inc({ probe, direction }, 0);
      for (const error of ['out_of_order', 'missing', 'duplicate']) m.wsOrder.inc({ probe, error }, 0);
    },
    record: (probe, d, m) => {
      for (const rtt of d.rttSamplesMs) m.wsRtt.observe({ probe }, rtt / 1000);
      m.wsMessages.inc({ probe, direction: 'sent' }, d.sent);
      m.wsMessages.inc({ probe, direction: 'received' }, d.received);
      m.wsOrder.inc({ probe, error: 'out_of_order' }, d.outOfOrder);
      m.wsOrder.inc({ probe, error: 'missing' }, d.missing);
      m.wsOrder.inc({ probe, error: 'duplicate' }, d.duplicate);
      if (d.closeCode !== undefined) m.wsClose.set({ probe }, d.closeCode);
      for (const [reason, n] of Object.entries(d.failures)) m.wsConnFailures.inc({ probe, reason }, n);
    },
  };
