// Alerting config built through the real schema, as the daemon config would give it.
import { daemonConfigSchema, type AlertingConfig } from '../src/config/schema.js';

export function alertingConfig(fields: Record<string, unknown>): AlertingConfig {
  return daemonConfigSchema.parse({ alerting: fields }).alerting;
}
