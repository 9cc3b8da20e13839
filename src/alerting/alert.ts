// Alerts: what a transition means to a human. Each has labels (alertname, probe, kind, severity,
// location, the probe's own labels), a summary one can act on, the checks of the last run, and
// evidence. Identity is the fingerprint of its labels; state is firing or resolved.
import { createHash } from 'node:crypto';
import type { ResourceTransition } from '../detect/budget.js';
import type { Transition } from '../detect/probe-state.js';
import type { ALERT_NAMES } from '../config/schema.js';
import { formatDuration } from '../config/units.js';
import type { CheckResult } from '../probers/types.js';

export type AlertName = (typeof ALERT_NAMES)[number];

export interface Alert {
  fingerprint: string;
  labels: Record<string, string>;
  summary: string;
  /** ✅/❌ per check of the run that caused it (probe alerts). */
  checks: CheckResult[];
  evidence: Record<string, string | number>;
  status: 'firing' | 'resolved';
  startsAt: number;
  endsAt: number | undefined;
  /** Resolved: how long it lasted (ms): for a probe, the time it was actually failing. */
  durationMs: number | undefined;
  /** Firing, and its story changed since it began (a flap): the group tells it again. */
  changedAt?: number | undefined;
  /** Resolved along with the alert of these labels: a receiver that gets that one's all-clear
   * gets no second one for this (ProbeNotRecovered ends with its ProbeFailing). */
  coveredBy?: Record<string, string> | undefined;
}

/** A change to one alert: the engine merges it into its state. */
export interface AlertEvent {
  labels: Record<string, string>;
  status: 'firing' | 'resolved';
  at: number;
  summary: string;
  checks: CheckResult[];
  evidence: Record<string, string | number>;
  /** For resolved: when it started (the outage start) and ended (the first good run), and how
   * long it was failing in that span. */
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  /** Firing again while already firing, with something new to tell (a flap). */
  changed?: boolean;
  coveredBy?: Record<string, string>;
}

export interface ProbeInfo {
  kind: string;
  labels: Readonly<Record<string, string>>;
  /** The last result's checks, and its failure in words. */
  checks: CheckResult[];
  lastError: string | undefined;
  /** The path of the page as the last run's browser leg saw it, when it kept a screenshot. */
  screenshot?: string | undefined;
}

const DEFAULT_SEVERITY: Record<AlertName, string> = {
  ProbeFailing: 'critical',
  ProbeNotRecovered: 'critical',
  ProbeDegraded: 'warning',
  ResourceOverBudget: 'warning',
  ProcessGone: 'critical',
  FlowprobeReceiverFailing: 'critical',
  FlowprobeStateUnwritable: 'critical',
  FlowprobeStateLost: 'critical',
  FlowprobeProbeSideProblem: 'critical',
  FlowprobeTest: 'info',
};

export function fingerprint(labels: Record<string, string>): string {
  const canonical = Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join('\n');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function severityOf(name: AlertName, overrides: Readonly<Record<string, string>>, probeLabels: Readonly<Record<string, string>> = {}): string {
  return probeLabels.severity ?? overrides[name] ?? DEFAULT_SEVERITY[name];
}

/** The labels of a probe's alert: its own labels, then who and what it is. */
export function probeAlertLabels(name: AlertName, probe: string, info: Pick<ProbeInfo, 'kind' | 'labels'>, location: string, severity: Readonly<Record<string, string>>): Record<string, string> {
  return { ...info.labels, alertname: name, probe, kind: info.kind, severity: severityOf(name, severity, info.labels), location };
}

/** The alert events a probe transition causes (none for some, two for recovery). */
export function eventsFromTransition(t: Transition, probe: ProbeInfo, location: string, severity: Readonly<Record<string, string>>): AlertEvent[] {
  const labelsFor = (name: AlertName) => probeAlertLabels(name, t.probe, probe, location, severity);
  const base = { at: t.at, checks: probe.checks, evidence: probe.screenshot === undefined ? t.evidence : { ...t.evidence, screenshot: probe.screenshot } };
  const lastError = probe.lastError ?? String(t.evidence.last_error ?? '');
  switch (t.reason) {
    case 'consecutive-failures':
    case 'failure-ratio': {
      const why = t.reason === 'consecutive-failures' ? `${t.evidence.consecutive_failures} consecutive failures` : `${t.evidence.failed_in_window} of the last ${t.evidence.window} runs failed`;
      const o = t.outage;
      const flapping = t.evidence.flapping === 1 && o !== undefined;
      const summary = flapping
        ? `${t.probe} (${probe.kind}) is flapping: failing again ${formatDuration(Number(t.evidence.up_for_ms))} after it recovered (failing period ${o.periods}; failing ${formatDuration(o.durationMs)} of ${formatDuration(o.spanMs)} so far): ${lastError || 'no detail'} — ${why}`
        : `${t.probe} (${probe.kind}) is failing: ${lastError || 'no detail'} — ${why}`;
      return [
        { ...base, labels: labelsFor('ProbeFailing'), status: 'firing', summary, ...(o ? { startedAt: o.startedAt } : {}), ...(flapping ? { changed: true } : {}) },
        ...(t.from === 'degraded' ? [{ ...base, labels: labelsFor('ProbeDegraded'), status: 'resolved' as const, summary: `${t.probe} is no longer degraded (it is failing)` }] : []),
      ];
    }
    case 'recovered':
      // Up again; the incident settles through its flap window before anyone is told it is over.
      return [];
    case 'incident-closed': {
      const o = t.outage;
      const lasted = !o ? '' : o.periods > 1 ? ` after flapping: failing ${formatDuration(o.durationMs)} in ${o.periods} periods over ${formatDuration(o.spanMs)}` : ` after ${formatDuration(o.durationMs)}`;
      const span = o ? { startedAt: o.startedAt, durationMs: o.durationMs, ...(o.endedAt !== undefined ? { endedAt: o.endedAt } : {}) } : {};
      const summary = `${t.probe} (${probe.kind}) recovered${lasted}`;
      return [
        { ...base, labels: labelsFor('ProbeFailing'), status: 'resolved', summary, ...span },
        { ...base, labels: labelsFor('ProbeNotRecovered'), status: 'resolved', summary, ...span, coveredBy: labelsFor('ProbeFailing') },
      ];
    }
    case 'not-recovered-within':
      return [{ ...base, labels: labelsFor('ProbeNotRecovered'), status: 'firing', summary: `${t.probe} (${probe.kind}) has not recovered within ${formatDuration(Number(t.evidence.recover_within_ms))}: ${lastError || 'still failing'}` }];
    case 'slow':
      if (t.evidence.figure === 'verdict') {
        return [{ ...base, labels: labelsFor('ProbeDegraded'), status: 'firing', summary: `${t.probe} (${probe.kind}) is degraded: ${t.evidence.degradation} — runs degraded for ${formatDuration(Number(t.evidence.slow_for_ms))}` }];
      }
      return [{ ...base, labels: labelsFor('ProbeDegraded'), status: 'firing', summary: `${t.probe} (${probe.kind}) is degraded: ${t.evidence.figure} ${t.evidence.observed_ms}ms${t.evidence.baseline_ms !== undefined ? ` vs baseline ${t.evidence.baseline_ms}ms` : ''}${t.evidence.threshold_ms !== undefined ? ` (threshold ${t.evidence.threshold_ms}ms)` : ''} for ${formatDuration(Number(t.evidence.slow_for_ms))}` }];
    case 'fast-again':
      return [{ ...base, labels: labelsFor('ProbeDegraded'), status: 'resolved', summary: t.evidence.figure === 'verdict' ? `${t.probe} (${probe.kind}) runs within their limits again` : `${t.probe} (${probe.kind}) is fast again: ${t.evidence.figure} ${t.evidence.observed_ms}ms` }];
    default:
      return t.reason satisfies never;
  }
}

export function eventsFromResource(t: ResourceTransition, location: string, severity: Readonly<Record<string, string>>): AlertEvent[] {
  const labelsFor = (name: AlertName) => ({ alertname: name, process: t.process, severity: severityOf(name, severity), location });
  const base = { at: t.at, checks: [], evidence: t.evidence };
  switch (t.reason) {
    case 'over-budget':
      return [{ ...base, labels: labelsFor('ResourceOverBudget'), status: 'firing', summary: `${t.process} is over its resource budget: ${t.evidence.limits}` }];
    case 'within-budget':
      return [{ ...base, labels: labelsFor('ResourceOverBudget'), status: 'resolved', summary: `${t.process} is within its resource budget again` }];
    case 'gone':
      return [{ ...base, labels: labelsFor('ProcessGone'), status: 'firing', summary: `${t.process} is not running` }];
    case 'back':
      return [{ ...base, labels: labelsFor('ProcessGone'), status: 'resolved', summary: `${t.process} is running again` }];
    default:
      return t.reason satisfies never;
  }
}

/** What a receiver is asked to deliver: one group's alerts, firing and newly resolved. */
export interface Notification {
  id: string;
  receiver: string;
  groupKey: string;
  groupLabels: Record<string, string>;
  status: 'firing' | 'resolved';
  alerts: Alert[];
  externalUrl: string | undefined;
  createdAt: number;
  /** Sent by `flowprobe test-receiver`: clearly marked, never a page. */
  test: boolean;
}
