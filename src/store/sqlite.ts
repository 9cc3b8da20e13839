// The history store in SQLite (node:sqlite), in the state directory: no server to run. WAL, so
// the page reads while a batch is written; a file that is not (or no longer) a database is moved
// aside and a new one started, like the other state files.
import { chmodSync, closeSync, existsSync, openSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { makeDirectory } from '../detect/state-file.js';
import { NewerSchemaError, type AggregateRow, type Backend, type Batch, type BucketRow, type IncidentQuery, type IncidentRow, type ProbeRow, type RunRow, type Span } from './backend.js';

/** MIGRATIONS[n] takes a database from schema version n to n + 1 (PRAGMA user_version). */
export const SQLITE_MIGRATIONS: readonly string[] = [
  // 1: runs, aggregates, incidents.
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
  // 2: the fleet's directory of probes, filled from the runs a version-1 database holds.
  `CREATE TABLE probes (probe TEXT NOT NULL, location TEXT NOT NULL, shard TEXT NOT NULL, kind TEXT,
     last_at INTEGER NOT NULL, verdict TEXT NOT NULL, figure REAL, headline TEXT, PRIMARY KEY (probe, location)) WITHOUT ROWID;
   INSERT INTO probes (probe, location, shard, kind, last_at, verdict, figure, headline)
     SELECT probe, location, shard, NULL, MAX(at), verdict, figure, headline FROM runs GROUP BY probe, location;`,
];
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length;

export class CorruptDatabaseError extends Error {}

/** Opens (or creates) the database file. A file that cannot be read as a database is moved
 * aside and a new one started: `movedTo` says where. */
export async function openSqlite(file: string, now: number): Promise<{ backend: SqliteBackend; movedTo: string | undefined; reason: string | undefined }> {
  const { DatabaseSync } = await import('node:sqlite');
  makeDirectory(path.dirname(file));
  // Made here first, so a full disk or a wrong owner reads as such ("no space left on device"),
  // not as SQLite's "unable to open database file". An empty file is a new database to SQLite.
  closeSync(openSync(file, 'a', 0o600));
  try {
    return { backend: new SqliteBackend(file, open(DatabaseSync, file)), movedTo: undefined, reason: undefined };
  } catch (error) {
    // Only a file that is not (or no longer) a database is moved aside; one that cannot be
    // opened (permissions, a full disk) is left alone and the error goes to the caller.
    if (!(error instanceof CorruptDatabaseError) && !CORRUPT_CODES.has((error as { errcode?: number }).errcode ?? 0)) throw inWords(error);
    const aside = `${file}.unreadable-${new Date(now).toISOString().replaceAll(':', '')}`;
    for (const suffix of ['', '-wal', '-shm']) if (existsSync(file + suffix)) renameSync(file + suffix, aside + suffix);
    return { backend: new SqliteBackend(file, open(DatabaseSync, file)), movedTo: aside, reason: (error as Error).message };
  }
}

/** SQLite's result codes in the words the rest of the daemon uses, the code after them. */
const SQLITE_WORDS: Record<number, string> = { 5: 'the database is locked by another process', 8: 'the database is read-only', 10: 'an I/O error', 13: 'no space left on device', 14: 'the file cannot be opened' };

export function inWords(error: unknown): unknown {
  const { errcode, errstr } = error as { errcode?: number; errstr?: string };
  const words = errcode === undefined ? undefined : SQLITE_WORDS[errcode & 0xff];
  return words === undefined ? error : Object.assign(new Error(`${words} (SQLite: ${errstr ?? (error as Error).message})`), { cause: error });
}
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
    if (check?.quick_check !== 'ok') throw new CorruptDatabaseError(`quick_check: ${check?.quick_check ?? 'no answer'}`);
    const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
    if (version > SQLITE_SCHEMA_VERSION) throw new NewerSchemaError(`the history database ${file} has schema version ${version}; this flowprobe knows up to ${SQLITE_SCHEMA_VERSION} (was it written by a newer release?). Move it aside or run the newer release.`);
    for (let v = version; v < SQLITE_SCHEMA_VERSION; v++) {
      db.exec('BEGIN');
      db.exec(SQLITE_MIGRATIONS[v] as string);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec('COMMIT');
    }
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export class SqliteBackend implements Backend {
  readonly engine = 'sqlite';
  private readonly sql: Record<'insertRun' | 'upsertAggregate' | 'insertIncident' | 'updateIncident' | 'bucket' | 'upsertProbe', StatementSync>;

  constructor(
    readonly where: string,
    private readonly db: DatabaseSync,
  ) {
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
      bucket: db.prepare('SELECT probe, span, start, runs, ok, degraded, failed, down_ms, sketch FROM aggregates WHERE probe = ? AND span = ? AND start = ? AND location = ?'),
      upsertProbe: db.prepare(
        `INSERT INTO probes (probe, location, shard, kind, last_at, verdict, figure, headline) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (probe, location) DO UPDATE SET shard = excluded.shard, kind = excluded.kind, last_at = excluded.last_at,
           verdict = excluded.verdict, figure = excluded.figure, headline = excluded.headline WHERE excluded.last_at >= probes.last_at`,
      ),
    };
  }

  async write(batch: Batch): Promise<number[]> {
    const { location, shard } = batch;
    const ids: number[] = [];
    try {
      this.db.exec('BEGIN');
      for (const r of batch.runs) this.sql.insertRun.run(r.probe, location, shard, r.at, r.verdict, r.figure, r.headline, r.phases);
      for (const b of batch.buckets) this.sql.upsertAggregate.run(b.probe, location, b.span, b.start, shard, b.runs, b.ok, b.degraded, b.failed, b.down_ms, b.p50, b.p95, b.p99, b.sketch);
      for (const i of batch.incidents) {
        if (i.id === 0) ids.push(Number(this.sql.insertIncident.run(i.probe, location, shard, i.started_at, i.ended_at, i.duration_ms, i.cause, i.timeline).lastInsertRowid));
        else this.sql.updateIncident.run(i.ended_at, i.duration_ms, i.cause, i.timeline, i.id);
      }
      for (const p of batch.probes) this.sql.upsertProbe.run(p.probe, location, shard, p.kind, p.last_at, p.verdict, p.figure, p.headline);
      this.db.exec('COMMIT');
      return ids;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw inWords(error);
    }
  }

  async buckets(location: string, keys: ReadonlyArray<{ probe: string; span: Span; start: number }>): Promise<BucketRow[]> {
    return this.read(() => keys.map((k) => this.sql.bucket.get(k.probe, k.span, k.start, location) as unknown as BucketRow | undefined).filter((row) => row !== undefined));
  }

  async aggregates(probe: string, location: string | undefined, span: Span, from: number, to: number, limit: number): Promise<AggregateRow[]> {
    const at = location === undefined ? '' : ' AND location = ?';
    return this.all(`SELECT probe, location, span, start, runs, ok, degraded, failed, down_ms, p50, p95, p99 FROM aggregates WHERE probe = ? AND span = ? AND start >= ? AND start < ?${at} ORDER BY start LIMIT ?`, probe, span, from, to, ...(location === undefined ? [] : [location]), limit);
  }

  async runs(probe: string, location: string | undefined, from: number, to: number, limit: number): Promise<RunRow[]> {
    const at = location === undefined ? '' : ' AND location = ?';
    return this.all(`SELECT probe, location, at, verdict, figure, headline, phases FROM runs WHERE probe = ? AND at >= ? AND at < ?${at} ORDER BY at LIMIT ?`, probe, from, to, ...(location === undefined ? [] : [location]), limit);
  }

  async days(from: number): Promise<AggregateRow[]> {
    // The columns the bars need, all in the index: 90 days of 1,000 probes read in one pass.
    return this.all("SELECT probe, location, span, start, runs, ok, degraded, failed, down_ms, NULL AS p50, NULL AS p95, NULL AS p99 FROM aggregates WHERE span = 'day' AND start >= ? ORDER BY start", from);
  }

  async incidents(query: IncidentQuery): Promise<IncidentRow[]> {
    const where = ['started_at >= ?', 'started_at < ?'];
    const args: Array<string | number> = [query.from, query.to];
    if (query.probe !== undefined) (where.push('probe = ?'), args.push(query.probe));
    if (query.location !== undefined) (where.push('location = ?'), args.push(query.location));
    if (query.state === 'open') where.push('ended_at IS NULL');
    if (query.state === 'closed') where.push('ended_at IS NOT NULL');
    if (query.endedFrom !== undefined) (where.push('(ended_at IS NULL OR ended_at >= ?)'), args.push(query.endedFrom));
    return this.all(`SELECT * FROM incidents WHERE ${where.join(' AND ')} ORDER BY started_at DESC LIMIT ?`, ...args, query.limit);
  }

  async openIncidents(location: string): Promise<IncidentRow[]> {
    return this.all('SELECT * FROM incidents WHERE location = ? AND ended_at IS NULL', location);
  }

  async fleet(): Promise<ProbeRow[]> {
    return this.all('SELECT * FROM probes ORDER BY probe, location LIMIT 100000');
  }

  async prune(cutoffs: { runs: number; hourly: number; daily: number; incidents: number }, limit: number): Promise<{ runs: number; aggregates: number; incidents: number }> {
    const del = (sql: string, before: number) => Number(this.db.prepare(sql).run(before, limit).changes);
    return this.read(() => ({
      runs: del('DELETE FROM runs WHERE rowid IN (SELECT rowid FROM runs WHERE at < ? LIMIT ?)', cutoffs.runs),
      aggregates:
        del("DELETE FROM aggregates WHERE (probe, span, start, location) IN (SELECT probe, span, start, location FROM aggregates WHERE span = 'hour' AND start < ? LIMIT ?)", cutoffs.hourly) +
        del("DELETE FROM aggregates WHERE (probe, span, start, location) IN (SELECT probe, span, start, location FROM aggregates WHERE span = 'day' AND start < ? LIMIT ?)", cutoffs.daily),
      incidents: del('DELETE FROM incidents WHERE id IN (SELECT id FROM incidents WHERE ended_at IS NOT NULL AND ended_at < ? LIMIT ?)', cutoffs.incidents),
    }));
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private all<T>(sql: string, ...args: Array<string | number>): T[] {
    return this.read(() => this.db.prepare(sql).all(...args) as unknown as T[]);
  }

  private read<T>(body: () => T): T {
    try {
      return body();
    } catch (error) {
      throw inWords(error);
    }
  }
}
