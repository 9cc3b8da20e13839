// The grpc kind: what its runs report (the serving status, and with Watch every change seen),
// how that reads, its figures, rules and series. Its schema is ./schema.ts, its prober ./prober.ts.
import { Counter, Gauge, type Registry } from 'prom-client';
import { formatDuration } from '../../config/units.js';
import type { Kind } from '../kinds.js';

declare module '../kinds.js' {
  interface Details {
    grpc: GrpcDetail;
  }
}

export interface GrpcDetail {
  kind: 'grpc';
  method: 'Check' | 'Watch';
  service: string;
  /** The last status the server gave (Check's answer, or Watch's latest). */
  status: string | undefined;
  /** From the call to the answer (Watch: its first status), ms. */
  responseMs: number | undefined;
  /** The gRPC status code the call ended with, by name, when it was not OK (or Watch's CANCELLED by us). */
  grpcCode: string | undefined;
  /** Watch: each status as it came, ms after the call (the first included; at most 32 kept). */
  changes: Array<{ status: string; atMs: number }>;
  /** Watch: how long the stream was held, ms. */
  heldMs: number | undefined;
}

const series = (registers: Registry[]) => ({
  serving: new Gauge({ name: 'flowprobe_grpc_serving', help: 'Whether the last run saw the service SERVING (1) or another status (0); absent when none came.', labelNames: ['probe'], registers }),
  changes: new Counter({ name: 'flowprobe_grpc_watch_changes_total', help: 'Serving status changes seen on Watch streams (the first status not counted).', labelNames: ['probe'], registers }),
});

export const grpcKind: Kind<'grpc', ReturnType<typeof series>> = {
  tlsSchemes: ['grpcs'],
  series,
  prober: async () => (await import('./prober.js')).probeGrpc,
  rules: (raw, { timeoutMs }) =>
    raw.watch?.hold !== undefined && raw.watch.hold >= timeoutMs
      ? [{ path: ['watch', 'hold'], message: `expected a hold shorter than the probe's timeout (${formatDuration(timeoutMs)}), found ${formatDuration(raw.watch.hold)}` }]
      : [],
  emptyDetail: (spec) => ({ kind: 'grpc', method: spec.watch ? 'Watch' : 'Check', service: spec.service, status: undefined, responseMs: undefined, grpcCode: undefined, changes: [], heldMs: undefined }),
  main: { figure: { name: 'phase', phase: 'first_byte' }, label: 'answer' },
  target: (spec) => `gRPC ${spec.watch ? 'Watch' : 'Check'} ${spec.service || '(server)'} @ ${spec.url.hostname.includes(':') ? `[${spec.url.hostname}]` : spec.url.hostname}:${spec.url.port}${spec.url.scheme === 'grpcs' ? ' (TLS)' : ''}`,
  figures: () => ['duration', 'phase.first_byte'],
  describe: (d) => [
    `grpc ${d.method} ${d.service || '(server)'}: ${d.status ?? 'no status'}${d.responseMs === undefined ? '' : ` after ${formatDuration(d.responseMs)}`}${d.grpcCode ? ` · gRPC ${d.grpcCode}` : ''}`,
    ...(d.method === 'Watch' ? [`    held ${d.heldMs === undefined ? '-' : formatDuration(d.heldMs)} · ${d.changes.map((c) => `${c.status} at +${formatDuration(c.atMs)}`).join(' → ') || 'no status'}`] : []),
  ],
  declare: (probe, m) => m.changes.inc({ probe }, 0),
  record: (probe, d, m) => {
    if (d.status === undefined) m.serving.remove({ probe });
    else m.serving.set({ probe }, d.status === 'SERVING' ? 1 : 0);
    if (d.changes.length > 1) m.changes.inc({ probe }, d.changes.length - 1);
  },
};
