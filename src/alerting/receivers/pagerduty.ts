// PagerDuty Events API v2: each alert of a notification is one event. A firing alert triggers,
// its all-clear resolves, both under one dedup_key per incident (the alert's fingerprint and the
// moment it started), so a flap updates the same PagerDuty incident and a new fault opens a new
// one. 202 is accepted; 429 and 5xx retry; 400 (a bad routing key or payload) does not.
import type { ReceiverConfig } from '../../config/schema.js';
import type { Alert, Notification } from '../alert.js';
import { checkLines, linkFor, TEST_NOTE } from './format.js';
import { postJson, type Delivery, type Receiver } from './receiver.js';

/** PagerDuty's four severities; ours map onto them, anything else is an error. */
const SEVERITY: Record<string, string> = { critical: 'critical', error: 'error', warning: 'warning', info: 'info' };

export function pagerdutyReceiver(config: Extract<ReceiverConfig, { kind: 'pagerduty' }>): Receiver {
  const { routingKey, url } = config.pagerduty;
  return {
    name: config.name,
    kind: 'pagerduty',
    async send(n, signal) {
      // One event per alert, in order; the first failure is the delivery's (a retry sends them
      // all again: triggers and resolves under the same dedup_key are idempotent).
      for (const event of pagerdutyEvents(n, routingKey)) {
        const delivery = await postJson(url, JSON.stringify(event), {}, signal);
        if (!delivery.ok) return delivery;
      }
      return { ok: true } satisfies Delivery;
    },
  };
}

/** The incident's key: the same for every notification about it, new for the next one. */
export function dedupKey(alert: Pick<Alert, 'fingerprint' | 'startsAt'>): string {
  return `flowprobe-${alert.fingerprint}-${Math.round(alert.startsAt)}`;
}

export function pagerdutyEvents(n: Notification, routingKey: string): Array<Record<string, unknown>> {
  const link = linkFor(n);
  return n.alerts.map((a) => {
    if (a.status === 'resolved') return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey(a) };
    const subject = a.labels.probe ?? a.labels.process ?? a.labels.receiver ?? 'flowprobe';
    return {
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key: dedupKey(a),
      payload: {
        summary: `${n.test ? '[TEST] ' : ''}${a.summary}`.slice(0, 1024),
        source: `flowprobe${a.labels.location ? `@${a.labels.location}` : ''}`,
        severity: n.test ? 'info' : (SEVERITY[a.labels.severity ?? ''] ?? 'error'),
        timestamp: new Date(a.startsAt).toISOString(),
        component: subject,
        group: a.labels.kind,
        class: a.labels.alertname,
        custom_details: { labels: a.labels, checks: checkLines(a), evidence: a.evidence, ...(n.test ? { note: TEST_NOTE } : {}) },
      },
      client: 'flowprobe',
      ...(link ? { client_url: link, links: [{ href: link, text: 'status page' }] } : {}),
    };
  });
}
