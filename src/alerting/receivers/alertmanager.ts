// Alertmanager v2 API: the path for several daemons (one per location) whose alerts an
// Alertmanager cluster deduplicates. Resolved alerts carry endsAt.
import type { ReceiverConfig } from '../../config/schema.js';
import type { Notification } from '../alert.js';
import { linkFor } from './format.js';
import { postJson, type Receiver } from './receiver.js';

export function alertmanagerReceiver(config: Extract<ReceiverConfig, { kind: 'alertmanager' }>): Receiver {
  const url = `${config.alertmanager.url.replace(/\/$/, '')}/api/v2/alerts`;
  return { name: config.name, kind: 'alertmanager', send: (n, signal) => postJson(url, JSON.stringify(alertmanagerAlerts(n)), {}, signal) };
}

export function alertmanagerAlerts(n: Notification): unknown[] {
  const link = linkFor(n);
  return n.alerts.map((a) => ({
    labels: a.labels,
    annotations: {
      summary: a.summary,
      ...(a.checks.length ? { checks: a.checks.map((c) => `${c.ok ? 'ok' : 'FAILED'} ${c.name}: expected ${c.expected}, observed ${c.observed}`).join('\n') } : {}),
      ...(a.durationMs !== undefined ? { duration_seconds: String(Math.round(a.durationMs / 1000)) } : {}),
    },
    startsAt: new Date(a.startsAt).toISOString(),
    ...(a.status === 'resolved' && a.endsAt !== undefined ? { endsAt: new Date(a.endsAt).toISOString() } : {}),
    ...(link ? { generatorURL: link } : {}),
  }));
}
