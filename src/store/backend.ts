// What the history store asks of a database: write one batch in one transaction, and answer the
// page's reads. Two engines answer it with the same tables: SQLite in the state directory
// (sqlite.ts, the default) and PostgreSQL, where a fleet of daemons shares one store
// (postgres.ts). Rows cross this boundary as plain objects with times in epoch milliseconds.

export type Verdict = 'ok' | 'degraded' | 'failed';
export type Span = 'hour' | 'day';

export interface RunRow {
  probe: string;
  location: string;
  at: number;
  verdict: Verdict;
  figure: number | null;
  headline: string | null;
  /** JSON of { phase: ms }. */
  phases: string;
}

export interface AggregateRow {
  probe: string;
  location: string;
  span: Span;
  start: number;
  runs: number;
  ok: number;
  degraded: number;
  failed: number;
  down_ms: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface IncidentRow {
  id: number;
  probe: string;
  location: string;
  shard: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  cause: string;
  /** JSON of [{ at, text }]. */
  timeline: string;
}

/** The fleet's directory: each probe of each location, the shard that ran it last and its
 * newest run. A page lists the probes other daemons run from it. */
export interface ProbeRow {
  probe: string;
  location: string;
  shard: string;
  kind: string | null;
  last_at: number;
  verdict: Verdict;
  figure: number | null;
  headline: string | null;
}

/** An hour or day as written: the counts and the sketch (JSON) it goes on from after a restart. */
export interface BucketRow {
  probe: string;
  span: Span;
  start: number;
  runs: number;
  ok: number;
  degraded: number;
  failed: number;
  down_ms: number;
  sketch: string;
}

/** Everything one flush writes, from one daemon (location, shard). */
export interface Batch {
  location: string;
  shard: string;
  runs: Array<Omit<RunRow, 'location'>>;
  buckets: Array<BucketRow & { p50: number | null; p95: number | null; p99: number | null }>;
  /** id 0: not written yet (inserted; its new id is returned in order). */
  incidents: Array<Omit<IncidentRow, 'location' | 'shard'>>;
  probes: Array<Omit<ProbeRow, 'location' | 'shard'>>;
}

export interface IncidentQuery {
  probe?: string | undefined;
  location?: string | undefined;
  state?: 'open' | 'closed' | undefined;
  /** Only those still open or ended at or after this (epoch ms). */
  endedFrom?: number | undefined;
  from: number;
  to: number;
  limit: number;
}

export interface Backend {
  readonly engine: 'sqlite' | 'postgres';
  /** Where it is, for messages (a file, or host:port/database; never a password). */
  readonly where: string;
  /** Writes the batch in one transaction; the ids of the inserted incidents, in order. */
  write(batch: Batch): Promise<number[]>;
  /** The written hours and days these keys name (of one location): a restart goes on from them. */
  buckets(location: string, keys: ReadonlyArray<{ probe: string; span: Span; start: number }>): Promise<BucketRow[]>;
  /** One probe's rows (at one location, or at every one). */
  aggregates(probe: string, location: string | undefined, span: Span, from: number, to: number, limit: number): Promise<AggregateRow[]>;
  runs(probe: string, location: string | undefined, from: number, to: number, limit: number): Promise<RunRow[]>;
  /** Every probe's daily rows from `from` on, without percentiles (the overview's bars). */
  days(from: number): Promise<AggregateRow[]>;
  incidents(query: IncidentQuery): Promise<IncidentRow[]>;
  /** Incidents still open (ended_at null) of one location. */
  openIncidents(location: string): Promise<IncidentRow[]>;
  fleet(): Promise<ProbeRow[]>;
  /** Deletes rows older than each cutoff, at most `limit` a table. */
  prune(cutoffs: { runs: number; hourly: number; daily: number; incidents: number }, limit: number): Promise<{ runs: number; aggregates: number; incidents: number }>;
  close(): Promise<void>;
}

/** A database written by a newer flowprobe: refused, never downgraded. */
export class NewerSchemaError extends Error {}

/** "db.example.com:5432/flowprobe": the URL without its user and password. */
export function whereOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'PostgreSQL (an unreadable URL)';
  }
}
