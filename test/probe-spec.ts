// Builds typed probe specs through the real schema, as a config file would.
import { probeSchema, type ProbeKind, type ProbeSpec } from '../src/config/schema.js';

export function specOf<K extends ProbeKind>(kind: K, fields: Record<string, unknown>, timeoutMs: number): ProbeSpec<K> {
  const raw = probeSchema.parse({ name: `test-${kind}`, kind, ...fields });
  const { every: _every, cron: _cron, timezone: _timezone, timeout: _timeout, ...rest } = raw;
  return { ...rest, schedule: { type: 'every', everyMs: 60_000 }, timeoutMs, source: 'test' } as unknown as ProbeSpec<K>;
}

export const httpSpec = (fields: Record<string, unknown>, timeoutMs = 2000) => specOf('http', fields, timeoutMs);
export const sseSpec = (fields: Record<string, unknown>, timeoutMs = 2000) => specOf('sse', fields, timeoutMs);
export const wsSpec = (fields: Record<string, unknown>, timeoutMs = 3000) => specOf('websocket', fields, timeoutMs);
export const flowSpec = (fields: Record<string, unknown>, timeoutMs = 3000) => specOf('flow', fields, timeoutMs);
