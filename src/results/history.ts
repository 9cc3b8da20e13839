// Recent results per probe, bounded: the last N of any kind, failures kept longer so the
// status API still shows what went wrong after the probe has recovered, and the incident
// timeline (state changes, notifications sent) that the status page shows.
import type { ProbeResult } from '../probers/types.js';

export interface HistoryLimits {
  recent: number;
  failures: number;
}

/** One line of a probe's incident timeline. */
export interface TimelineEntry {
  at: number;
  /** state: a health transition; notified: a notification delivered; undelivered: an attempt failed. */
  what: 'state' | 'notified' | 'undelivered';
  text: string;
}

const TIMELINE_ENTRIES = 50;

export class History {
  private readonly recent = new Map<string, ProbeResult[]>();
  private readonly failures = new Map<string, ProbeResult[]>();
  private readonly timeline = new Map<string, TimelineEntry[]>();

  constructor(private limits: HistoryLimits) {}

  setLimits(limits: HistoryLimits): void {
    this.limits = limits;
  }

  add(result: ProbeResult): void {
    push(this.recent, result.probe, result, this.limits.recent);
    if (!result.ok) push(this.failures, result.probe, result, this.limits.failures);
  }

  note(probe: string, entry: TimelineEntry): void {
    push(this.timeline, probe, entry, TIMELINE_ENTRIES);
  }

  /** Newest first. */
  timelineOf(probe: string): readonly TimelineEntry[] {
    return [...(this.timeline.get(probe) ?? [])].reverse();
  }

  /** Newest first. */
  recentOf(probe: string): readonly ProbeResult[] {
    return [...(this.recent.get(probe) ?? [])].reverse();
  }

  failuresOf(probe: string): readonly ProbeResult[] {
    return [...(this.failures.get(probe) ?? [])].reverse();
  }

  last(probe: string): ProbeResult | undefined {
    const list = this.recent.get(probe);
    return list?.[list.length - 1];
  }

  forget(probe: string): void {
    this.recent.delete(probe);
    this.failures.delete(probe);
    this.timeline.delete(probe);
  }
}

function push<T>(map: Map<string, T[]>, probe: string, result: T, limit: number): void {
  let list = map.get(probe);
  if (!list) map.set(probe, (list = []));
  list.push(result);
  if (list.length > limit) list.splice(0, list.length - limit);
}
