// The number a degradation rule watches, read off a result: duration, a phase or first event
// (every kind's), or a figure of the kind's own (WebSocket RTT p95, a flow leg or total), which
// the kind reads off its detail. Undefined when this result has no such figure.
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
    default: {
      const own = kindOf(detail.kind).figure as ((d: typeof detail, f: Figure) => number | undefined) | undefined;
      return own?.(detail, figure);
    }
  }
}

/** The figures a probe's results carry, by name: what a degradation rule may watch. */
export function availableFigures<K extends ProbeKind>(spec: FigureInput<K>): string[] {
  return kindOf(spec.kind).figures(spec);
}
