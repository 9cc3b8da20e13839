// Builds typed probe specs through the real schema, as a config file would.
import { probeSchema, type ProbeKind, type ProbeSpec } from '../src/config/schema.js';
import { createRedactor } from '../src/logging/redact.js';
import { deadlineReason } from '../src/probers/classify-error.js';
import { runProbe } from '../src/probers/run-probe.js';
import type { ProbeResult } from '../src/probers/types.js';

export function specOf<K extends ProbeKind>(kind: K, fields: Record<string, unknown>, timeoutMs: number): ProbeSpec<K> {
  const raw = probeSchema.parse({ name: `test-${kind}`, kind, ...fields });
  const { every: _every, cron: _cron, timezone: _timezone, timeout: _timeout, ...rest } = raw;
  return { ...rest, schedule: { type: 'every', everyMs: 60_000 }, timeoutMs, source: 'test' } as unknown as ProbeSpec<K>;
}

export const httpSpec = (fields: Record<string, unknown>, timeoutMs = 2000) => specOf('http', fields, timeoutMs);
export const sseSpec = (fields: Record<string, unknown>, timeoutMs = 2000) => specOf('sse', fields, timeoutMs);
export const wsSpec = (fields: Record<string, unknown>, timeoutMs = 3000) => specOf('websocket', fields, timeoutMs);
export const flowSpec = (fields: Record<string, unknown>, timeoutMs = 3000) => specOf('flow', fields, timeoutMs);

/** One run of a probe built from `fields`, with a deadline that aborts it as the scheduler's does
 * (its reason reads "the run's deadline of 2s passed"), and a fresh run id. */
export function runOnce<K extends ProbeKind>(kind: K, fields: Record<string, unknown>, timeoutMs: number): Promise<ProbeResult> {
  const now = Date.now();
  const deadline = new AbortController();
  setTimeout(() => deadline.abort(deadlineReason(timeoutMs)), timeoutMs).unref();
  return runProbe(specOf(kind, fields, timeoutMs), { signal: deadline.signal, runId: `${kind}-test-${Math.random().toString(36).slice(2)}`, redact: createRedactor([]) }, { slot: now, startedAt: now });
}

/** A run as a line: "ok", "degraded", or "code: headline". */
export const headlineOf = (r: ProbeResult): string => (r.ok ? r.verdict : `${r.failure.code}: ${r.failure.message}`);
