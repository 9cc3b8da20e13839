// The heartbeat kind: what its runs report (the last ping and when the next is due), how that
// reads, its figures and series. Its schema is ./schema.ts, its prober ./prober.ts (a judgement
// of the pings in ./book.ts, which the daemon keeps and its API feeds).
import { Gauge, type Registry } from 'prom-client';
import { formatDuration } from '../../config/units.js';
import type { Kind } from '../kinds.js';

declare module '../kinds.js' {
  interface Details {
    heartbeat: HeartbeatDetail;
  }
}

export interface HeartbeatDetail {
  kind: 'heartbeat';
  /** "every 24h ± 1h" */
  cadence: string;
  lastAt: number | undefined;
  lastStatus: 'ok' | 'fail' | undefined;
  lastMessage: string | undefined;
  lastDurationMs: number | undefined;
  /** When the next ping must have come by (epoch ms); undefined when none is due yet (cron). */
  dueBy: number | undefined;
  pings: number;
}

/** "2026-11-30 01:02 UTC" */
export function utcMinute(at: number): string {
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const series = (registers: Registry[]) => ({
  lastPing: new Gauge({ name: 'flowprobe_heartbeat_last_ping_timestamp_seconds', help: 'When the heartbeat last checked in (absent until it has).', labelNames: ['probe'], registers }),
  lastDuration: new Gauge({ name: 'flowprobe_heartbeat_last_duration_seconds', help: 'How long the job said its last run took (?duration=), when it said.', labelNames: ['probe'], registers }),
});

export const heartbeatKind: Kind<'heartbeat', ReturnType<typeof series>> = {
  series,
  prober: async () => (await import('./prober.js')).probeHeartbeat,
  emptyDetail: (spec) => ({ kind: 'heartbeat', cadence: spec.pings.text, lastAt: undefined, lastStatus: undefined, lastMessage: undefined, lastDurationMs: undefined, dueBy: undefined, pings: 0 }),
  main: { figure: { name: 'duration' }, label: 'check' },
  target: (spec) => `heartbeat ${spec.pings.text} · POST /api/v1/heartbeats/${spec.name}`,
  figures: () => ['duration'],
  describe: (d) => [
    `heartbeat ${d.cadence}: ${d.lastAt === undefined ? 'no ping yet' : `last ${d.lastStatus} at ${utcMinute(d.lastAt)}${d.lastDurationMs === undefined ? '' : ` (ran ${formatDuration(d.lastDurationMs)})`}${d.lastMessage ? `: ${d.lastMessage}` : ''}`} · ${d.pings} ping(s)${d.dueBy === undefined ? '' : ` · next due by ${utcMinute(d.dueBy)}`}`,
  ],
  declare: () => undefined,
  record: (probe, d, m) => {
    if (d.lastAt === undefined) m.lastPing.remove({ probe });
    else m.lastPing.set({ probe }, d.lastAt / 1000);
    if (d.lastDurationMs === undefined) m.lastDuration.remove({ probe });
    else m.lastDuration.set({ probe }, d.lastDurationMs / 1000);
  },
};
