// What the page, the API and the badges show of the store, all from the same rows: a probe's
// daily bars and its uptime over 24 h, 7 d, 30 d and 90 d. Uptime is the share of runs that did
// not fail (degraded runs count as up), so a bar and the figure beside it never disagree.
import { DAY_MS, HOUR_MS, type Aggregate, type HistoryStore, type IncidentRecord } from './store.js';

export type DayState = 'ok' | 'degraded' | 'failed' | 'none';

export interface DayBar {
  start: number;
  state: DayState;
  runs: number;
  failed: number;
  degraded: number;
  /** Share of runs not failed (0–1); undefined with no runs. */
  uptime: number | undefined;
  incidents: number;
}

export const UPTIME_WINDOWS = { '24h': 1, '7d': 7, '30d': 30, '90d': 90 } as const;
export type UptimeWindow = keyof typeof UPTIME_WINDOWS;

/** A day is failed when 1 % or more of its runs failed, degraded when any run failed or was
 * degraded, and has no data when nothing ran. */
export function dayState(a: Pick<Aggregate, 'runs' | 'failed' | 'degraded'>): DayState {
  if (a.runs === 0) return 'none';
  if (a.failed / a.runs >= 0.01) return 'failed';
  return a.failed > 0 || a.degraded > 0 ? 'degraded' : 'ok';
}

function share(runs: number, failed: number): number | undefined {
  return runs === 0 ? undefined : (runs - failed) / runs;
}

/** The last `days` UTC days up to and including today's, oldest first, one bar each: from the
 * store's last read of the fleet's days (`await store.refreshDays(now)` first for a fresh one). */
export function dayBars(store: HistoryStore, probe: string, now: number, days = 90, location?: string): DayBar[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const from = today - (days - 1) * DAY_MS;
  const written = store.daysOf(probe, now, location);
  // Drawn for every probe of the overview: arrays by day, no per-day search.
  const runs = new Array<number>(days).fill(0);
  const failed = new Array<number>(days).fill(0);
  const degraded = new Array<number>(days).fill(0);
  const incidents = new Array<number>(days).fill(0);
  for (const a of written.days) {
    const i = (a.start - from) / DAY_MS;
    if (i >= 0 && i < days && Number.isInteger(i)) (runs[i] = (runs[i] as number) + a.runs), (failed[i] = (failed[i] as number) + a.failed), (degraded[i] = (degraded[i] as number) + a.degraded);
  }
  for (const inc of written.incidents) {
    const first = Math.max(0, Math.floor((inc.startedAt - from) / DAY_MS));
    const last = Math.min(days - 1, Math.floor(((inc.endedAt ?? now) - from) / DAY_MS));
    for (let i = first; i <= last; i++) incidents[i] = (incidents[i] as number) + 1;
  }
  return Array.from({ length: days }, (_, i) => {
    const day = { runs: runs[i] as number, failed: failed[i] as number, degraded: degraded[i] as number };
    return { start: from + i * DAY_MS, state: dayState(day), ...day, uptime: share(day.runs, day.failed), incidents: incidents[i] as number };
  });
}

/** Uptime over each window: 24 h from the hourly rows, the others from the daily bars. */
export async function uptimeOf(store: HistoryStore, probe: string, now: number, bars: DayBar[], location?: string): Promise<Record<UptimeWindow, number | undefined>> {
  const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
  const hours = await store.aggregates(probe, 'hour', hour - 23 * HOUR_MS, hour + HOUR_MS, 5_000, location);
  return { '24h': uptimeOfBars(hours), '7d': uptimeOfBars(bars.slice(-7)), '30d': uptimeOfBars(bars.slice(-30)), '90d': uptimeOfBars(bars.slice(-90)) };
}

/** Uptime over one window alone (a badge): the last 24 hours' rows, or the window's days. */
export async function uptimeOver(store: HistoryStore, probe: string, now: number, window: UptimeWindow): Promise<number | undefined> {
  if (window === '24h') {
    const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
    return uptimeOfBars(await store.aggregates(probe, 'hour', hour - 23 * HOUR_MS, hour + HOUR_MS));
  }
  await store.refreshDays(now);
  return uptimeOfBars(dayBars(store, probe, now, UPTIME_WINDOWS[window]));
}

/** Uptime over the runs of these bars (or hourly rows): the share not failed. */
export function uptimeOfBars(list: ReadonlyArray<{ runs: number; failed: number }>): number | undefined {
  return share(list.reduce((n, a) => n + a.runs, 0), list.reduce((n, a) => n + a.failed, 0));
}


/** "99.95 %", never rounded up to 100 % while any run failed. */
export function formatUptime(uptime: number | undefined): string {
  if (uptime === undefined) return 'no data';
  const percent = Math.floor(uptime * 10_000) / 100;
  return `${percent.toFixed(uptime === 1 ? 0 : 2)} %`;
}

/** Everything a probe's page shows of its history. */
export interface ProbeHistory {
  bars: DayBar[];
  uptime: Record<UptimeWindow, number | undefined>;
  /** Hourly rows of the last 24 hours and of the last 7 days (the charts). */
  day: Aggregate[];
  week: Aggregate[];
  /** The newest incidents (at most 20), and the mean time failing of the closed ones in 90 days. */
  incidents: IncidentRecord[];
  mttrMs: number | undefined;
}

/** At one location (a fleet runs a probe in several), or at every one. */
export async function probeHistory(store: HistoryStore, probe: string, now: number, location?: string): Promise<ProbeHistory> {
  await store.refreshDays(now);
  const bars = dayBars(store, probe, now, 90, location);
  const hour = Math.floor(now / HOUR_MS) * HOUR_MS;
  const [week, closedAll, incidents] = await Promise.all([
    store.aggregates(probe, 'hour', hour - (7 * 24 - 1) * HOUR_MS, hour + HOUR_MS, 5_000, location),
    store.incidentList({ probe, location, state: 'closed', from: now - 90 * DAY_MS, limit: 500 }),
    store.incidentList({ probe, location, limit: 20 }),
  ]);
  const closed = closedAll.filter((i) => i.durationMs !== undefined);
  return {
    bars,
    uptime: await uptimeOf(store, probe, now, bars, location),
    day: week.filter((a) => a.start > hour - 24 * HOUR_MS),
    week,
    incidents,
    mttrMs: closed.length === 0 ? undefined : closed.reduce((sum, i) => sum + (i.durationMs as number), 0) / closed.length,
  };
}
