// Slack incoming webhook: Block Kit in a coloured attachment, ✅/❌ per check.
import type { ReceiverConfig } from '../../config/schema.js';
import type { Notification } from '../alert.js';
import { alertLine, checkLines, linkFor, screenshotFor, TEST_NOTE, title } from './format.js';
import { postJson, type Receiver } from './receiver.js';

const COLOURS: Record<string, string> = { critical: '#d92d20', warning: '#f79009', info: '#2e90fa' };

export function slackReceiver(config: Extract<ReceiverConfig, { kind: 'slack' }>): Receiver {
  return {
    name: config.name,
    kind: 'slack',
    send: (n, signal) => postJson(config.slack.webhookUrl, JSON.stringify(slackMessage(n, config.slack.channel)), {}, signal),
  };
}

export function slackMessage(n: Notification, channel: string | undefined): Record<string, unknown> {
  const severity = n.alerts[0]?.labels.severity ?? 'warning';
  const colour = n.status === 'resolved' ? '#12b76a' : (COLOURS[severity] ?? COLOURS.warning);
  const blocks: unknown[] = [{ type: 'header', text: { type: 'plain_text', text: title(n).slice(0, 150), emoji: true } }];
  if (n.test) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: TEST_NOTE } });
  for (const alert of n.alerts.slice(0, 20)) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(alertLine(alert), 3000) } });
    const checks = checkLines(alert);
    if (checks.length && alert.status === 'firing') blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(checks.join('\n'), 3000) } });
  }
  if (n.alerts.length > 20) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${n.alerts.length - 20} more` }] });
  const link = linkFor(n);
  const shot = screenshotFor(n);
  const labels = n.alerts[0]?.labels ?? {};
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: [`severity *${severity}*`, labels.location ? `location *${labels.location}*` : '', link ? `<${link}|status page>` : '', shot ? `<${shot}|the page when it failed>` : ''].filter(Boolean).join(' · ') }] });
  return { ...(channel ? { channel } : {}), text: title(n), attachments: [{ color: colour, blocks }] };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
