// The flow kind: what its runs report beyond phases and checks, how that reads, which figures
// it has, and the series it feeds. Its schema is ./schema.ts, its prober ./prober.ts.
import { formatDuration } from '../../config/units.js';
import type { Registry } from 'prom-client';
import { RecentQuantiles, RUNS_KEPT } from '../../metrics/recent-quantiles.js';
import type { Kind } from '../kinds.js';
import { flowRules } from './rules.js';
import { CONNECTION_PHASES } from '../types.js';
import type { BrowserPageReport } from '../browser-page.js';

const ms = (v: number | undefined): string => (v === undefined ? '-' : formatDuration(v));

declare module '../kinds.js' {
  interface Details {
    flow: FlowDetail;
  }
}

export interface FlowDetail {
  kind: 'flow';
  /** Per leg, in milliseconds: `inject` from sending the injection to its response; every
   * other leg from the moment the injection was accepted (its response) to the marker there —
   * so a slow ingest shows as a slow inject leg, not as slow downstream legs. */
  legs: Record<string, number>;
  /** The same legs timed from sending the injection (what an end user waits). */
  legsFromSend: Record<string, number>;
  /** From sending the first injection to the last leg; only for a flow that reached every hop. */
  totalMs: number | undefined;
  injected: boolean;
  /** Steps that never finished (a marker not seen, a step not reached); a hop whose marker
   * arrived has its leg even when what arrived failed a check. */
  unfinished: string[];
  /** Hops whose marker never came: how long each waited after the injection was accepted. */
  waited?: Record<string, number>;
  polls: number;
  /** Each browser leg's page: its load (navigation to the load event), and what went wrong in
   * it during the run (console errors, uncaught exceptions, failed requests; at most 20 each). */
  pages?: Record<string, BrowserPageReport>;
}

const series = (registers: Registry[]) => ({
    flowLeg: new RecentQuantiles({ name: 'flowprobe_flow_leg_seconds', help: 'Flow legs: from the injection to the marker at each output: quantiles of the last 128 runs.', labelNames: ['probe', 'leg'], keep: RUNS_KEPT, registers }),
    flowTotal: new RecentQuantiles({ name: 'flowprobe_flow_total_seconds', help: 'Flow: from the injection to the last leg, for flows that reached every hop: quantiles of the last 128 runs.', labelNames: ['probe'], keep: RUNS_KEPT, registers }),
});

export const flowKind: Kind<'flow', ReturnType<typeof series>> = {
    series,
    prober: async () => (await import('./prober.js')).probeFlow,
    rules: flowRules,
    figure: (d, figure) => (figure.name === 'total' ? d.totalMs : figure.name === 'leg' ? d.legs[figure.leg] : undefined),
    emptyDetail: () => ({ kind: 'flow', legs: {}, legsFromSend: {}, totalMs: undefined, injected: false, unfinished: [], polls: 0 }),
    main: { figure: { name: 'total' }, label: 'end to end' },
    target: (spec) => `flow ${spec.steps.map((s) => ('inject' in s ? 'inject' : 'await' in s ? `→ ${s.await.on}` : 'poll' in s ? `→ ${s.poll.name}` : `→ ${s.browser.name} (browser)`)).join(' ')}`,
    figures: (spec) => {
      const legs = (spec.steps ?? []).flatMap((step) => ('await' in step ? [`leg.${step.await.on}`] : 'poll' in step ? [`leg.${step.poll.name}`] : 'browser' in step ? [`leg.${step.browser.name}`] : []));
      const inject = (spec.steps ?? []).some((step) => 'inject' in step) ? ['leg.inject'] : [];
      return ['duration', 'total', ...inject, ...legs, ...((spec.watch ?? []).length > 0 ? CONNECTION_PHASES : [])];
    },
    bars: (d) =>
      Object.keys(d.legs).length + Object.keys(d.waited ?? {}).length === 0
        ? undefined
        : {
            title: 'Legs (after the injection was accepted)',
            bars: [
              ...Object.entries(d.legs).map(([name, ms]) => ({ name, start: 0, ms })),
              // A hop whose marker never came: drawn open, up to where it stopped waiting.
              ...Object.entries(d.waited ?? {}).map(([name, ms]) => ({ name, start: 0, ms, unfinished: true })),
            ],
          },
    describe: (d) => {
      const legs = [...Object.entries(d.legs).map(([leg, v]) => `${leg} ${formatDuration(v)}`), ...Object.entries(d.waited ?? {}).map(([leg, v]) => `${leg} not seen in ${formatDuration(v)}`)];
      const total = d.totalMs === undefined ? 'no end-to-end time (not every hop was reached)' : `total ${ms(d.totalMs)} from the send`;
      return [
        `flow: legs ${legs.length ? legs.join(' · ') : '-'} (after the injection was accepted) · ${total} · ${d.polls} poll(s)${d.injected ? '' : ' · nothing injected'}`,
        ...(d.unfinished.length ? [`      unfinished: ${d.unfinished.join(', ')}`] : []),
        ...Object.entries(d.pages ?? {}).flatMap(([leg, p]) => [
          `      page ${leg}: loaded in ${ms(p.loadMs)} · ${p.consoleErrors.length + p.exceptions.length} console error(s) · ${p.failedRequests.length} failed request(s)${p.more ? ` (+${p.more} more)` : ''}${p.screenshot ? ' · screenshot kept' : ''}`,
          ...[...p.exceptions.map((e) => `exception: ${e}`), ...p.consoleErrors.map((e) => `console: ${e}`), ...p.failedRequests.map((e) => `request: ${e}`)].slice(0, 10).map((line) => `        ${line}`),
        ]),
      ];
    },
    declare: () => undefined,
    record: (probe, d, m) => {
      for (const [leg, v] of Object.entries(d.legs)) m.flowLeg.observe({ probe, leg }, v / 1000);
      if (d.totalMs !== undefined) m.flowTotal.observe({ probe }, d.totalMs / 1000);
    },
  };
