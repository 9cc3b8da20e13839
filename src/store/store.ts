// The history store: a summary of every run, hourly and daily aggregates, every incident, and the
// fleet's directory of probes, in SQLite in the state directory (sqlite.ts) or in a PostgreSQL a
// fleet shares (postgres.ts). Results are queued in memory and written once a second in one
// transaction, never on the probing path; the hour and day in progress live in memory too and are
// written with each batch, so a page reads them at once and kill -9 loses at most the last
// second. While the database cannot be written (a full disk, PostgreSQL down), runs wait in
// memory, at most MAX_PENDING, and go in when it can. Retention runs by itself, hourly.
import { formatDuration } from '../config/units.js';
import type { Transition } from '../detect/probe-state.js';
import type { Clock, Timer } from '../scheduler/clock.js';
import type { AggregateRow, Backend, Batch, IncidentRow, ProbeRow, Span, Verdict } from './backend.js';
import { Sketch } from './sketch.js';

export { NewerSchemaError, type Span, type Verdict } from './backend.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** What the store keeps of one run. */
export interface RunSummary {
  probe: string;
  kind: string;
  at: number;
  verdict: Verdict;
  /** The kind's main figure (ms), when the run had one. */
  figure: number | undefined;
  /** Why it failed or degraded, in words (already redacted). */
  headline: string | undefined;
  phases: Record<string, number>;
}

/** An hour or a day of one probe's runs. */
export interface Aggregate {
  probe: string;
  location: string;
  span: Span;
  start: number;
  runs: number;
  ok: number;
  degraded: number;
  failed: number;
  /** Time failing: for each failed run, the time since the run before it (at most an hour). */
  downMs: number;
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
}

export interface IncidentRecord {
  id: number;
  probe: string;
  location: string;
  startedAt: number;
  endedAt: number | undefined;
  /** Time failing (not the span: a flapping incident's good stretches do not count). */
  durationMs: number | undefined;
  cause: string;
  timeline: Array<{ at: number; text: string }>;
}

/** A probe of the fleet as the store knows it: where it runs and its newest run. */
export interface FleetProbe {
  probe: string;
  location: string;
  shard: string;
  kind: string | undefined;
  lastAt: number;
  verdict: Verdict;
  figure: number | undefined;
  headline: string | undefined;
}

export interface RetentionSettings {
  runsMs: number;
  hourlyMs: number;
  dailyMs: number;
  incidentsMs: number;
}

/** How the store is doing, for the page: written, and read, or why not. */
export interface StoreHealth {
  engine: 'sqlite' | 'postgres';
  where: string;
  /** Why the last write or read failed; undefined while they succeed. */
  problem: string | undefined;
  since: number | undefined;
  /** Runs waiting to be written, and dropped unwritten since the start (beyond MAX_PENDING). */
  queued: number;
  dropped: number;
}

export type StoreTarget = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string };

export interface StoreOptions {
  target: StoreTarget;
  location: string;
  shard: string;
  keep: RetentionSettings;
  clock: Clock;
  /** Whether this daemon runs the probe: only its own open incidents are taken up again (a
   * fleet's store holds every shard's). */
  owns(probe: string): boolean;
  /** A batch could not be written (the caller alerts); undefined when one was again. */
  onWrite(error: unknown | undefined): void;
}

/** Runs waiting to be written, at most: beyond it the oldest are dropped (the aggregates, kept
 * in memory, still count them). At 1,000 runs a second, a minute of a store that cannot write. */
export const MAX_PENDING = 60_000;
const TIMELINE_ENTRIES = 100;
const FLUSH_MS = 1_000;
const PRUNE_MS = HOUR_MS;
/** Rows deleted from a table in one step (about 20 ms of work here). */
const PRUNE_BATCH = 20_000;
/** How long the overview's read of every probe's days is used before it is read again. */
const DAYS_FRESH_MS = 60_000;
/** How long the fleet's directory of probes is used before it is read again. */
const DIRECTORY_FRESH_MS = 5_000;
/** How often this daemon's newest runs go into the fleet's directory. */
const DIRECTORY_WRITE_MS = 5_000;

interface Bucket {
  start: number;
  runs: number;
  ok: number;
  degraded: number;
  failed: number;
  downMs: number;
  sketch: Sketch;
  dirty: boolean;
  /** Whether what was written of this hour or day before (a restart) has been added in; until
   * then it is not written (it would overwrite that) nor shown over what is written. */
  loaded: boolean;
}

interface ProbeBuckets {
  hour: Bucket | undefined;
  day: Bucket | undefined;
  lastAt: number | undefined;
  /** The headline of the newest failed run: an incident's cause. */
  lastFailure: string | undefined;
  /** The newest run, for the fleet's directory; dirty until written. */
  last: RunSummary | undefined;
  lastDirty: boolean;
}

interface OpenIncident extends IncidentRecord {
  dirty: boolean;
}

/** Opens (or creates) the store. A SQLite file that cannot be read as a database is moved aside
 * and a new one started: `problem` says so, for the daemon's state-lost alert. */
export async function openStore(options: StoreOptions): Promise<{ store: HistoryStore; problem: { problem: string; lost: string[] } | undefined }> {
  const { target } = options;
  let backend: Backend;
  let problem: { problem: string; lost: string[] } | undefined;
  if (target.engine === 'postgres') {
    const { openPostgres } = await import('./postgres.js');
    backend = await openPostgres(target.url);
  } else {
    const { openSqlite } = await import('./sqlite.js');
    const opened = await openSqlite(target.file, options.clock.now());
    backend = opened.backend;
    if (opened.movedTo) problem = { problem: `the history database ${target.file} could not be read (${opened.reason}); it was moved to ${opened.movedTo} and a new one started`, lost: ['history (runs, uptime, incidents) before now'] };
  }
  try {
    // Incidents this daemon left open go on where they were.
    const open = (await backend.openIncidents(options.location)).filter((row) => options.owns(row.probe)).map(incidentOf);
    return { store: new HistoryStore(options, backend, open), problem };
  } catch (error) {
    await backend.close().catch(() => {});
    throw error;
  }
}

export class HistoryStore {
  private pending: RunSummary[] = [];
  /** Runs of the batch being written: still read from here until it is. */
  private writing: RunSummary[] = [];
  private bucketsWriting = new Set<Bucket>();
  private dropped = 0;
  private readonly probes = new Map<string, ProbeBuckets>();
  private readonly incidents = new Map<string, OpenIncident>();
  private closedIncidents: OpenIncident[] = [];
  /** Buckets that ended (a new hour or day began) before they were written. */
  private finished: Array<{ probe: string; span: Span; bucket: Bucket }> = [];
  private flushTimer: Timer | undefined;
  private flushing: Promise<void> | undefined;
  private started = false;
  private pruneTimer: Timer | undefined;
  private keep: RetentionSettings;
  private writeProblem: { text: string; since: number } | undefined;
  private readProblem: { text: string; since: number } | undefined;
  private dayCache: { from: number; at: number; days: Map<string, Aggregate[]>; incidents: Map<string, IncidentRecord[]> } | undefined;
  private dayRead: Promise<void> | undefined;
  private directory: { at: number; rows: ProbeRow[] } | undefined;
  private directoryWrittenAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: StoreOptions,
    private readonly backend: Backend,
    open: IncidentRecord[],
  ) {
    this.keep = options.keep;
    for (const incident of open) this.incidents.set(incident.probe, { ...incident, dirty: false });
  }

  start(): void {
    this.started = true;
    this.armFlush();
    this.pruneTimer = this.options.clock.setTimer(60_000, () => this.pruneTick());
  }

  setRetention(keep: RetentionSettings): void {
    this.keep = keep;
  }

  /** Writes what is queued and closes the database (the daemon's stop); what could not be
   * written is counted in the answer. */
  async close(): Promise<{ unwritten: number }> {
    this.started = false;
    this.flushTimer?.cancel();
    this.pruneTimer?.cancel();
    await this.flush();
    const unwritten = this.pending.length;
    await this.backend.close();
    return { unwritten };
  }

  /** A run: queued for the next batch, counted in its hour and day at once. */
  add(run: RunSummary): void {
    this.pending.push(run);
    this.bound();
    const probe = this.probeBuckets(run.probe);
    const downMs = run.verdict === 'failed' && probe.lastAt !== undefined ? Math.min(HOUR_MS, Math.max(0, run.at - probe.lastAt)) : 0;
    probe.lastAt = Math.max(probe.lastAt ?? 0, run.at);
    if (run.verdict === 'failed' && run.headline) probe.lastFailure = run.headline;
    if (!probe.last || run.at >= probe.last.at) (probe.last = run), (probe.lastDirty = true);
    for (const span of ['hour', 'day'] as const) {
      const bucket = this.bucketFor(run.probe, probe, span, run.at);
      if (!bucket) continue;
      bucket.runs++;
      bucket[run.verdict]++;
      bucket.downMs += downMs;
      if (run.figure !== undefined && Number.isFinite(run.figure)) bucket.sketch.add(run.figure);
      bucket.dirty = true;
    }
    this.armFlush();
  }

  /** A health transition: opens, extends or closes the probe's incident. */
  transition(t: Transition): void {
    let incident = this.incidents.get(t.probe);
    const opens = t.to === 'failing' && (t.reason === 'consecutive-failures' || t.reason === 'failure-ratio');
    if (!incident && !opens) return;
    if (!incident) {
      const cause = this.probes.get(t.probe)?.lastFailure ?? String(t.evidence.error ?? t.evidence.last_error ?? 'failing');
      incident = { id: 0, probe: t.probe, location: this.options.location, startedAt: t.outage?.startedAt ?? t.at, endedAt: undefined, durationMs: undefined, cause, timeline: [], dirty: true };
      this.incidents.set(t.probe, incident);
      this.staleDays();
    }
    const text = t.reason === 'incident-closed' && t.outage ? `closed: failing ${formatDuration(t.outage.durationMs)}${t.outage.periods > 1 ? ` in ${t.outage.periods} periods` : ''}` : `${t.from} → ${t.to} (${t.reason.replaceAll('-', ' ')})`;
    this.note(incident, t.at, text);
    if (t.reason === 'incident-closed') {
      // Ended when it came back for good, not when the flap window after it ran out.
      incident.endedAt = t.outage?.endedAt ?? t.at;
      incident.durationMs = t.outage?.durationMs ?? t.at - incident.startedAt;
      this.incidents.delete(t.probe);
      this.closedIncidents.push(incident);
      this.staleDays();
    }
  }

  /** A notification about the probe, on its open incident's timeline. */
  notified(probe: string, at: number, text: string): void {
    const incident = this.incidents.get(probe);
    if (incident) this.note(incident, at, text);
  }

  private note(incident: OpenIncident, at: number, text: string): void {
    incident.timeline.push({ at, text });
    if (incident.timeline.length > TIMELINE_ENTRIES) incident.timeline.splice(1, incident.timeline.length - TIMELINE_ENTRIES);
    incident.dirty = true;
    this.armFlush();
  }

  private bound(): void {
    if (this.pending.length <= MAX_PENDING) return;
    this.dropped += this.pending.length - MAX_PENDING;
    this.pending.splice(0, this.pending.length - MAX_PENDING);
  }

  private probeBuckets(name: string): ProbeBuckets {
    let probe = this.probes.get(name);
    if (!probe) this.probes.set(name, (probe = { hour: undefined, day: undefined, lastAt: undefined, lastFailure: undefined, last: undefined, lastDirty: false }));
    return probe;
  }

  /** The bucket of `span` holding `at`. A new one starts empty, and what was written of it
   * before (a restart in the middle of an hour) is added in before it is written. A run older
   * than the bucket in progress (a probe's runs come in order; only a clock stepped back does
   * that) is kept as a run but not counted again in an hour already moving on. */
  private bucketFor(name: string, probe: ProbeBuckets, span: Span, at: number): Bucket | undefined {
    const size = span === 'hour' ? HOUR_MS : DAY_MS;
    const start = Math.floor(at / size) * size;
    const current = probe[span];
    if (current && current.start === start) return current;
    if (current && start < current.start) return undefined;
    if (current?.dirty) this.finished.push({ probe: name, span, bucket: current });
    const bucket: Bucket = { start, runs: 0, ok: 0, degraded: 0, failed: 0, downMs: 0, sketch: Sketch.empty(), dirty: false, loaded: false };
    probe[span] = bucket;
    return bucket;
  }

  /** A batch a second while there is something to write; an idle store sets no timer. */
  private armFlush(): void {
    if (!this.started || this.flushTimer) return;
    this.flushTimer = this.options.clock.setTimer(FLUSH_MS, () => {
      void this.flush().then(() => {
        this.flushTimer = undefined;
        if (this.pending.length > 0 || this.writeProblem || [...this.probes.values()].some((p) => p.lastDirty)) this.armFlush();
      });
    });
  }

  /** Hourly; while a pass found a full batch to delete, the next comes a second later, so a
   * backlog (a long retention shortened, a busy hour) goes in short steps, never in one block. */
  private pruneTick(): void {
    void this.prune().then((deleted) => {
      if (!this.started) return;
      const more = Object.values(deleted).some((n) => n >= PRUNE_BATCH);
      this.pruneTimer = this.options.clock.setTimer(more ? 1_000 : PRUNE_MS, () => this.pruneTick());
    });
  }

  /** Writes every queued run, changed aggregate and incident in one transaction (after the one
   * being written, if any). Never rejects: a failure is reported and everything is kept. */
  flush(): Promise<void> {
    const next = (this.flushing ?? Promise.resolve()).then(() => this.write());
    const mine = next.finally(() => {
      if (this.flushing === mine) this.flushing = undefined;
    });
    this.flushing = mine;
    return mine;
  }

  private async write(): Promise<void> {
    const { location, shard } = this.options;
    // What was written of the hours and days that began since the last batch, added in first.
    const unloaded = [...this.finished, ...this.inProgress()].filter((b) => !b.bucket.loaded);
    if (unloaded.length > 0) {
      try {
        const rows = await this.backend.buckets(location, unloaded.map(({ probe, span, bucket }) => ({ probe, span, start: bucket.start })));
        const byKey = new Map(rows.map((row) => [`${row.probe}\u0000${row.span}\u0000${row.start}`, row]));
        for (const { probe, span, bucket: b } of unloaded) {
          const row = byKey.get(`${probe}\u0000${span}\u0000${b.start}`);
          if (row) {
            (b.runs += row.runs), (b.ok += row.ok), (b.degraded += row.degraded), (b.failed += row.failed), (b.downMs += row.down_ms);
            b.sketch.merge(Sketch.from(safeJson(row.sketch)));
          }
          b.loaded = true;
        }
      } catch (error) {
        return this.writeFailed(error);
      }
    }

    const runs = this.pending;
    const buckets = [...this.finished, ...this.inProgress()].filter((b) => b.bucket.dirty && b.bucket.loaded);
    const finished = this.finished;
    const incidents = [...this.incidents.values(), ...this.closedIncidents].filter((i) => i.dirty);
    // The fleet's directory is for other daemons' pages: every 5 s is fresh enough (and the
    // last batch on a stop), not a row per probe every second.
    const now = this.options.clock.now();
    const directory = !this.started || now - this.directoryWrittenAt >= DIRECTORY_WRITE_MS;
    const probes = directory ? [...this.probes.values()].filter((p) => p.lastDirty && p.last) : [];
    if (runs.length === 0 && buckets.length === 0 && incidents.length === 0 && probes.length === 0) return;
    const batch: Batch = {
      location,
      shard,
      runs: runs.map((r) => ({ probe: r.probe, at: Math.round(r.at), verdict: r.verdict, figure: r.figure ?? null, headline: r.headline ?? null, phases: JSON.stringify(r.phases) })),
      buckets: buckets.map(({ probe, span, bucket: b }) => {
        const [p50, p95, p99] = b.sketch.percentiles([50, 95, 99]);
        return { probe, span, start: b.start, runs: b.runs, ok: b.ok, degraded: b.degraded, failed: b.failed, down_ms: Math.round(b.downMs), p50: p50 ?? null, p95: p95 ?? null, p99: p99 ?? null, sketch: JSON.stringify(b.sketch) };
      }),
      incidents: incidents.map((i) => ({ id: i.id, probe: i.probe, started_at: Math.round(i.startedAt), ended_at: i.endedAt === undefined ? null : Math.round(i.endedAt), duration_ms: i.durationMs === undefined ? null : Math.round(i.durationMs), cause: i.cause, timeline: JSON.stringify(i.timeline) })),
      probes: probes.map(({ last }) => ({ probe: (last as RunSummary).probe, kind: (last as RunSummary).kind, last_at: Math.round((last as RunSummary).at), verdict: (last as RunSummary).verdict, figure: (last as RunSummary).figure ?? null, headline: (last as RunSummary).headline ?? null })),
    };
    // Taken as written; put back as they were if the write fails. What comes in meanwhile
    // marks them again.
    this.pending = [];
    this.writing = runs;
    this.bucketsWriting = new Set(buckets.map((b) => b.bucket));
    const inBatch = new Set(buckets);
    this.finished = this.finished.filter((f) => !inBatch.has(f));
    for (const { bucket } of buckets) bucket.dirty = false;
    for (const i of incidents) i.dirty = false;
    for (const p of probes) p.lastDirty = false;
    let ids: number[];
    try {
      ids = await this.backend.write(batch);
    } catch (error) {
      this.pending = runs.concat(this.pending);
      this.writing = [];
      this.bucketsWriting = new Set();
      this.bound();
      this.finished = [...finished.filter((f) => inBatch.has(f)), ...this.finished];
      for (const { bucket } of buckets) bucket.dirty = true;
      for (const i of incidents) i.dirty = true;
      for (const p of probes) p.lastDirty = true;
      return this.writeFailed(error);
    }
    this.writing = [];
    this.bucketsWriting = new Set();
    if (directory) this.directoryWrittenAt = now;
    const inserted = incidents.filter((i) => i.id === 0);
    inserted.forEach((incident, n) => (incident.id = ids[n] ?? 0));
    this.closedIncidents = this.closedIncidents.filter((i) => i.dirty);
    this.readProblem = undefined; // it answers again
    if (this.writeProblem) {
      this.writeProblem = undefined;
      this.options.onWrite(undefined);
    }
  }

  /** The hour and day in progress of every probe. */
  private inProgress(): Array<{ probe: string; span: Span; bucket: Bucket }> {
    const list: Array<{ probe: string; span: Span; bucket: Bucket }> = [];
    for (const [probe, p] of this.probes) for (const span of ['hour', 'day'] as const) if (p[span]) list.push({ probe, span, bucket: p[span] });
    return list;
  }

  private writeFailed(error: unknown): void {
    this.writeProblem = { text: (error as Error).message ?? String(error), since: this.writeProblem?.since ?? this.options.clock.now() };
    this.options.onWrite(error);
  }

  /** Deletes what is older than its retention, at most PRUNE_BATCH rows a table per call. */
  async prune(): Promise<{ runs: number; aggregates: number; incidents: number }> {
    const now = this.options.clock.now();
    try {
      return await this.backend.prune({ runs: Math.round(now - this.keep.runsMs), hourly: Math.round(now - this.keep.hourlyMs), daily: Math.round(now - this.keep.dailyMs), incidents: Math.round(now - this.keep.incidentsMs) }, PRUNE_BATCH);
    } catch (error) {
      this.writeFailed(error);
      return { runs: 0, aggregates: 0, incidents: 0 };
    }
  }

  /** Runs dropped unwritten since the start (the store could not keep up or write). */
  get droppedRuns(): number {
    return this.dropped;
  }

  health(): StoreHealth {
    const problem = this.writeProblem ?? this.readProblem;
    return { engine: this.backend.engine, where: this.backend.where, problem: problem?.text, since: problem?.since, queued: this.pending.length + this.writing.length, dropped: this.dropped };
  }

  // ---- reading: what is written, overlaid with what is in memory and not yet written ----

  /** One probe's hours or days from `from` (inclusive) to `to` (exclusive), oldest first. */
  async aggregates(probe: string, span: Span, from: number, to: number, limit = 5_000, location?: string): Promise<Aggregate[]> {
    const rows = await this.read(() => this.backend.aggregates(probe, location, span, Math.round(from), Math.round(to), limit));
    const byStart = new Map(rows.map((row) => [`${row.location} ${row.start}`, aggregateOf(row)]));
    const mine = location === undefined || location === this.options.location;
    for (const b of mine ? this.memoryBuckets(probe, span) : []) {
      const key = `${this.options.location} ${b.start}`;
      if (b.start >= from && b.start < to) byStart.set(key, overlay(byStart.get(key), probe, this.options.location, span, b));
    }
    return [...byStart.values()].sort((a, b) => a.start - b.start || a.location.localeCompare(b.location)).slice(0, limit);
  }

  /** One probe's runs from `from` to `to`, oldest first (at most `limit`). */
  async runs(probe: string, from: number, to: number, limit = 5_000, location?: string): Promise<Array<Omit<RunSummary, 'kind'> & { location: string }>> {
    const rows = await this.read(() => this.backend.runs(probe, location, Math.round(from), Math.round(to), limit));
    const written = rows.map((row) => ({ probe: row.probe, location: row.location, at: row.at, verdict: row.verdict, figure: row.figure ?? undefined, headline: row.headline ?? undefined, phases: safeJson(row.phases) as Record<string, number> }));
    const mine = location === undefined || location === this.options.location;
    const queued = [...this.writing, ...this.pending].filter((r) => mine && r.probe === probe && r.at >= from && r.at < to).map(({ kind: _, ...r }) => ({ ...r, location: this.options.location }));
    return [...written, ...queued].slice(0, limit);
  }

  /** Reads the fleet's written days for the overview, unless that was done in the last minute
   * and no incident opened or closed since. Days before yesterday no longer change: they are read
   * once (the first read), and each later read takes only yesterday's and today's rows (a new UTC
   * day drops the oldest). Never rejects: a failed read keeps the last one and is told by
   * health(). */
  refreshDays(now: number): Promise<void> {
    const from = daysFrom(now);
    const cache = this.dayCache;
    if (cache && cache.from === from && now - cache.at <= DAYS_FRESH_MS) return Promise.resolve();
    this.dayRead ??= (async () => {
      try {
        const full = !cache || cache.from > from;
        const since = full ? from : Math.floor(now / DAY_MS) * DAY_MS - DAY_MS;
        const [rows, incidents] = await Promise.all([
          this.read(() => this.backend.days(since)),
          this.read(() => this.backend.incidents({ endedFrom: from, from: 0, to: Number.MAX_SAFE_INTEGER, limit: 10_000 })),
        ]);
        const days = new Map<string, Aggregate[]>();
        if (!full) for (const [probe, list] of cache.days) days.set(probe, list.filter((a) => a.start >= from && a.start < since));
        for (const row of rows) pushTo(days, row.probe, aggregateOf(row));
        const byProbe = new Map<string, IncidentRecord[]>();
        for (const row of incidents) pushTo(byProbe, row.probe, incidentOf(row));
        this.dayCache = { from, at: now, days, incidents: byProbe };
      } catch {
        // Told by health(); the page shows what it read last.
      } finally {
        this.dayRead = undefined;
      }
    })();
    return this.dayRead;
  }

  /** A probe's daily rows of the last 90 days and its incidents that touch them: what the
   * overview draws per row, from the last refreshDays() and the day in progress in memory.
   * When that read is old, a new one starts (the next render has it). */
  daysOf(probe: string, now: number, at?: string): { days: Aggregate[]; incidents: IncidentRecord[] } {
    const from = daysFrom(now);
    void this.refreshDays(now);
    const cache = this.dayCache?.from === from ? this.dayCache : undefined;
    const { location } = this.options;
    const here = <T extends { location: string }>(list: T[]) => (at === undefined ? list : list.filter((x) => x.location === at));
    let days = here(cache?.days.get(probe) ?? []);
    let incidents = here(cache?.incidents.get(probe) ?? []);
    if (at !== undefined && at !== location) return { days, incidents };
    // This daemon's day in progress and its incidents not yet written lay over what was read.
    const memory = this.memoryBuckets(probe, 'day').filter((b) => b.start >= from);
    if (memory.length > 0) {
      const merged = new Map(days.map((a) => [`${a.location} ${a.start}`, a]));
      for (const b of memory) merged.set(`${location} ${b.start}`, overlay(merged.get(`${location} ${b.start}`), probe, location, 'day', b));
      days = [...merged.values()].sort((a, b) => a.start - b.start);
    }
    const open = this.incidents.get(probe);
    const newer = [...(open ? [open] : []), ...this.closedIncidents.filter((c) => c.probe === probe)];
    if (newer.length > 0) {
      const byId = new Map(incidents.map((i) => [i.id, i]));
      for (const i of newer) byId.set(i.id === 0 ? -byId.size - 1 : i.id, i);
      incidents = [...byId.values()];
    }
    return { days, incidents };
  }

  /** Incidents, newest first. */
  async incidentList(filter: { probe?: string | undefined; location?: string | undefined; state?: 'open' | 'closed' | undefined; from?: number | undefined; to?: number | undefined; limit: number }): Promise<IncidentRecord[]> {
    const from = Math.round(filter.from ?? 0);
    const to = Math.round(filter.to ?? Number.MAX_SAFE_INTEGER);
    const rows = await this.read(() => this.backend.incidents({ probe: filter.probe, location: filter.location, state: filter.state, from, to, limit: filter.limit }));
    const byId = new Map(rows.map((row) => [row.id, incidentOf(row)]));
    // Not yet written, or written and changed since: memory is newer.
    for (const i of [...this.incidents.values(), ...this.closedIncidents]) {
      const matches = (filter.probe === undefined || i.probe === filter.probe) && (filter.location === undefined || i.location === filter.location) && (filter.state === undefined || (filter.state === 'open') === (i.endedAt === undefined)) && i.startedAt >= from && i.startedAt < to;
      if (matches) byId.set(i.id === 0 ? -byId.size - 1 : i.id, { ...i, timeline: [...i.timeline] });
      // The written row is older (an incident closed since): it no longer matches.
      else if (i.id !== 0) byId.delete(i.id);
    }
    return [...byId.values()].sort((a, b) => b.startedAt - a.startedAt).slice(0, filter.limit);
  }

  /** Every probe of the fleet the store knows (each location's), by name; the directory is read
   * at most every 5 s, this daemon's own newest runs laid over it. */
  async fleet(): Promise<FleetProbe[]> {
    const now = this.options.clock.now();
    if (!this.directory || now - this.directory.at > DIRECTORY_FRESH_MS) this.directory = { at: now, rows: await this.read(() => this.backend.fleet()) };
    const { rows } = this.directory;
    const byKey = new Map(rows.map((row) => [`${row.probe}\u0000${row.location}`, fleetProbeOf(row)]));
    const { location, shard } = this.options;
    for (const [name, p] of this.probes) {
      const key = `${name}\u0000${location}`;
      if (p.last && p.last.at >= (byKey.get(key)?.lastAt ?? 0)) byKey.set(key, { probe: name, location, shard, kind: p.last.kind, lastAt: p.last.at, verdict: p.last.verdict, figure: p.last.figure, headline: p.last.headline });
    }
    return [...byKey.values()].sort((a, b) => a.probe.localeCompare(b.probe) || a.location.localeCompare(b.location));
  }

  private async read<T>(body: () => Promise<T>): Promise<T> {
    try {
      const value = await body();
      this.readProblem = undefined;
      return value;
    } catch (error) {
      this.readProblem = { text: (error as Error).message ?? String(error), since: this.readProblem?.since ?? this.options.clock.now() };
      throw error;
    }
  }

  /** This daemon's hours or days of the probe held in memory, newer than what is written. */
  private memoryBuckets(probe: string, span: Span): Bucket[] {
    const current = this.probes.get(probe)?.[span];
    // Written, unchanged buckets are the rows (and may be pruned): only newer ones lay over them.
    return [...this.finished.filter((f) => f.probe === probe && f.span === span).map((f) => f.bucket), ...(current ? [current] : [])].filter((b) => b.dirty || !b.loaded || this.bucketsWriting.has(b));
  }

  private staleDays(): void {
    if (this.dayCache) this.dayCache.at = Number.NEGATIVE_INFINITY;
  }
}

/** The first day the overview's 90 bars show. */
function daysFrom(now: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS - 89 * DAY_MS;
}

function aggregateOf(row: AggregateRow): Aggregate {
  return { probe: row.probe, location: row.location, span: row.span, start: row.start, runs: row.runs, ok: row.ok, degraded: row.degraded, failed: row.failed, downMs: row.down_ms, p50: row.p50 ?? undefined, p95: row.p95 ?? undefined, p99: row.p99 ?? undefined };
}

function aggregateOfBucket(probe: string, location: string, span: Span, b: Bucket): Aggregate {
  const [p50, p95, p99] = b.sketch.percentiles([50, 95, 99]);
  return { probe, location, span, start: b.start, runs: b.runs, ok: b.ok, degraded: b.degraded, failed: b.failed, downMs: b.downMs, p50, p95, p99 };
}

/** An hour or day from memory over its written row: the memory's whole when it holds what was
 * written; otherwise (the first second after a restart) the written counts plus memory's, with
 * the written percentiles. */
function overlay(written: Aggregate | undefined, probe: string, location: string, span: Span, b: Bucket): Aggregate {
  const memory = aggregateOfBucket(probe, location, span, b);
  if (b.loaded || !written) return memory;
  return { ...written, runs: written.runs + b.runs, ok: written.ok + b.ok, degraded: written.degraded + b.degraded, failed: written.failed + b.failed, downMs: written.downMs + b.downMs };
}

function incidentOf(row: IncidentRow): IncidentRecord {
  const timeline = safeJson(row.timeline);
  return {
    id: row.id,
    probe: row.probe,
    location: row.location,
    startedAt: row.started_at,
    endedAt: row.ended_at ?? undefined,
    durationMs: row.duration_ms ?? undefined,
    cause: row.cause,
    timeline: Array.isArray(timeline) ? (timeline as IncidentRecord['timeline']) : [],
  };
}

function fleetProbeOf(row: ProbeRow): FleetProbe {
  return { probe: row.probe, location: row.location, shard: row.shard, kind: row.kind ?? undefined, lastAt: row.last_at, verdict: row.verdict, figure: row.figure ?? undefined, headline: row.headline ?? undefined };
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
