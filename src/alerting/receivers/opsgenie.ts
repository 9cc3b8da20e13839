// Opsgenie Alert API v2: a firing alert creates an Opsgenie alert under an alias (one per
// incident: the alert's fingerprint and the moment it started), its all-clear closes it by that
// alias. Opsgenie deduplicates creates by alias, so a flap updates the same alert. 202 is
// accepted; 429 and 5xx retry; other 4xx (a bad key) do not.
import type { ReceiverConfig } from '../../config/schema.js';
import type { Alert, Notification } from '../alert.js';
import { checkLines, linkFor, TEST_NOTE } from './format.js';
import { postJson, type Delivery, type Receiver } from './receiver.js';

/** Our severities as Opsgenie priorities. */
const PRIORITY: Record<string, string> = { critical: 'P1', error: 'P2', warning: 'P3', info: 'P5' };

export function opsgenieReceiver(config: Extract<ReceiverConfig, { kind: 'opsgenie' }>): Receiver {
  const { apiKey, url } = config.opsgenie;
  const base = `${url.replace(/\/$/, '')}/v2/alerts`;
  const headers = { authorization: `GenieKey ${apiKey}` };
  return {
    name: config.name,
    kind: 'opsgenie',
    async send(n, signal) {
      for (const request of opsgenieRequests(n, base)) {
        const delivery = await postJson(request.url, JSON.stringify(request.body), headers, signal);
        // Closing what Opsgenie no longer has (closed by hand, or expired) is done already.
        if (!delivery.ok && !(request.close && delivery.reason === 'http_4xx' && delivery.message.startsWith('404'))) return delivery;
      }
      return { ok: true } satisfies Delivery;
    },
  };
}

export function opsgenieAlias(alert: Pick<Alert, 'fingerprint' | 'startsAt'>): string {
  return `flowprobe-${alert.fingerprint}-${Math.round(alert.startsAt)}`;
}

export function opsgenieRequests(n: Notification, base: string): Array<{ url: string; body: Record<string, unknown>; close: boolean }> {
  const link = linkFor(n);
  return n.alerts.map((a) => {
    const alias = opsgenieAlias(a);
    if (a.status === 'resolved') {
      return { url: `${base}/${encodeURIComponent(alias)}/close?identifierType=alias`, body: { source: 'flowprobe', note: a.summary.slice(0, 25_000) }, close: true };
    }
    const subject = a.labels.probe ?? a.labels.process ?? a.labels.receiver ?? 'flowprobe';
    const description = [n.test ? TEST_NOTE : '', a.summary, ...checkLines(a), link ? `Status page: ${link}` : ''].filter(Boolean).join('\n');
    return {
      url: base,
      close: false,
      body: {
        message: `${n.test ? '[TEST] ' : ''}${a.summary}`.slice(0, 130),
        alias,
        description: description.slice(0, 15_000),
        entity: subject,
        source: `flowprobe${a.labels.location ? `@${a.labels.location}` : ''}`,
        priority: n.test ? 'P5' : (PRIORITY[a.labels.severity ?? ''] ?? 'P3'),
        tags: [a.labels.alertname, a.labels.kind, a.labels.location].filter((t): t is string => Boolean(t)),
        details: Object.fromEntries(Object.entries(a.labels).map(([k, v]) => [k, v.slice(0, 8_000)])),
      },
    };
  });
}
