// Percentiles of a bucket of runs (an hour, a day) without keeping every figure: a log-bucketed
// histogram (the DDSketch idea with a fixed γ). Figures are counted into buckets whose bounds
// grow by γ = 1.04, so any percentile read back is within 2 % of a figure that was seen; two
// sketches merge by adding counts, which is how a day is made of its hours. Bounded: figures
// from 10 µs to 10 days need at most ~700 buckets, and a bucket of runs uses only those hit.
const GAMMA = 1.04;
const LOG_GAMMA = Math.log(GAMMA);
const MIN_MS = 0.01;

/** Bucket index → count, as stored (JSON object keys). */
export type SketchCounts = Record<string, number>;

export class Sketch {
  private constructor(private readonly counts: Map<number, number>) {}

  static empty(): Sketch {
    return new Sketch(new Map());
  }

  /** From what `toJSON` wrote; anything malformed reads as empty (a store row is never trusted). */
  static from(counts: unknown): Sketch {
    const map = new Map<number, number>();
    if (counts && typeof counts === 'object') {
      for (const [key, value] of Object.entries(counts)) {
        const index = Number(key);
        if (Number.isInteger(index) && Math.abs(index) < 10_000 && Number.isInteger(value) && (value as number) > 0) map.set(index, value as number);
      }
    }
    return new Sketch(map);
  }

  add(ms: number): void {
    const index = Math.ceil(Math.log(Math.max(ms, MIN_MS) / MIN_MS) / LOG_GAMMA);
    this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
  }

  merge(other: Sketch): void {
    for (const [index, count] of other.counts) this.counts.set(index, (this.counts.get(index) ?? 0) + count);
  }

  get size(): number {
    let n = 0;
    for (const count of this.counts.values()) n += count;
    return n;
  }

  /** The p-th percentile (0–100), or undefined with no figures. */
  percentile(p: number): number | undefined {
    return this.percentiles([p])[0];
  }

  /** Several percentiles (ascending) in one pass over the buckets. */
  percentiles(ps: readonly number[]): Array<number | undefined> {
    const total = this.size;
    const out: Array<number | undefined> = ps.map(() => undefined);
    if (total === 0) return out;
    let next = 0;
    let seen = 0;
    for (const index of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(index) as number;
      // The bucket (γ^(i-1), γ^i] × MIN_MS, read as the value that errs least either way.
      while (next < ps.length && seen >= Math.max(1, Math.ceil(((ps[next] as number) / 100) * total))) out[next++] = index === 0 ? MIN_MS : (2 * MIN_MS * GAMMA ** index) / (GAMMA + 1);
      if (next === ps.length) break;
    }
    return out;
  }

  toJSON(): SketchCounts {
    return Object.fromEntries(this.counts);
  }
}
