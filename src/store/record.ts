// A probe result as the history store keeps it: verdict, the kind's main figure, the headline
// (redacted), phases. Inconclusive runs (the daemon itself was starved) are not the target's
// doing and are not kept: uptime counts only what the target did.
import type { Redact } from '../logging/redact.js';
import { figureOf } from '../detect/figures.js';
import { kindOf } from '../probers/kinds.js';
import { headlineOf } from '../probers/run-probe.js';
import type { ProbeResult } from '../probers/types.js';
import type { RunSummary } from './store.js';

export function storedRun(result: ProbeResult, redact: Redact): RunSummary | undefined {
  if (!result.ok && result.failure.code === 'inconclusive') return undefined;
  const headline = headlineOf(result);
  return {
    probe: result.probe,
    kind: result.kind,
    at: result.startedAt,
    verdict: result.verdict,
    figure: result.ok ? micro(figureOf(result, kindOf(result.kind).main.figure)) : undefined,
    headline: headline === undefined ? undefined : redact(headline),
    phases: microPhases(result.phases),
  };
}

function microPhases(phases: ProbeResult['phases']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const phase in phases) {
    const ms = phases[phase as keyof typeof phases];
    if (ms !== undefined) out[phase] = micro(ms) as number;
  }
  return out;
}

/** Milliseconds to the microsecond: what a timer here can tell apart. */
function micro(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 1000) / 1000;
}
