// Webhook: the notification as JSON to any URL, optionally signed with HMAC-SHA256 over
// "<timestamp>.<body>" (X-Flowprobe-Timestamp, X-Flowprobe-Signature: sha256=<hex>).
import { createHmac } from 'node:crypto';
import type { ReceiverConfig } from '../../config/schema.js';
import type { Notification } from '../alert.js';
import { postJson, type Receiver } from './receiver.js';

export function webhookReceiver(config: Extract<ReceiverConfig, { kind: 'webhook' }>): Receiver {
  const { url, headers, hmacSecret } = config.webhook;
  return {
    name: config.name,
    kind: 'webhook',
    send(n, signal) {
      const body = JSON.stringify(webhookBody(n));
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signed: Record<string, string> = hmacSecret ? { 'x-flowprobe-timestamp': timestamp, 'x-flowprobe-signature': `sha256=${createHmac('sha256', hmacSecret).update(`${timestamp}.${body}`).digest('hex')}` } : {};
      return postJson(url, body, { ...headers, ...signed }, signal);
    },
  };
}

export function webhookBody(n: Notification): Record<string, unknown> {
  return {
    version: '1',
    /** Stable across redeliveries: a receiver can drop a notification it has already seen. */
    id: n.id,
    status: n.status,
    test: n.test,
    groupKey: n.groupKey,
    groupLabels: n.groupLabels,
    externalUrl: n.externalUrl,
    alerts: n.alerts.map((a) => ({
      status: a.status,
      fingerprint: a.fingerprint,
      labels: a.labels,
      summary: a.summary,
      checks: a.checks,
      evidence: a.evidence,
      startsAt: new Date(a.startsAt).toISOString(),
      endsAt: a.endsAt === undefined ? undefined : new Date(a.endsAt).toISOString(),
      durationMs: a.durationMs,
    })),
  };
}
