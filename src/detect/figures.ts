// The number a degradation rule watches, read off a result: duration, a phase, first event,
// WebSocket RTT p95, a flow leg or total. Undefined when this result has no such figure.
import type { Figure } from '../config/schema.js';
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
export function availableFigures(spec: ProbeInput): string[] {
  switch (spec.kind) {
    case 'http':
      return ['duration', 'phase.dns', 'phase.connect', 'phase.tls', 'phase.first_byte', 'phase.download'];
    case 'sse':
      return ['duration', 'first_event', 'phase.dns', 'phase.connect', 'phase.tls', 'phase.first_byte', 'phase.first_event'];
    case 'websocket':
      return ['duration', 'rtt_p95', 'phase.dns', 'phase.connect', 'phase.tls', 'phase.first_byte'];
    case 'flow': {
      const legs = (spec.steps ?? []).flatMap((step) => ('await' in step ? [`leg.${step.await.on}`] : 'poll' in step ? [`leg.${step.poll.name}`] : []));
      const phases = (spec.watch ?? []).length > 0 ? ['phase.dns', 'phase.connect', 'phase.tls', 'phase.first_byte'] : [];
      return ['duration', 'total', ...legs, ...phases];
    }
    default:
      return spec satisfies never;
  }
}

type ProbeInput =
  | { kind: 'http' }
  | { kind: 'sse' }
  | { kind: 'websocket' }
  | { kind: 'flow'; steps?: ReadonlyArray<{ await: { on: string } } | { poll: { name: string } } | { inject: unknown }>; watch?: readonly unknown[] };
