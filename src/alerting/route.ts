// Route: which receivers an alert goes to. Routes are tried in order; the first that matches
// takes the alert unless it says `continue`. No match: the default receivers.
import type { AlertingConfig } from '../config/schema.js';
import { isSelfAlert, SELF_ALERT } from './self-alerts.js';

export function route(labels: Readonly<Record<string, string>>, config: AlertingConfig): string[] {
  const chosen: string[] = [];
  let matched = false;
  for (const r of config.routes) {
    if (!r.match.matches(labels)) continue;
    matched = true;
    chosen.push(...r.receivers);
    if (!r.continue) break;
  }
  const receivers = matched ? chosen : (config.defaultReceivers ?? config.receivers.map((r) => r.name));
  // A receiver's own failure is reported through the others, never through itself.
  return [...new Set(receivers)].filter((name) => name !== labels.receiver || !isSelfAlert(labels, SELF_ALERT.receiverFailing));
}
