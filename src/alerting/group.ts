// Group and dedup: alerts for one receiver are grouped by labels (50 probes failing together
// send one message), and a group is notified only when something changed — a new firing alert,
// a resolved one that had been sent as firing — or, while still firing, once the repeat
// interval has elapsed, or when a firing alert's story changed (a flap). A resolved alert another
// one's all-clear covers for this receiver is dropped from the log without a message of its own. Pure: the engine supplies alerts, the log, and `now`.
import type { Alert } from './alert.js';
import type { NotificationLog } from './outbox.js';

export function groupLabelsOf(labels: Readonly<Record<string, string>>, by: readonly string[]): Record<string, string> {
  return Object.fromEntries(by.map((name) => [name, labels[name] ?? '']));
}

export function groupKeyOf(receiver: string, groupLabels: Readonly<Record<string, string>>): string {
  return `${receiver}:${JSON.stringify(groupLabels)}`;
}

export type Decision =
  | { send: true; reason: 'new-firing' | 'resolved' | 'alert-changed' | 'repeat-interval-elapsed'; firing: Alert[]; resolved: Alert[]; log: NotificationLog }
  | { send: false; reason: 'no-change' | 'nothing-to-send'; log: NotificationLog | undefined };

/**
 * @param alerts every alert routed to this group (firing or resolved)
 * @param judge.muted why an alert is muted now (maintenance, silence), or undefined
 * @param judge.covered whether a resolved alert's all-clear goes with another alert's
 */
export function decide(
  alerts: readonly Alert[],
  log: NotificationLog | undefined,
  now: number,
  repeatMs: number,
  judge: { muted: (alert: Alert) => string | undefined; covered?: (alert: Alert) => boolean },
): Decision {
  const { muted, covered = () => false } = judge;
  const sentFiring = new Set(log?.firing ?? []);
  const firing = alerts.filter((a) => a.status === 'firing' && !muted(a));
  // Muted while already notified: still firing as far as the log is concerned, not re-paged later.
  const mutedNotified = alerts.filter((a) => a.status === 'firing' && muted(a) && sentFiring.has(a.fingerprint));
  const resolved = alerts.filter((a) => a.status === 'resolved' && sentFiring.has(a.fingerprint) && !covered(a));
  const nextLog = { firing: [...firing, ...mutedNotified].map((a) => a.fingerprint), sentAt: now };
  if (firing.length === 0 && resolved.length === 0) {
    return { send: false, reason: 'nothing-to-send', log: log && { firing: mutedNotified.map((a) => a.fingerprint), sentAt: log.sentAt } };
  }
  if (resolved.length > 0) return { send: true, reason: 'resolved', firing, resolved, log: nextLog };
  if (firing.some((a) => !sentFiring.has(a.fingerprint))) return { send: true, reason: 'new-firing', firing, resolved, log: nextLog };
  if (log && firing.some((a) => a.changedAt !== undefined && a.changedAt > log.sentAt)) return { send: true, reason: 'alert-changed', firing, resolved, log: nextLog };
  if (log && now - log.sentAt >= repeatMs) return { send: true, reason: 'repeat-interval-elapsed', firing, resolved, log: nextLog };
  return { send: false, reason: 'no-change', log };
}
