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
  stateLost: 'FlowprobeStateLost',
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

/** Saved state that could not be read at start: it stays firing for STATE_LOST_FIRING_MS, long
 * enough to be delivered and read, and lists what was lost. */
export const STATE_LOST_FIRING_MS = 3_600_000;

export function stateLostEvent(lost: readonly string[] | undefined, problems: readonly string[], where: Where, at: number): AlertEvent {
  const labels = labelsOf(SELF_ALERT.stateLost, where);
  if (lost === undefined) return { labels, status: 'resolved', at, summary: 'the state that could not be read at start is an hour behind us', checks: [], evidence: {} };
  const shown = lost.slice(0, 20).join('; ');
  return {
    labels,
    status: 'firing',
    at,
    summary: `flowprobe could not read all of its saved state at start; lost: ${shown}${lost.length > 20 ? `; +${lost.length - 20} more` : ''}. Outages, queued notifications or silences in it are forgotten: check what on-call was told. ${problems.join(' ')}`,
    checks: [],
    evidence: { lost: lost.length },
  };
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
  setTimer(delayMs: number, fn: () => void): { cancel(): void };
  /** Raises or resolves a self alert through the engine, like any other alert. */
  raise(events: AlertEvent[]): void;
  /** Whether the probe-side alert was firing when the daemon started (from the outbox). */
  probeSideFiring: boolean;
  /** Since when a state-lost alert of an earlier start is firing (from the outbox), if one is. */
  stateLostSince: number | undefined;
}

/** The daemon's own alerts as state: each is raised once when its trouble starts and resolved
 * when it ends. Receiver-failing is the engine's own (it sees the deliveries). */
export class SelfAlerts {
  private readonly probeSide: ProbeSideWatch;
  private stateProblem: string | undefined;
  private stateLostTimer: { cancel(): void } | undefined;

  constructor(private readonly options: SelfAlertsOptions) {
    this.probeSide = new ProbeSideWatch(options.probeSideFiring);
    // Raised before a restart: it still ends an hour after it began.
    if (options.stateLostSince !== undefined) this.endStateLostAt(options.stateLostSince + STATE_LOST_FIRING_MS);
  }

  /** Saved state that could not be read at start: one alert listing what was lost, firing for
   * an hour (a problem that fixes itself in a second must still reach someone). */
  stateLost(problems: ReadonlyArray<{ problem: string; lost: string[] }>): void {
    if (problems.length === 0) return;
    const now = this.options.now();
    this.options.raise([stateLostEvent(problems.flatMap((p) => p.lost), problems.map((p) => p.problem), this.options.where(), now)]);
    this.endStateLostAt(now + STATE_LOST_FIRING_MS);
  }

  private endStateLostAt(at: number): void {
    this.stateLostTimer?.cancel();
    this.stateLostTimer = this.options.setTimer(Math.max(0, at - this.options.now()), () => {
      this.stateLostTimer = undefined;
      this.options.raise([stateLostEvent(undefined, [], this.options.where(), this.options.now())]);
    });
  }

  stop(): void {
    this.stateLostTimer?.cancel();
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
