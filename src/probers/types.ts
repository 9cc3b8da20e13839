// What every prober returns. A failing target is a result with a small, stable failure code
// (safe as a metric label); an exception out of a prober is a bug.
import type { PhaseName } from '../config/probe-fields.js';
import type { ProbeKind } from '../config/schema.js';
import type { Details } from './kinds.js';
import type { TlsReport } from './tls-report.js';
import type { Remote } from './connect.js';
import type { PingRecord } from './heartbeat/book.js';
import type { Chromium } from './chromium.js';

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
  'missed',
  'closed',
  'handshake',
  'browser',
  'inconclusive',
  'internal',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export interface Failure {
  code: FailureCode;
  message: string;
}

/** One expectation, evaluated: kept pass, degraded or fail so a human sees ✅/⚠️/❌ for each. */
export interface CheckResult {
  /** The failure code when this check fails first, set where the check is built (a status
   * check is `http_status`, a certificate `tls`); `assertion` when unset. */
  code?: FailureCode;
  /** The failure's headline when this check fails first, if it says it better than
   * "name: expected …, observed …" (a JSON value beside its limit). */
  headline?: string;
  name: string;
  /** Within its fail limit. */
  ok: boolean;
  /** Within its fail limit but over its degrade limit (`degradeWhen`). */
  degraded?: boolean;
  expected: string;
  observed: string;
}

/** How a run ended: ok; degraded (it worked, slower or sloppier than its degrade limits); failed. */
export type Verdict = 'ok' | 'degraded' | 'failed';

/** Phase durations in milliseconds, in the order they happened. */
export type Phases = Partial<Record<PhaseName, number>>;
export { PHASE_NAMES, type PhaseName } from '../config/probe-fields.js';
/** The phase figures of any kind that opens a connection. */
export const CONNECTION_PHASES = ['phase.dns', 'phase.connect', 'phase.tls', 'phase.first_byte'];

/** A run's kind-specific detail: one of the kinds' (each kind.ts enters its own in Details). */
export type ProbeDetail = Details[keyof Details];

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
  /** The server's certificates, when the run spoke TLS. */
  tls?: TlsReport | undefined;
  /** The address the run connected to, and its IP family. */
  remote?: Remote | undefined;
  /** With ipFamily: both, each family's run: its verdict and headline. */
  families?: FamilyRun[] | undefined;
}

export interface FamilyRun {
  family: 'IPv4' | 'IPv6';
  verdict: 'ok' | 'degraded' | 'failed';
  headline: string | undefined;
  address: string | undefined;
}

export type ProbeResult =
  | (ResultBase & { ok: true; verdict: 'ok' })
  /** `degradation` says, in words, the figure over its degrade limit. */
  | (ResultBase & { ok: true; verdict: 'degraded'; degradation: string })
  | (ResultBase & { ok: false; verdict: 'failed'; failure: Failure });

/** What a prober gets besides its spec. It never sees metrics, the scheduler or alerting. */
export interface ProbeContext {
  /** Fires on shutdown or at the probe's deadline; every request and read must honour it. */
  signal: AbortSignal;
  runId: string;
  /** Secret values to scrub from any message the prober builds from a target's answer. */
  redact: (text: string) => string;
  /** The pings a heartbeat probe was sent (the daemon's book); absent outside the daemon. */
  pings?: (probe: string) => PingRecord | undefined;
  /** The daemon's clock (epoch ms), for a prober that judges times the daemon recorded
   * (heartbeats); Date.now outside the daemon. */
  now?: () => number;
  /** The shared headless Chromium (browser steps and probes); absent where none may start. */
  browser?: () => Chromium;
  /** Keeps a failed or degraded browser leg's screenshot (one per probe, the newest). */
  screenshot?: (shot: Screenshot) => void;
}

/** A page as a browser leg saw it when it failed or was degraded. */
export interface Screenshot {
  probe: string;
  runId: string;
  leg: string;
  at: number;
  jpeg: Buffer;
}

/** What a prober measured; run-probe stamps it with probe, slot and timing. */
export interface ProberOutcome {
  failure: Failure | undefined;
  phases: Phases;
  checks: CheckResult[];
  detail: ProbeDetail;
  /** What the run's TLS connection showed of the server's certificates (TLS probes only). */
  tls?: TlsReport | undefined;
  /** The address the run connected to, and its IP family. */
  remote?: Remote | undefined;
  /** The headline of a degraded run when the prober knows its cause better than the first
   * degraded check does (events in bursts make every time figure late). */
  degradation?: string | undefined;
}
