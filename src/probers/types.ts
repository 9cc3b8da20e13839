// What every prober returns. A failing target is a result with a small, stable failure code
// (safe as a metric label); an exception out of a prober is a bug.
import type { ProbeKind } from '../config/schema.js';
import type { Spread } from './stats.js';

export const FAILURE_CODES = [
  'timeout',
  'dns',
  'connect',
  'tls',
  'http_status',
  'protocol',
  'auth',
  'assertion',
  'stale',
  'closed',
  'handshake',
  'inconclusive',
  'internal',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export interface Failure {
  code: FailureCode;
  message: string;
}

/** One expectation, evaluated: kept pass or fail so an alert can show ✅/❌ for each. */
export interface CheckResult {
  name: string;
  ok: boolean;
  expected: string;
  observed: string;
}

/** Phase durations in milliseconds, in the order they happened. */
export type Phases = Partial<Record<PhaseName, number>>;
export type PhaseName = 'dns' | 'connect' | 'tls' | 'first_byte' | 'download' | 'first_event';
export const PHASE_NAMES: readonly PhaseName[] = ['dns', 'connect', 'tls', 'first_byte', 'download', 'first_event'];

export interface HttpDetail {
  kind: 'http';
  status: number | undefined;
  bytes: number;
  redirects: number;
}

export interface SseDetail {
  kind: 'sse';
  status: number | undefined;
  /** Events (not comments) received by the first client. */
  events: number;
  /** Comment lines (": heartbeat"), counted apart: they never count as events. */
  comments: number;
  eventsPerMinute: number;
  /** With eventTime: age of events on arrival (now − the time the event says it was sent), all clients. */
  eventAgeMs: Spread | undefined;
  /** Longest silence between events (from headers to the first event, then between events). */
  longestGapMs: number | undefined;
  /** Every gap between consecutive events, for the gap histogram. */
  gapsMs: number[];
  sinceLastEventMs: number | undefined;
  missingIds: number;
  duplicateIds: number;
  /** With resume: from dropping the connection to the resumed stream's headers. */
  reconnectMs: number | undefined;
  reconnects: number;
  clients: number;
  /** Fan-out: clients that completed the window without a failure. */
  clientsOk: number;
  /** Fan-out: spread of first-event latency across clients, and the worst spread in delivery
   * of one event to all of them. */
  firstEventSpreadMs: number | undefined;
  deliverySpreadMs: number | undefined;
  sameEvents: boolean | undefined;
}

export interface WebSocketDetail {
  kind: 'websocket';
  connections: number;
  connectionsOk: number;
  /** Failed connections by failure code. */
  failures: Partial<Record<FailureCode, number>>;
  handshakeMs: Spread | undefined;
  rttMs: Spread | undefined;
  /** Every RTT sample of the run, for the histogram. */
  rttSamplesMs: number[];
  sent: number;
  received: number;
  outOfOrder: number;
  missing: number;
  duplicate: number;
  subprotocol: string | undefined;
  /** The close code the (first) connection ended with. */
  closeCode: number | undefined;
}

export interface FlowDetail {
  kind: 'flow';
  /** Milliseconds from the start of the (first) injection to the marker at each leg. */
  legs: Record<string, number>;
  /** From the first injection to the last leg. */
  totalMs: number | undefined;
  injected: boolean;
  /** Steps that had not finished when the run ended (deadline or failure). */
  unfinished: string[];
  polls: number;
}

export type ProbeDetail = HttpDetail | SseDetail | WebSocketDetail | FlowDetail;

interface ResultBase {
  probe: string;
  kind: ProbeKind;
  runId: string;
  /** The slot the scheduler meant this run for (epoch ms). */
  slot: number;
  startedAt: number;
  durationMs: number;
  phases: Phases;
  checks: CheckResult[];
  detail: ProbeDetail;
}

export type ProbeResult = (ResultBase & { ok: true }) | (ResultBase & { ok: false; failure: Failure });

/** What a prober gets besides its spec. It never sees metrics, the scheduler or alerting. */
export interface ProbeContext {
  /** Fires on shutdown or at the probe's deadline; every request and read must honour it. */
  signal: AbortSignal;
  runId: string;
  /** Secret values to scrub from any message the prober builds from a target's answer. */
  redact: (text: string) => string;
}


/** What a prober measured; run-probe stamps it with probe, slot and timing. */
export interface ProberOutcome {
  failure: Failure | undefined;
  phases: Phases;
  checks: CheckResult[];
  detail: ProbeDetail;
}
