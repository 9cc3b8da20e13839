// Recent results per probe, bounded: the last N of any kind, failures kept longer so the
// status API still shows what went wrong after the probe has recovered, and the incident
// timeline (state changes, notifications sent) that the status page shows.
import type { Notification } from '../alerting/alert.js';
import type { Delivery } from '../alerting/receivers/receiver.js';
import { formatDuration } from '../config/units.js';
import type { Transition } from '../detect/probe-state.js';
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

  /** "healthy → failing (consecutive failures): failures 3" on the probe's timeline. */
  noteTransition(t: Transition): void {
    const evidence = Object.entries(t.evidence).map(([k, v]) => `${k} ${v}`).join(', ');
    const o = t.outage;
    if (t.reason === 'incident-closed' && o) {
      const flapped = o.periods > 1 ? ` in ${o.periods} failing periods over ${formatDuration(o.spanMs)}` : '';
      this.note(t.probe, { at: t.at, what: 'state', text: `incident closed: failing ${formatDuration(o.durationMs)}${flapped}` });
      return;
    }
    const so = t.reason === 'recovered' && o ? `; failing ${formatDuration(o.durationMs)} so far, the incident closes if it stays up` : '';
    this.note(t.probe, { at: t.at, what: 'state', text: `${t.from} → ${t.to} (${t.reason.replaceAll('-', ' ')})${evidence ? `: ${evidence}` : ''}${so}` });
  }

  /** A notification about probe alerts, delivered or not, on each of those probes' timelines
   * (of the probes `known` still names: a removed probe's timeline is gone). The probes noted. */
  noteDelivery(receiver: string, notification: Notification, delivery: Delivery, at: number, known: (probe: string) => boolean): string[] {
    if (notification.test) return [];
    const noted: string[] = [];
    for (const alert of notification.alerts) {
      const probe = alert.labels.probe;
      if (!probe || !known(probe)) continue;
      const what = `${alert.status === 'firing' ? 'firing' : 'resolved'} ${alert.labels.alertname ?? 'alert'}`;
      this.note(probe, delivery.ok ? { at, what: 'notified', text: `notified ${receiver}: ${what}` } : { at, what: 'undelivered', text: `notification to ${receiver} (${what}) failed: ${delivery.reason}${delivery.retry ? ', will retry' : ', not retried'}` });
      noted.push(probe);
    }
    return noted;
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
