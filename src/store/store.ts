// The history store: a summary of every run, hourly and daily aggregates, and every incident, in
// SQLite in the state directory (node:sqlite, WAL). Results are queued in memory and written once
// a second in one transaction, never on the probing path; the aggregates of the hour and day in
// progress live in memory too and are written with each batch, so a page reads them at once and
// kill -9 loses at most the last second. Retention runs by itself, hourly.
import { chmodSync, closeSync, existsSync, openSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { formatDuration } from '../config/units.js';
import type { Transition } from '../detect/probe-state.js';
import { makeDirectory } from '../detect/state-file.js';
import type { Clock, Timer } from '../scheduler/clock.js';
import { Sketch } from './sketch.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export type Verdict = 'ok' | 'degraded' | 'failed';
export type Span = 'hour' | 'day';

/** What the store keeps of one run. */
export interface RunSummary {
  probe: string;
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

export interface RetentionSettings {
  runsMs: number;
  hourlyMs: number;
  dailyMs: number;
  incidentsMs: number;
}

export interface StoreOptions {
  file: string;
  location: string;
  shard: string;
  keep: RetentionSettings;
  clock: Clock;
  /** A batch could not be written (the caller alerts once); undefined when one was again. */
  onWrite(error: unknown | undefined): void;
}

/** Runs waiting to be written, at most: beyond it the oldest are dropped (the aggregates, kept
 * in memory, still count them). At 1,000 runs a second, a minute of a store that cannot write. */
const MAX_PENDING = 60_000;
const TIMELINE_ENTRIES = 100;
const FLUSH_MS = 1_000;
const PRUNE_MS = HOUR_MS;
/** Rows deleted from a table in one step (about 20 ms of work here). */
const PRUNE_BATCH = 20_000;
/** The newest schema; MIGRATIONS[n] takes a database from version n to n + 1. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE runs (probe TEXT NOT NULL, location TEXT NOT NULL, shard TEXT NOT NULL, at INTEGER NOT NULL,
     verdict TEXT NOT NULL, figure REAL, headline TEXT, phases TEXT NOT NULL);
   CREATE INDEX runs_probe_at ON runs (probe, at);
   CREATE INDEX runs_at ON runs (at);
   CREATE TABLE aggregates (probe TEXT NOT NULL, location TEXT NOT NULL, span TEXT NOT NULL, start INTEGER NOT NULL,
     shard TEXT NOT NULL, runs INTEGER NOT NULL, ok INTEGER NOT NULL, degraded INTEGER NOT NULL, failed INTEGER NOT NULL,
     down_ms INTEGER NOT NULL, p50 REAL, p95 REAL, p99 REAL, sketch TEXT NOT NULL,
     PRIMARY KEY (probe, span, start, location)) WITHOUT ROWID;
   -- Covers the overview's one query of every probe's days (and retention's by age).
   CREATE INDEX aggregates_start ON aggregates (span, start, probe, location, runs, ok, degraded, failed, down_ms);
   CREATE TABLE incidents (id INTEGER PRIMARY KEY, probe TEXT NOT NULL, location TEXT NOT NULL, shard TEXT NOT NULL,
     started_at INTEGER NOT NULL, ended_at INTEGER, duration_ms INTEGER, cause TEXT NOT NULL, timeline TEXT NOT NULL);
   CREATE INDEX incidents_probe ON incidents (probe, started_at);
   CREATE INDEX incidents_started ON incidents (started_at);`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

interface Bucket {
  start: number;
  runs: number;
  ok: number;
  degraded: number;
  failed: number;
  downMs: number;
  sketch: Sketch;
  dirty: boolean;
}

interface ProbeBuckets {
  hour: Bucket | undefined;
  day: Bucket | undefined;
  lastAt: number | undefined;
  /** The headline of the newest failed run: an incident's cause. */
  lastFailure: string | undefined;
}

interface OpenIncident extends IncidentRecord {
  dirty: boolean;
}

/** Opens (or creates) the database; a file that cannot be read as one is moved aside and a new
 * one started: `problem` says so, for the daemon's state-lost alert. */
export async function openStore(options: StoreOptions): Promise<{ store: HistoryStore; problem: { problem: string; lost: string[] } | undefined }> {
  const { DatabaseSync } = await import('node:sqlite');
  makeDirectory(path.dirname(options.file));
  // Made here first, so a full disk or a wrong owner reads as such ("no space left on device"),
  // not as SQLite's "unable to open database file". An empty file is a new database to SQLite.
  closeSync(openSync(options.file, 'a', 0o600));
  try {
    return { store: new HistoryStore(options, open(DatabaseSync, options.file)), problem: undefined };
  } catch (error) {
    // Only a file that is not (or no longer) a database is moved aside; one that cannot be
    // opened (permissions, a full disk) is left alone and the error goes to the caller.
    if (!(error instanceof CorruptError) && !CORRUPT_CODES.has((error as { errcode?: number }).errcode ?? 0)) throw inWords(error);
    const aside = `${options.file}.unreadable-${new Date(options.clock.now()).toISOString().replaceAll(':', '')}`;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(options.file + suffix)) renameSync(options.file + suffix, aside + suffix);
    const store = new HistoryStore(options, open(DatabaseSync, options.file));
    return { store, problem: { problem: `the history database ${options.file} could not be read (${(error as Error).message}); it was moved to ${aside} and a new one started`, lost: ['history (runs, uptime, incidents) before now'] } };
  }
}

export class NewerSchemaError extends Error {}

/** SQLite's result codes in the words the rest of the daemon uses, the code after them. */
const SQLITE_WORDS: Record<number, string> = { 5: 'the database is locked by another process', 8: 'the database is read-only', 10: 'an I/O error', 13: 'no space left on device', 14: 'the file cannot be opened' };

function inWords(error: unknown): unknown {
  const { errcode, errstr } = error as { errcode?: number; errstr?: string };
  const words = errcode === undefined ? undefined : SQLITE_WORDS[errcode & 0xff];
  return words === undefined ? error : Object.assign(new Error(`${words} (SQLite: ${errstr ?? (error as Error).message})`), { cause: error });
}
class CorruptError extends Error {}
/** SQLITE_CORRUPT, SQLITE_NOTADB. */
const CORRUPT_CODES = new Set([11, 26]);

function open(Database: typeof DatabaseSync, file: string): DatabaseSync {
  const db = new Database(file);
  try {
    // Like the other state files: the service user's alone (SQLite gives its -wal and -shm the
    // database's mode).
    chmodSync(file, 0o600);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 50;');
    const check = db.prepare('PRAGMA quick_check').get() as { quick_check: string } | undefined;
    if (check?.quick_check !== 'ok') throw new CorruptError(`quick_check: ${check?.quick_check ?? 'no answer'}`);
    const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (version > SCHEMA_VERSION) throw new NewerSchemaError(`the history database ${file} has schema version ${version}; this flowprobe knows up to ${SCHEMA_VERSION} (was it written by a newer release?). Move it aside or run the newer release.`);
    for (let v = version; v < SCHEMA_VERSION; v++) {
      db.exec('BEGIN');
      db.exec(MIGRATIONS[v] as string);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export class HistoryStore {
  private pending: Array<RunSummary> = [];
  private dropped = 0;
  private readonly probes = new Map<string, ProbeBuckets>();
  private readonly incidents = new Map<string, OpenIncident>();
  private closedIncidents: OpenIncident[] = [];
  private flushTimer: Timer | undefined;
  private started = false;
  private pruneTimer: Timer | undefined;
  private failing = false;
  private readonly sql: Record<'insertRun' | 'upsertAggregate' | 'insertIncident' | 'updateIncident' | 'aggregate', StatementSync>;
  private keep: RetentionSettings;

  constructor(private readonly options: StoreOptions, private readonly db: DatabaseSync) {
    this.keep = options.keep;
    this.sql = {
      insertRun: db.prepare('INSERT INTO runs (probe, location, shard, at, verdict, figure, headline, phases) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      upsertAggregate: db.prepare(
        `INSERT INTO aggregates (probe, location, span, start, shard, runs, ok, degraded, failed, down_ms, p50, p95, p99, sketch)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (probe, span, start, location) DO UPDATE SET shard = excluded.shard, runs = excluded.runs, ok = excluded.ok,
           degraded = excluded.degraded, failed = excluded.failed, down_ms = excluded.down_ms, p50 = excluded.p50, p95 = excluded.p95,
           p99 = excluded.p99, sketch = excluded.sketch`,
      ),
      insertIncident: db.prepare('INSERT INTO incidents (probe, location, shard, started_at, ended_at, duration_ms, cause, timeline) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      updateIncident: db.prepare('UPDATE incidents SET ended_at = ?, duration_ms = ?, cause = ?, timeline = ? WHERE id = ?'),
      aggregate: db.prepare('SELECT runs, ok, degraded, failed, down_ms, sketch FROM aggregates WHERE probe = ? AND location = ? AND span = ? AND start = ?'),
    };
    // Incidents a previous run of this daemon left open go on where they were.
    const open = db.prepare('SELECT * FROM incidents WHERE location = ? AND ended_at IS NULL').all(options.location) as unknown as IncidentRow[];
    for (const row of open) this.incidents.set(row.probe, { ...incidentOf(row), dirty: false });
  }

  start(): void {
    this.started = true;
    this.armFlush();
    this.pruneTimer = this.options.clock.setTimer(60_000, () => this.pruneTick());
  }

  setRetention(keep: RetentionSettings): void {
    this.keep = keep;
  }

  /** Writes what is queued and closes the database (the daemon's stop). */
  close(): void {
    this.started = false;
    this.flushTimer?.cancel();
    this.pruneTimer?.cancel();
    this.flush();
    this.db.close();
  }

  /** A run: queued for the next batch, counted in its hour and day at once. */
  add(run: RunSummary): void {
    this.pending.push(run);
    if (this.pending.length > MAX_PENDING) {
      this.dropped += this.pending.length - MAX_PENDING;
      this.pending.splice(0, this.pending.length - MAX_PENDING);
    }
    const probe = this.probeBuckets(run.probe);
    const downMs = run.verdict === 'failed' && probe.lastAt !== undefined ? Math.min(HOUR_MS, Math.max(0, run.at - probe.lastAt)) : 0;
    probe.lastAt = Math.max(probe.lastAt ?? 0, run.at);
    if (run.verdict === 'failed' && run.headline) probe.lastFailure = run.headline;
    for (const span of ['hour', 'day'] as const) {
      const bucket = this.bucketFor(run.probe, probe, span, run.at);
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
      this.dayCache = undefined;
    }
    const text = t.reason === 'incident-closed' && t.outage ? `closed: failing ${formatDuration(t.outage.durationMs)}${t.outage.periods > 1 ? ` in ${t.outage.periods} periods` : ''}` : `${t.from} → ${t.to} (${t.reason.replaceAll('-', ' ')})`;
    this.note(incident, t.at, text);
    if (t.reason === 'incident-closed') {
      // Ended when it came back for good, not when the flap window after it ran out.
      incident.endedAt = t.outage?.endedAt ?? t.at;
      incident.durationMs = t.outage?.durationMs ?? t.at - incident.startedAt;
      this.incidents.delete(t.probe);
      this.closedIncidents.push(incident);
      this.dayCache = undefined;
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

  private probeBuckets(name: string): ProbeBuckets {
    let probe = this.probes.get(name);
    if (!probe) this.probes.set(name, (probe = { hour: undefined, day: undefined, lastAt: undefined, lastFailure: undefined }));
    return probe;
  }

  /** The bucket of `span` holding `at`: the one in memory, or the one written before a restart. */
  private bucketFor(name: string, probe: ProbeBuckets, span: Span, at: number): Bucket {
    const size = span === 'hour' ? HOUR_MS : DAY_MS;
    const start = Math.floor(at / size) * size;
    const current = probe[span];
    if (current && current.start === start) return current;
    if (current?.dirty) this.finished.push({ probe: name, span, bucket: current });
    const row = this.sql.aggregate.get(name, this.options.location, span, start) as { runs: number; ok: number; degraded: number; failed: number; down_ms: number; sketch: string } | undefined;
    const bucket: Bucket = row
      ? { start, runs: row.runs, ok: row.ok, degraded: row.degraded, failed: row.failed, downMs: row.down_ms, sketch: Sketch.from(safeJson(row.sketch)), dirty: false }
      : { start, runs: 0, ok: 0, degraded: 0, failed: 0, downMs: 0, sketch: Sketch.empty(), dirty: false };
    probe[span] = bucket;
    return bucket;
  }

  /** Buckets that ended (a new hour or day began) before they were written. */
  private finished: Array<{ probe: string; span: Span; bucket: Bucket }> = [];

  /** A batch a second while there is something to write; an idle store sets no timer. */
  private armFlush(): void {
    if (!this.started || this.flushTimer) return;
    this.flushTimer = this.options.clock.setTimer(FLUSH_MS, () => {
      this.flushTimer = undefined;
      this.flush();
      if (this.pending.length > 0 || this.failing) this.armFlush();
    });
  }

  /** Hourly; while a pass found a full batch to delete, the next comes a second later, so a
   * backlog (a long retention shortened, a busy hour) goes in short steps, never in one block. */
  private pruneTick(): void {
    const deleted = this.prune();
    const more = Object.values(deleted).some((n) => n >= PRUNE_BATCH);
    this.pruneTimer = this.options.clock.setTimer(more ? 1_000 : PRUNE_MS, () => this.pruneTick());
  }

  /** Writes every queued run, changed aggregate and incident in one transaction. */
  flush(): void {
    const runs = this.pending;
    const buckets = [...this.finished];
    for (const [name, probe] of this.probes) for (const span of ['hour', 'day'] as const) if (probe[span]?.dirty) buckets.push({ probe: name, span, bucket: probe[span] as Bucket });
    const incidents = [...this.incidents.values(), ...this.closedIncidents].filter((i) => i.dirty);
    if (runs.length === 0 && buckets.length === 0 && incidents.length === 0) return;
    const { location, shard } = this.options;
    try {
      this.db.exec('BEGIN');
      for (const r of runs) this.sql.insertRun.run(r.probe, location, shard, Math.round(r.at), r.verdict, r.figure ?? null, r.headline ?? null, JSON.stringify(r.phases));
      for (const { probe, span, bucket: b } of buckets) {
        this.sql.upsertAggregate.run(probe, location, span, b.start, shard, b.runs, b.ok, b.degraded, b.failed, Math.round(b.downMs), b.sketch.percentile(50) ?? null, b.sketch.percentile(95) ?? null, b.sketch.percentile(99) ?? null, JSON.stringify(b.sketch));
      }
      const inserted: Array<[OpenIncident, number]> = [];
      for (const i of incidents) {
        const timeline = JSON.stringify(i.timeline);
        if (i.id === 0) inserted.push([i, Number(this.sql.insertIncident.run(i.probe, location, shard, Math.round(i.startedAt), i.endedAt === undefined ? null : Math.round(i.endedAt), i.durationMs === undefined ? null : Math.round(i.durationMs), i.cause, timeline).lastInsertRowid)]);
        else this.sql.updateIncident.run(i.endedAt === undefined ? null : Math.round(i.endedAt), i.durationMs === undefined ? null : Math.round(i.durationMs), i.cause, timeline, i.id);
      }
      this.db.exec('COMMIT');
      for (const [i, id] of inserted) i.id = id;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      this.failing = true;
      this.options.onWrite(inWords(error));
      return;
    }
    // Synchronous from the first read to here: nothing was added meanwhile.
    this.pending = [];
    this.finished = [];
    for (const { bucket } of buckets) bucket.dirty = false;
    for (const i of incidents) i.dirty = false;
    this.closedIncidents = this.closedIncidents.filter((i) => i.dirty);
    if (this.failing) {
      this.failing = false;
      this.options.onWrite(undefined);
    }
  }

  /** Deletes what is older than its retention, at most PRUNE_BATCH rows a table per call. */
  prune(): { runs: number; aggregates: number; incidents: number } {
    const now = this.options.clock.now();
    const limit = PRUNE_BATCH;
    const del = (sql: string, before: number) => Number(this.db.prepare(sql).run(Math.round(before), limit).changes);
    try {
      return {
        runs: del('DELETE FROM runs WHERE rowid IN (SELECT rowid FROM runs WHERE at < ? LIMIT ?)', now - this.keep.runsMs),
        aggregates:
          del("DELETE FROM aggregates WHERE (probe, span, start, location) IN (SELECT probe, span, start, location FROM aggregates WHERE span = 'hour' AND start < ? LIMIT ?)", now - this.keep.hourlyMs) +
          del("DELETE FROM aggregates WHERE (probe, span, start, location) IN (SELECT probe, span, start, location FROM aggregates WHERE span = 'day' AND start < ? LIMIT ?)", now - this.keep.dailyMs),
        incidents: del('DELETE FROM incidents WHERE id IN (SELECT id FROM incidents WHERE ended_at IS NOT NULL AND ended_at < ? LIMIT ?)', now - this.keep.incidentsMs),
      };
    } catch (error) {
      this.options.onWrite(inWords(error));
      return { runs: 0, aggregates: 0, incidents: 0 };
    }
  }

  /** Runs dropped unwritten since the start (the store could not keep up or write). */
  get droppedRuns(): number {
    return this.dropped;
  }

  // ---- reading: what is written, overlaid with what is in memory and not yet written ----

  /** One probe's hours or days from `from` (inclusive) to `to` (exclusive), oldest first. */
  aggregates(probe: string, span: Span, from: number, to: number, limit = 5_000): Aggregate[] {
    const rows = this.db
      .prepare('SELECT * FROM aggregates WHERE probe = ? AND span = ? AND start >= ? AND start < ? ORDER BY start LIMIT ?')
      .all(probe, span, Math.round(from), Math.round(to), limit) as unknown as AggregateRow[];
    const byStart = new Map(rows.map((row) => [`${row.location} ${row.start}`, aggregateOf(row)]));
    const memory = [...(this.finished.filter((f) => f.probe === probe && f.span === span).map((f) => f.bucket)), this.probes.get(probe)?.[span]].filter((b): b is Bucket => b !== undefined && b.dirty);
    for (const b of memory) if (b.start >= from && b.start < to) byStart.set(`${this.options.location} ${b.start}`, aggregateOfBucket(probe, this.options.location, span, b));
    return [...byStart.values()].sort((a, b) => a.start - b.start || a.location.localeCompare(b.location));
  }

  /** One probe's runs from `from` to `to`, oldest first (at most `limit`). */
  runs(probe: string, from: number, to: number, limit = 5_000): Array<RunSummary & { location: string }> {
    const rows = this.db.prepare('SELECT * FROM runs WHERE probe = ? AND at >= ? AND at < ? ORDER BY at LIMIT ?').all(probe, Math.round(from), Math.round(to), limit) as unknown as RunRow[];
    const written = rows.map((row) => ({ probe: row.probe, location: row.location, at: row.at, verdict: row.verdict as Verdict, figure: row.figure ?? undefined, headline: row.headline ?? undefined, phases: safeJson(row.phases) as Record<string, number> }));
    const queued = this.pending.filter((r) => r.probe === probe && r.at >= from && r.at < to).map((r) => ({ ...r, location: this.options.location }));
    return [...written, ...queued].slice(0, limit);
  }

  /** A probe's daily rows from `from` on, and its incidents that touch them: what the overview
   * draws for each probe of the fleet. Every probe's written rows are read in one query once a
   * minute (or when an incident opens or closes); the day in progress always comes from memory. */
  probeDays(probe: string, from: number): { days: Aggregate[]; incidents: IncidentRecord[] } {
    const now = this.options.clock.now();
    if (!this.dayCache || this.dayCache.from !== from || now - this.dayCache.at > 60_000) {
      // The columns the bars need, all in the index: 90 days of 1,000 probes read in one pass.
      const rows = this.db.prepare("SELECT probe, location, span, start, runs, ok, degraded, failed, down_ms, NULL AS p50, NULL AS p95, NULL AS p99 FROM aggregates WHERE span = 'day' AND start >= ? ORDER BY start").all(Math.round(from)) as unknown as AggregateRow[];
      const incidents = (this.db.prepare('SELECT * FROM incidents WHERE ended_at IS NULL OR ended_at >= ? ORDER BY started_at DESC LIMIT 10000').all(Math.round(from)) as unknown as IncidentRow[]).map(incidentOf);
      const days = new Map<string, Aggregate[]>();
      for (const row of rows) pushTo(days, row.probe, aggregateOf(row));
      const byProbe = new Map<string, IncidentRecord[]>();
      for (const i of incidents) pushTo(byProbe, i.probe, i);
      this.dayCache = { from, at: now, days, incidents: byProbe };
    }
    const { location } = this.options;
    const merged = new Map((this.dayCache.days.get(probe) ?? []).map((a) => [`${a.location} ${a.start}`, a]));
    const memory = this.probes.get(probe);
    for (const b of [...this.finished.filter((f) => f.probe === probe && f.span === 'day').map((f) => f.bucket), ...(memory?.day ? [memory.day] : [])]) {
      if (b.start >= from) merged.set(`${location} ${b.start}`, aggregateOfBucket(probe, location, 'day', b));
    }
    const incidents = new Map((this.dayCache.incidents.get(probe) ?? []).map((i) => [i.id, i]));
    const open = this.incidents.get(probe);
    for (const i of [...(open ? [open] : []), ...this.closedIncidents.filter((c) => c.probe === probe)]) incidents.set(i.id === 0 ? -incidents.size - 1 : i.id, i);
    return { days: [...merged.values()].sort((a, b) => a.start - b.start), incidents: [...incidents.values()] };
  }

  private dayCache: { from: number; at: number; days: Map<string, Aggregate[]>; incidents: Map<string, IncidentRecord[]> } | undefined;

  /** Incidents, newest first. */
  incidentList(filter: { probe?: string | undefined; state?: 'open' | 'closed' | undefined; from?: number | undefined; to?: number | undefined; limit: number }): IncidentRecord[] {
    const where = ['started_at >= ?', 'started_at < ?'];
    const args: Array<string | number> = [Math.round(filter.from ?? 0), Math.round(filter.to ?? Number.MAX_SAFE_INTEGER)];
    if (filter.probe !== undefined) (where.push('probe = ?'), args.push(filter.probe));
    if (filter.state === 'open') where.push('ended_at IS NULL');
    if (filter.state === 'closed') where.push('ended_at IS NOT NULL');
    const rows = this.db.prepare(`SELECT * FROM incidents WHERE ${where.join(' AND ')} ORDER BY started_at DESC LIMIT ?`).all(...args, filter.limit) as unknown as IncidentRow[];
    const byId = new Map(rows.map((row) => [row.id, incidentOf(row)]));
    // Not yet written, or written and changed since: memory is newer.
    for (const i of [...this.incidents.values(), ...this.closedIncidents]) {
      const matches = (filter.probe === undefined || i.probe === filter.probe) && (filter.state === undefined || (filter.state === 'open') === (i.endedAt === undefined)) && i.startedAt >= (filter.from ?? 0) && i.startedAt < (filter.to ?? Number.MAX_SAFE_INTEGER);
      if (matches) byId.set(i.id === 0 ? -byId.size - 1 : i.id, { ...i, timeline: [...i.timeline] });
      // The written row is older (an incident closed since): it no longer matches.
      else if (i.id !== 0) byId.delete(i.id);
    }
    return [...byId.values()].sort((a, b) => b.startedAt - a.startedAt).slice(0, filter.limit);
  }
}

interface RunRow {
  probe: string;
  location: string;
  at: number;
  verdict: string;
  figure: number | null;
  headline: string | null;
  phases: string;
}

interface AggregateRow {
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

interface IncidentRow {
  id: number;
  probe: string;
  location: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  cause: string;
  timeline: string;
}

function aggregateOf(row: AggregateRow): Aggregate {
  return { probe: row.probe, location: row.location, span: row.span, start: row.start, runs: row.runs, ok: row.ok, degraded: row.degraded, failed: row.failed, downMs: row.down_ms, p50: row.p50 ?? undefined, p95: row.p95 ?? undefined, p99: row.p99 ?? undefined };
}

function aggregateOfBucket(probe: string, location: string, span: Span, b: Bucket): Aggregate {
  return { probe, location, span, start: b.start, runs: b.runs, ok: b.ok, degraded: b.degraded, failed: b.failed, downMs: b.downMs, p50: b.sketch.percentile(50), p95: b.sketch.percentile(95), p99: b.sketch.percentile(99) };
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
