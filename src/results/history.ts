// Recent results per probe, bounded: the last N of any kind, and failures kept longer so the
// status API still shows what went wrong after the probe has recovered.
import type { ProbeResult } from '../probers/types.js';

export interface HistoryLimits {
  recent: number;
  failures: number;
}

export class History {
  private readonly recent = new Map<string, ProbeResult[]>();
  private readonly failures = new Map<string, ProbeResult[]>();

  constructor(private limits: HistoryLimits) {}

  setLimits(limits: HistoryLimits): void {
    this.limits = limits;
  }

  add(result: ProbeResult): void {
    push(this.recent, result.probe, result, this.limits.recent);
    if (!result.ok) push(this.failures, result.probe, result, this.limits.failures);
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
  }
}

function push(map: Map<string, ProbeResult[]>, probe: string, result: ProbeResult, limit: number): void {
  let list = map.get(probe);
  if (!list) map.set(probe, (list = []));
  list.push(result);
  if (list.length > limit) list.splice(0, list.length - limit);
}
