// Every probe kind, registered here and nowhere else. A kind lives in its own folder —
// schema.ts (the probe as written), prober.ts (the run), kind.ts (its result detail, how it
// reads, its figures, the series it feeds, and its Details entry), rules.ts (rules across its
// fields) — and is entered in the two lists below, its schema and its table entry. The probe
// schema's union and the kind names (config/schema.ts), the result detail type (types.ts) and
// this table all follow from them; the table is declared over every ProbeKind, so a kind whose
// entry is missing does not compile.
import type { Figure } from '../config/probe-fields.js';
import type { Problem } from '../config/diagnostics.js';
import type { ProbeKind, ProbeSpec, RawProbe } from '../config/schema.js';
import type { Registry } from 'prom-client';
import type { SharedSeries } from '../metrics/metrics.js';
import { browserKind } from './browser/kind.js';
import { browserProbe } from './browser/schema.js';
import { dnsKind } from './dns/kind.js';
import { dnsProbe } from './dns/schema.js';
import { flowKind } from './flow/kind.js';
import { grpcKind } from './grpc/kind.js';
import { grpcProbe } from './grpc/schema.js';
import { flowProbe } from './flow/schema.js';
import { heartbeatKind } from './heartbeat/kind.js';
import { heartbeatProbe } from './heartbeat/schema.js';
import { httpKind } from './http/kind.js';
import { httpProbe } from './http/schema.js';
import { mqttKind } from './mqtt/kind.js';
import { mqttProbe } from './mqtt/schema.js';
import { sseKind } from './sse/kind.js';
import { sseProbe } from './sse/schema.js';
import { tcpKind } from './tcp/kind.js';
import { tcpProbe } from './tcp/schema.js';
import { tlsKind } from './tls/kind.js';
import { tlsProbe } from './tls/schema.js';
import type { Phases, ProbeContext, ProberOutcome } from './types.js';
import { websocketKind } from './websocket/kind.js';
import { websocketProbe } from './websocket/schema.js';

/** Every kind's schema: the probe schema is their union, the kind names theirs. */
export const PROBE_SCHEMAS = [httpProbe, sseProbe, websocketProbe, flowProbe, tlsProbe, tcpProbe, dnsProbe, grpcProbe, heartbeatProbe, mqttProbe, browserProbe] as const;

/** Each kind's result detail, by kind name: every kind.ts adds its own entry
 * (`declare module '../kinds.js' { interface Details { http: HttpDetail } }`). */
export interface Details {}

/** What the figure check reads of a probe: its kind and whatever of its fields parsed (`check`
 * may be reporting problems in the others). */
export type FigureInput<K extends ProbeKind> = Partial<RawProbeOf<K>> & { kind: K };

/** Bars a kind adds to a run on its probe's page (a flow's legs), drawn as a waterfall. */
export interface KindBars {
  title: string;
  bars: Array<{ name: string; start: number; ms: number; unfinished?: boolean }>;
}

/** A probe of one kind as its schema parsed it, before the loader resolves its schedule. */
export type RawProbeOf<K extends ProbeKind> = Extract<RawProbe, { kind: K }>;

export interface Kind<K extends ProbeKind, S = unknown> {
  /** Rules across its fields the schema alone cannot say (run by the loader on what parsed,
   * possibly partly: `check` reports every problem at once). */
  rules?(raw: Partial<RawProbeOf<K>>, context: { timeoutMs: number }): Problem[];
  /** A figure only this kind's results carry (WebSocket RTT, a flow leg), read off its detail. */
  figure?(detail: Details[K], figure: Figure): number | undefined;
  /** Loaded on first use: a daemon with only HTTP probes never loads ws, jose or the SSE parser. */
  prober(): Promise<(spec: ProbeSpec<K>, ctx: ProbeContext) => Promise<ProberOutcome>>;
  emptyDetail(spec: ProbeSpec<K>): Details[K];
  /** What a probe points at, for humans (status API, `flowprobe probe`). */
  target(spec: ProbeSpec<K>): string;
  /** The one figure that says how it is doing (the status page's sparkline). */
  main: { figure: Figure; label: string };
  /** The figures its results carry: what a degradation rule may watch. */
  figures(spec: FigureInput<K>): string[];
  /** The URL schemes on which it speaks TLS (a certificate limit needs one of them). */
  tlsSchemes?: readonly string[];
  /** Bars of its own for a run on the probe's page, if it has any. */
  bars?(detail: Details[K]): KindBars | undefined;
  /** Its detail in lines a human reads (`flowprobe probe`). */
  describe(detail: Details[K]): string[];
  /** Its own series, made once per daemon in its registry (every series with a probe label goes
   * with its probe, by rule). */
  series(registers: Registry[]): S;
  /** Creates its series at zero for a new probe, so failure counters exist from the first scrape. */
  declare(probe: string, series: S): void;
  /** Records one run's detail (and what its phases say that the kind keeps a series of). */
  record(probe: string, detail: Details[K], series: S, shared: SharedSeries, phases: Phases): void;
}

export const KINDS: { [K in ProbeKind]: Kind<K, unknown> } = { http: httpKind, sse: sseKind, websocket: websocketKind, flow: flowKind, tls: tlsKind, tcp: tcpKind, dns: dnsKind, grpc: grpcKind, heartbeat: heartbeatKind, mqtt: mqttKind, browser: browserKind };

/** The table entry for a kind (TypeScript cannot correlate a spec's kind with its entry alone). */
export function kindOf<K extends ProbeKind>(kind: K): Kind<K> {
  return KINDS[kind] as Kind<K>;
}
