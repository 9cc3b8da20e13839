// Builds a receiver from its config: one switch over the four kinds.
import type { ReceiverConfig } from '../../config/schema.js';
import { alertmanagerReceiver } from './alertmanager.js';
import { emailReceiver } from './email.js';
import type { Receiver } from './receiver.js';
import { slackReceiver } from './slack.js';
import { webhookReceiver } from './webhook.js';

export function buildReceiver(config: ReceiverConfig, timeoutMs: number): Receiver {
  if (config.slack) return slackReceiver({ ...config, slack: config.slack });
  if (config.email) return emailReceiver({ ...config, email: config.email }, timeoutMs);
  if (config.alertmanager) return alertmanagerReceiver({ ...config, alertmanager: config.alertmanager });
  if (config.webhook) return webhookReceiver({ ...config, webhook: config.webhook });
  throw new Error(`receiver ${config.name} has no kind (the config schema should have refused it)`);
}
