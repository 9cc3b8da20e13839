// A Prometheus summary of each series' recent samples: p50, p95 and p99 of its last `keep`
// observations, exact, at every probe's own scale. Fixed histogram buckets cannot be right for a
// probe that takes 2 ms and one that holds a stream for 5 s at once (a p95 read off buckets of
// 0.1, 0.25, 0.5, 1, 2.5, 10 s said 95 ms and 9.6 s for them); per-probe buckets would cost dozens
// of series each. prom-client's Summary estimates over a clock window (t-digest) and says 0 for a
// window with no sample — a probe that runs once an hour would read 0 most of the time. This one
// keeps the last runs, whatever their pace: five series a probe, bounded memory, no estimate.
import type { Registry } from 'prom-client';
import { percentile } from '../probers/stats.js';

export const QUANTILES = [0.5, 0.95, 0.99] as const;

interface Series {
  labels: Record<string, string>;
  ring: Float64Array;
  filled: number;
  next: number;
  count: number;
  sum: number;
}

/** Per-run figures keep the last 128 runs; per-sample figures (gaps, RTTs) the last 256 samples. */
export const RUNS_KEPT = 128;
export const SAMPLES_KEPT = 256;

export interface RecentQuantilesOptions {
  name: string;
  help: string;
  labelNames: readonly string[];
  /** Samples kept per series (a probe's last runs). */
  keep: number;
  registers: Registry[];
}

export class RecentQuantiles {
  readonly name: string;
  readonly help: string;
  readonly type = 'summary';
  readonly aggregator = 'omit';
  /** As prom-client's metrics have: which labels its series carry. */
  get labelNames(): readonly string[] {
    return this.options.labelNames;
  }
  private readonly series = new Map<string, Series>();

  constructor(private readonly options: RecentQuantilesOptions) {
    this.name = options.name;
    this.help = options.help;
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /** A series bound once: observing looks no label up after the first sample (the series
   * appears with it, as prom-client's do). */
  labels(labels: Record<string, string>): { observe(value: number): void } {
    let series: Series | undefined;
    return { observe: (value) => record((series ??= this.seriesOf(labels)), value) };
  }

  observe(labels: Record<string, string>, value: number): void {
    record(this.seriesOf(labels), value);
  }

  /** Drops every series whose labels include all of these. */
  remove(labels: Record<string, string | number>): void {
    for (const [key, s] of this.series) {
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === String(v))) this.series.delete(key);
    }
  }

  reset(): void {
    this.series.clear();
  }

  /** What a scrape shows: per series its quantiles (while it has samples), sum and count. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }> }> {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }> = [];
    for (const s of this.series.values()) {
      if (s.filled > 0) {
        // A typed array sorts numerically, natively: ~5 µs for 128 samples.
        const sorted = s.ring.slice(0, s.filled).sort();
        for (const q of QUANTILES) values.push({ labels: { ...s.labels, quantile: q }, value: percentile(sorted, q * 100) });
      }
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  private seriesOf(labels: Record<string, string>): Series {
    const key = this.options.labelNames.map((name) => labels[name] ?? '').join('\u0000');
    let series = this.series.get(key);
    if (!series) {
      series = { labels: { ...labels }, ring: new Float64Array(this.options.keep), filled: 0, next: 0, count: 0, sum: 0 };
      this.series.set(key, series);
    }
    return series;
  }
}

function record(series: Series, value: number): void {
  series.ring[series.next] = value;
  series.next = (series.next + 1) % series.ring.length;
  series.filled = Math.min(series.filled + 1, series.ring.length);
  series.count++;
  series.sum += value;
}
