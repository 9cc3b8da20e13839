// The number a degradation rule watches, read off a result: duration, a phase, first event,
// WebSocket RTT p95, a flow leg or total. Undefined when this result has no such figure.
import type { PhaseName, ProbeResult } from '../probers/types.js';

export function figureOf(result: ProbeResult, figure: string): number | undefined {
  if (figure === 'duration') return result.durationMs;
  if (figure === 'first_event') return result.phases.first_event;
  if (figure.startsWith('phase.')) return result.phases[figure.slice('phase.'.length) as PhaseName];
  const { detail } = result;
  switch (detail.kind) {
    case 'websocket':
      return figure === 'rtt_p95' ? detail.rttMs?.p95 : undefined;
    case 'flow':
      if (figure === 'total') return detail.totalMs;
      return figure.startsWith('leg.') ? detail.legs[figure.slice('leg.'.length)] : undefined;
    case 'http':
    case 'sse':
      return undefined;
    default:
      return detail satisfies never;
  }
}
