// How the daemon's events read in its log: one line per probe result, per health or resource
// transition, per delivery attempt. Context as fields, the headline in words.
import type { Delivery } from '../alerting/receivers/receiver.js';
import type { Notification } from '../alerting/alert.js';
import type { ResourceTransition } from '../detect/budget.js';
import type { Transition } from '../detect/probe-state.js';
import type { ProbeResult } from '../probers/types.js';
import { formatDuration } from '../config/units.js';
import type { Logger } from './logger.js';

/** Debug when ok (a line per good run is noise nobody reads, and a tenth of a probe's CPU), info
 * when degraded (with what was over its limit), warn with the failure when failed. */
export function logResult(logger: Logger, result: ProbeResult): void {
  if (result.verdict === 'ok' && !logger.isLevelEnabled('debug')) return;
  const fields = {
    probe: result.probe,
    kind: result.kind,
    run: result.runId,
    ok: result.ok,
    verdict: result.verdict,
    duration_ms: round(result.durationMs),
    phases: Object.fromEntries(Object.entries(result.phases).map(([k, v]) => [k, round(v)])),
    failed_checks: result.checks.filter((c) => !c.ok).map((c) => `${c.name}: expected ${c.expected}, observed ${c.observed}`),
  };
  if (result.verdict === 'ok') logger.debug(fields, 'probe ok');
  else if (result.verdict === 'degraded') logger.info({ ...fields, degradation: result.degradation }, `probe degraded: ${result.degradation}`);
  else logger.warn({ ...fields, failure: result.failure }, `probe failed: ${result.failure.code}`);
}

export function logTransition(logger: Logger, t: Transition): void {
  const o = t.outage;
  const fields = { probe: t.probe, from: t.from, to: t.to, reason: t.reason, evidence: t.evidence, ...(o ? { outage_ms: Math.round(o.durationMs), outage_span_ms: Math.round(o.spanMs), failing_periods: o.periods } : {}) };
  switch (t.reason) {
    case 'incident-closed':
      return logger.info(fields, `incident of ${t.probe} closed: failing ${formatDuration(o?.durationMs ?? 0)}${o && o.periods > 1 ? ` in ${o.periods} periods over ${formatDuration(o.spanMs)}` : ''}`);
    case 'recovered':
      return logger.info(fields, `probe ${t.probe} is up again (recovered); its incident closes after the flap window`);
    case 'fast-again':
      return logger.info(fields, `probe ${t.probe} is healthy again (fast-again)`);
    case 'not-recovered-within':
      return logger.warn(fields, `probe ${t.probe} is not recovered within its budget (not-recovered-within)`);
    case 'consecutive-failures':
    case 'failure-ratio':
      return logger.warn(fields, `probe ${t.probe} is ${t.evidence.flapping === 1 ? 'flapping: failing again' : 'failing'} (${t.reason})`);
    case 'slow':
      return logger.warn(fields, `probe ${t.probe} is degraded (slow)`);
    default:
      return t.reason satisfies never;
  }
}

export function logResourceTransition(logger: Logger, t: ResourceTransition): void {
  const fields = { process: t.process, from: t.from, to: t.to, reason: t.reason, evidence: t.evidence };
  if (t.to === 'ok') logger.info(fields, `process ${t.process} is ${t.reason === 'back' ? 'back' : 'within budget again'}`);
  else logger.warn(fields, `process ${t.process} is ${t.to}`);
}

export function logDelivery(logger: Logger, receiver: string, notification: Notification, delivery: Delivery, attempts: number): void {
  const fields = { receiver, notification: notification.id, status: notification.status, alerts: notification.alerts.length, attempts, test: notification.test };
  if (delivery.ok) logger.info(fields, `notification delivered to ${receiver}`);
  else if (delivery.retry) logger.warn({ ...fields, reason: delivery.reason, error: delivery.message }, `notification to ${receiver} failed, will retry`);
  else logger.error({ ...fields, reason: delivery.reason, error: delivery.message }, `notification to ${receiver} rejected, not retried`);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
