// Builds a receiver from its config: one switch over the kinds.
import type { ReceiverConfig } from '../../config/schema.js';
import { alertmanagerReceiver } from './alertmanager.js';
import { emailReceiver } from './email.js';
import type { Receiver } from './receiver.js';
import { slackReceiver } from './slack.js';
import { webhookReceiver } from './webhook.js';
import { opsgenieReceiver } from './opsgenie.js';
import { pagerdutyReceiver } from './pagerduty.js';

export function buildReceiver(config: ReceiverConfig, timeoutMs: number): Receiver {
  switch (config.kind) {
    case 'slack':
      return slackReceiver(config);
    case 'email':
      return emailReceiver(config, timeoutMs);
    case 'alertmanager':
      return alertmanagerReceiver(config);
    case 'webhook':
      return webhookReceiver(config);
    case 'pagerduty':
      return pagerdutyReceiver(config);
    case 'opsgenie':
      return opsgenieReceiver(config);
    default:
      return config satisfies never;
  }
}
