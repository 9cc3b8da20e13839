// Is it them or us? When most probes fail at once, whatever their targets, the likelier cause
// is flowprobe's own side: its network, its DNS, its host.
export interface ProbeSideVerdict {
  suspected: boolean;
  failing: number;
  total: number;
  /** Failure codes of the failing probes, "connect ×40, dns ×10". */
  codes: string;
}

/** Remembers whether our side is suspected, and says so only when that changes. */
export class ProbeSideWatch {
  constructor(private suspected = false) {}

  /** The new verdict when suspicion starts or ends; undefined while it stays as it was. */
  update(probes: ReadonlyArray<{ failing: boolean; lastCode: string | undefined }>, rule: { ratio: number; minProbes: number } | false): ProbeSideVerdict | undefined {
    const verdict = probeSideVerdict(probes, rule);
    if (verdict.suspected === this.suspected) return undefined;
    this.suspected = verdict.suspected;
    return verdict;
  }
}

export function probeSideVerdict(
  probes: ReadonlyArray<{ failing: boolean; lastCode: string | undefined }>,
  rule: { ratio: number; minProbes: number } | false,
): ProbeSideVerdict {
  const failing = probes.filter((p) => p.failing);
  const counts = new Map<string, number>();
  for (const p of failing) counts.set(p.lastCode ?? 'unknown', (counts.get(p.lastCode ?? 'unknown') ?? 0) + 1);
  const codes = [...counts].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ×${n}`).join(', ');
  const suspected = rule !== false && failing.length >= rule.minProbes && failing.length / Math.max(1, probes.length) >= rule.ratio;
  return { suspected, failing: failing.length, total: probes.length, codes };
}
