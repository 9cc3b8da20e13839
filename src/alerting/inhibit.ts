// Inhibition: while flowprobe suspects the problem is on its own side (its network or DNS cut,
// most probes failing at once), per-probe alerts from that location are held back: on-call
// gets one "probe-side problem" page, not one per probe.
import type { Alert } from './alert.js';
import { isSelfAlert, SELF_ALERT } from './self-alerts.js';

const PER_PROBE = new Set(['ProbeFailing', 'ProbeNotRecovered', 'ProbeDegraded']);

export function inhibitedBy(alert: Alert, alerts: readonly Alert[]): string | undefined {
  if (!PER_PROBE.has(alert.labels.alertname ?? '')) return undefined;
  const source = alerts.find((a) => a.status === 'firing' && isSelfAlert(a.labels, SELF_ALERT.probeSide) && a.labels.location === alert.labels.location);
  return source ? 'probe-side problem suspected' : undefined;
}
