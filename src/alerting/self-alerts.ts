// The daemon's own alerts — about flowprobe, not about a target: most probes failing at once
// (probably our side), the state directory unusable, a receiver that cannot deliver. Their names
// and the events that raise and resolve them live here, typed, so the engine, routing and
// inhibition compare against one definition instead of strings.
import { formatDuration } from '../config/units.js';
import type { AlertEvent } from './alert.js';
import { ProbeSideWatch, type ProbeSideVerdict } from '../detect/probe-side.js';

export const SELF_ALERT = {
  probeSide: 'FlowprobeProbeSideProblem',
  stateUnwritable: 'FlowprobeStateUnwritable',
  receiverFailing: 'FlowprobeReceiverFailing',
} as const;
export type SelfAlertName = (typeof SELF_ALERT)[keyof typeof SELF_ALERT];

export function isSelfAlert(labels: Readonly<Record<string, string>>, name: SelfAlertName): boolean {
  return labels.alertname === name;
}

interface Where {
  location: string;
  /** Severity overrides from the config (alerting.severity). */
  severity: Readonly<Record<string, string>>;
}

function labelsOf(name: SelfAlertName, where: Where, extra: Record<string, string> = {}): Record<string, string> {
  return { alertname: name, ...extra, severity: where.severity[name] ?? 'critical', location: where.location };
}

/** Raised or resolved as the share of failing probes crosses the probe-side rule. */
export function probeSideEvent(verdict: ProbeSideVerdict, where: Where, at: number): AlertEvent {
  const evidence = { failing: verdict.failing, total: verdict.total };
  const labels = labelsOf(SELF_ALERT.probeSide, where);
  return verdict.suspected
    ? { labels, status: 'firing', at, checks: [], evidence, summary: `${verdict.failing} of ${verdict.total} probes failing at once (${verdict.codes}): the problem is probably on flowprobe's side — its network, DNS or host at ${where.location}. Per-probe pages are held back while this lasts.` }
    : { labels, status: 'resolved', at, checks: [], evidence, summary: `most probes at ${where.location} work again (${verdict.failing} of ${verdict.total} failing)` };
}

export function stateUnwritableEvent(problem: string | undefined, where: Where, at: number): AlertEvent {
  const labels = labelsOf(SELF_ALERT.stateUnwritable, where);
  return problem === undefined
    ? { labels, status: 'resolved', at, summary: 'flowprobe writes its state directory again', checks: [], evidence: {} }
    : { labels, status: 'firing', at, summary: `flowprobe cannot use its state directory: ${problem}. Probing and alerting go on from memory; a restart now would forget outages and queued notifications.`, checks: [], evidence: {} };
}

export function receiverFailingEvent(
  receiver: string,
  failing: { sinceMs: number; reason: string; message: string; attempts: number } | undefined,
  where: Where,
  at: number,
): AlertEvent {
  const labels = labelsOf(SELF_ALERT.receiverFailing, where, { receiver });
  if (failing === undefined) return { labels, status: 'resolved', at, summary: `receiver ${receiver} delivers again`, checks: [], evidence: {} };
  return {
    labels,
    status: 'firing',
    at,
    summary: `receiver ${receiver} has failed to deliver for ${formatDuration(at - failing.sinceMs)}: ${failing.reason}: ${failing.message}`,
    checks: [],
    evidence: { reason: failing.reason, attempts: failing.attempts },
  };
}

export interface SelfAlertsOptions {
  where(): Where;
  now(): number;
  /** Raises or resolves a self alert through the engine, like any other alert. */
  raise(events: AlertEvent[]): void;
  /** Whether the probe-side alert was firing when the daemon started (from the outbox). */
  probeSideFiring: boolean;
}

/** The daemon's own alerts as state: each is raised once when its trouble starts and resolved
 * when it ends. Receiver-failing is the engine's own (it sees the deliveries). */
export class SelfAlerts {
  private readonly probeSide: ProbeSideWatch;
  private stateProblem: string | undefined;

  constructor(private readonly options: SelfAlertsOptions) {
    this.probeSide = new ProbeSideWatch(options.probeSideFiring);
  }

  /** Whether the state directory is unusable right now. */
  get stateTrouble(): boolean {
    return this.stateProblem !== undefined;
  }

  /** The probe-side event when suspicion starts or ends with these probe states (none
   * otherwise): it goes before the probes' own events, so their pages are held back. */
  probeSideEvents(probes: ReadonlyArray<{ failing: boolean; lastCode: string | undefined }>, rule: { ratio: number; minProbes: number } | false): AlertEvent[] {
    const verdict = this.probeSide.update(probes, rule);
    return verdict ? [probeSideEvent(verdict, this.options.where(), this.options.now())] : [];
  }

  /** The state directory cannot be written: one alert (from memory), no crash. True when this
   * starts the trouble. */
  stateFailing(problem: string): boolean {
    if (this.stateProblem !== undefined) return false;
    this.stateProblem = problem;
    this.options.raise([stateUnwritableEvent(problem, this.options.where(), this.options.now())]);
    return true;
  }

  /** A write went through: the alert resolves. True when this ends the trouble. */
  stateWritten(): boolean {
    if (this.stateProblem === undefined) return false;
    this.stateProblem = undefined;
    this.options.raise([stateUnwritableEvent(undefined, this.options.where(), this.options.now())]);
    return true;
  }
}
