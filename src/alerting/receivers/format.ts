// Words shared by every receiver: titles that sort and thread, ✅/❌ check lines, durations.
import type { Alert, Notification } from '../alert.js';

export function title(n: Notification): string {
  const firing = n.alerts.filter((a) => a.status === 'firing');
  const name = n.groupLabels.alertname ?? n.alerts[0]?.labels.alertname ?? 'alert';
  const subjects = [...new Set(n.alerts.map((a) => a.labels.probe ?? a.labels.process ?? a.labels.receiver).filter(Boolean))];
  const where = n.alerts[0]?.labels.location;
  const state = n.status === 'firing' ? `[FIRING:${firing.length}]` : '[RESOLVED]';
  return `${n.test ? '[TEST] ' : ''}${state} ${name} ${subjects.slice(0, 3).join(', ')}${subjects.length > 3 ? ` +${subjects.length - 3}` : ''}${where ? ` (${where})` : ''}`;
}

export function checkLines(alert: Alert): string[] {
  return alert.checks.map((c) => `${c.ok ? (c.degraded ? '⚠️' : '✅') : '❌'} ${c.name}: expected ${c.expected}, observed ${c.observed}`);
}

export function alertLine(alert: Alert): string {
  // A resolved probe alert's summary already says how long the outage lasted: said once.
  return `${alert.status === 'firing' ? '🔴' : '🟢'} ${alert.summary}`;
}

/** The status page of the notification's probe when it is about one, else the overview. */
export function linkFor(n: Notification): string | undefined {
  if (!n.externalUrl) return undefined;
  const probes = new Set(n.alerts.map((a) => a.labels.probe));
  const [probe] = probes;
  return `${n.externalUrl.replace(/\/$/, '')}/${probes.size === 1 && probe ? `probes/${encodeURIComponent(probe)}` : ''}`;
}

/** The page as a failing browser leg saw it, when the notification's alert kept one. */
export function screenshotFor(n: Notification): string | undefined {
  const path = n.alerts.find((a) => a.status === 'firing' && typeof a.evidence.screenshot === 'string')?.evidence.screenshot;
  return n.externalUrl && typeof path === 'string' ? `${n.externalUrl.replace(/\/$/, '')}/${path}` : undefined;
}

export const TEST_NOTE = 'This is a test notification from `flowprobe test-receiver`; nothing is wrong.';
