// The one place that picks a prober for a probe kind, and the guard that turns a prober's bug
// into an `internal` result instead of a crashed daemon.
import { performance } from 'node:perf_hooks';
import type { ProbeSpec } from '../config/schema.js';
import { shorten } from './checks.js';
import type { ProbeContext, ProberOutcome, ProbeResult } from './types.js';

// Probers are loaded on first use: a daemon with only HTTP probes never loads ws, jose or the
// SSE parser (each costs resident memory for as long as the process lives).
async function dispatch(spec: ProbeSpec, ctx: ProbeContext): Promise<ProberOutcome> {
  switch (spec.kind) {
    case 'http':
      return (await import('./http.js')).probeHttp(spec, ctx);
    case 'sse':
      return (await import('./sse.js')).probeSse(spec, ctx);
    case 'websocket':
      return (await import('./websocket.js')).probeWebSocket(spec, ctx);
    case 'flow':
      return (await import('./flow.js')).probeFlow(spec, ctx);
    default:
      return spec satisfies never;
  }
}

export interface RunMeta {
  slot: number;
  /** Epoch ms at the actual start. */
  startedAt: number;
}

export async function runProbe(spec: ProbeSpec, ctx: ProbeContext, meta: RunMeta): Promise<ProbeResult> {
  const t0 = performance.now();
  let outcome: ProberOutcome;
  try {
    outcome = await dispatch(spec, ctx);
  } catch (error) {
    // A prober must return failures, not throw them: this is a bug, reported as such.
    const message = ctx.redact(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    outcome = { failure: { code: 'internal', message: `prober error: ${message}` }, phases: {}, checks: [], detail: emptyDetail(spec) };
  }
  const base = {
    probe: spec.name,
    kind: spec.kind,
    runId: ctx.runId,
    slot: meta.slot,
    startedAt: meta.startedAt,
    durationMs: performance.now() - t0,
    phases: outcome.phases,
    // What a target answered can echo what we sent it: checks are scrubbed like messages.
    // Redacted first, shortened after: a cut can never leave part of a secret behind.
    checks: outcome.checks.map((c) => ({ ...c, expected: shorten(ctx.redact(c.expected)), observed: shorten(ctx.redact(c.observed)) })),
    detail: outcome.detail,
  };
  if (outcome.failure === undefined) return { ...base, ok: true };
  return { ...base, ok: false, failure: { code: outcome.failure.code, message: shorten(ctx.redact(outcome.failure.message), 1_000) } };
}

function emptyDetail(spec: ProbeSpec): ProberOutcome['detail'] {
  switch (spec.kind) {
    case 'http':
      return { kind: 'http', status: undefined, bytes: 0, redirects: 0 };
    case 'sse':
      return {
        kind: 'sse', status: undefined, events: 0, comments: 0, eventsPerMinute: 0, eventAgeMs: undefined, longestGapMs: undefined, gapsMs: [], sinceLastEventMs: undefined,
        missingIds: 0, duplicateIds: 0, reconnectMs: undefined, reconnects: 0, clients: spec.clients, clientsOk: 0,
        firstEventSpreadMs: undefined, deliverySpreadMs: undefined, sameEvents: undefined,
      };
    case 'websocket':
      return {
        kind: 'websocket', connections: spec.connections, connectionsOk: 0, failures: {}, handshakeMs: undefined, rttMs: undefined, rttSamplesMs: [],
        sent: 0, received: 0, outOfOrder: 0, missing: 0, duplicate: 0, subprotocol: undefined, closeCode: undefined,
      };
    case 'flow':
      return { kind: 'flow', legs: {}, totalMs: undefined, injected: false, unfinished: [], polls: 0 };
    default:
      return spec satisfies never;
  }
}

/** What a probe points at, for humans (status API, `flowprobe probe`). */
export function targetOf(spec: ProbeSpec): string {
  switch (spec.kind) {
    case 'http':
      return `${spec.method} ${spec.url}`;
    case 'sse':
      return `SSE ${spec.url}${spec.clients > 1 ? ` ×${spec.clients}` : ''}`;
    case 'websocket':
      return `WS ${spec.url}${spec.connections > 1 ? ` ×${spec.connections}` : ''}`;
    case 'flow':
      return `flow ${spec.steps.map((s) => ('inject' in s ? 'inject' : 'await' in s ? `→ ${s.await.on}` : `→ ${s.poll.name}`)).join(' ')}`;
    default:
      return spec satisfies never;
  }
}
