// The number a degradation rule watches, read off a result: duration, a phase, first event,
// WebSocket RTT p95, a flow leg or total. Undefined when this result has no such figure.
import type { Figure } from '../config/probe-fields.js';
import type { ProbeKind } from '../config/schema.js';
import { kindOf, type FigureInput } from '../probers/kinds.js';
import type { ProbeResult } from '../probers/types.js';

export function figureOf(result: ProbeResult, figure: Figure): number | undefined {
  const { detail } = result;
  switch (figure.name) {
    case 'duration':
      return result.durationMs;
    case 'first_event':
      return result.phases.first_event;
    case 'phase':
      return result.phases[figure.phase];
    case 'rtt_p95':
      return detail.kind === 'websocket' ? detail.rttMs?.p95 : undefined;
    case 'total':
      return detail.kind === 'flow' ? detail.totalMs : undefined;
    case 'leg':
      return detail.kind === 'flow' ? detail.legs[figure.leg] : undefined;
    default:
      return figure satisfies never;
  }
}

/** The figures a probe's results carry, by name: what a degradation rule may watch. */
export function availableFigures<K extends ProbeKind>(spec: FigureInput<K>): string[] {
  return kindOf(spec.kind).figures(spec);
}
