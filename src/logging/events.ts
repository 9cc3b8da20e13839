// How the daemon's events read in its log: one line per probe result, per health or resource
// transition, per delivery attempt. Context as fields, the headline in words.
import type { Delivery } from '../alerting/receivers/receiver.js';
import type { Notification } from '../alerting/alert.js';
import type { ResourceTransition } from '../detect/budget.js';
import type { Transition } from '../detect/probe-state.js';
import type { ProbeResult } from '../probers/types.js';
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
  const fields = { probe: t.probe, from: t.from, to: t.to, reason: t.reason, evidence: t.evidence, ...(t.outage ? { outage_ms: Math.round(t.outage.durationMs) } : {}) };
  if (t.to === 'healthy') logger.info(fields, `probe ${t.probe} is healthy again (${t.reason})`);
  else logger.warn(fields, `probe ${t.probe} is ${t.reason === 'not-recovered-within' ? 'not recovered within its budget' : t.to} (${t.reason})`);
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
