// Builds typed probe specs through the real schema, as a config file would.
import { probeSchema, type HttpProbeSpec, type SseProbeSpec, type WebSocketProbeSpec, type FlowProbeSpec } from '../src/config/schema.js';

export function httpSpec(fields: Record<string, unknown>, timeoutMs = 2000): HttpProbeSpec {
  const raw = probeSchema.parse({ name: 'test', kind: 'http', ...fields });
  if (raw.kind !== 'http') throw new Error('not http');
  const { every: _every, cron: _cron, timezone: _timezone, timeout: _timeout, ...rest } = raw;
  return { ...rest, schedule: { type: 'every', everyMs: 60_000 }, timeoutMs, source: 'test' };
}

export function sseSpec(fields: Record<string, unknown>, timeoutMs = 2000): SseProbeSpec {
  const raw = probeSchema.parse({ name: 'test-sse', kind: 'sse', ...fields });
  if (raw.kind !== 'sse') throw new Error('not sse');
  const { every: _every, cron: _cron, timezone: _timezone, timeout: _timeout, ...rest } = raw;
  return { ...rest, schedule: { type: 'every', everyMs: 60_000 }, timeoutMs, source: 'test' };
}

export function wsSpec(fields: Record<string, unknown>, timeoutMs = 3000): WebSocketProbeSpec {
  const raw = probeSchema.parse({ name: 'test-ws', kind: 'websocket', ...fields });
  if (raw.kind !== 'websocket') throw new Error('not websocket');
  const { every: _every, cron: _cron, timezone: _timezone, timeout: _timeout, ...rest } = raw;
  return { ...rest, schedule: { type: 'every', everyMs: 60_000 }, timeoutMs, source: 'test' };
}

export function flowSpec(fields: Record<string, unknown>, timeoutMs = 3000): FlowProbeSpec {
  const raw = probeSchema.parse({ name: 'test-flow', kind: 'flow', ...fields });
  if (raw.kind !== 'flow') throw new Error('not flow');
  const { every: _every, cron: _cron, timezone: _timezone, timeout: _timeout, ...rest } = raw;
  return { ...rest, schedule: { type: 'every', everyMs: 60_000 }, timeoutMs, source: 'test' };
}
