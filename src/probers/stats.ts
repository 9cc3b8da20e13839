/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export interface Spread {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] as number };
}

/** A stream of figures kept in bounded memory whatever its rate: how many, the largest, and the
 * last `keep` (for percentiles and bursts of what is recent). A firehose of 200,000 events a
 * second made an array of every gap, spread into Math.max: the run died of a stack overflow. */
export class Tally {
  count = 0;
  max: number | undefined = undefined;
  private readonly ring: Float64Array;
  private next = 0;

  constructor(keep: number) {
    this.ring = new Float64Array(keep);
  }

  add(value: number): void {
    this.count++;
    if (this.max === undefined || value > this.max) this.max = value;
    this.ring[this.next] = value;
    this.next = (this.next + 1) % this.ring.length;
  }

  /** The last `keep` values, oldest first. */
  recent(): number[] {
    const filled = Math.min(this.count, this.ring.length);
    if (filled < this.ring.length) return Array.from(this.ring.subarray(0, filled));
    return [...this.ring.subarray(this.next), ...this.ring.subarray(0, this.next)];
  }
}

/** The largest and smallest of many values, without spreading them into arguments. */
export function maxOf(values: Iterable<number>): number | undefined {
  let max: number | undefined;
  for (const v of values) if (max === undefined || v > max) max = v;
  return max;
}

export function minOf(values: Iterable<number>): number | undefined {
  let min: number | undefined;
  for (const v of values) if (min === undefined || v < min) min = v;
  return min;
}
