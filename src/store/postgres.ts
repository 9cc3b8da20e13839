// The history store in PostgreSQL (history.postgres.url): the same tables as SQLite, so every
// daemon of a fleet (shards of a location, several locations) writes to one store and any
// daemon's page shows the whole fleet. node-postgres with a small pool; a batch is one
// transaction of a few statements (runs, hours and days go in as one JSON document a table, not
// a row at a time).
import pg from 'pg';
import { NewerSchemaError, whereOf, type AggregateRow, type Backend, type Batch, type BucketRow, type IncidentQuery, type IncidentRow, type ProbeRow, type RunRow, type Span } from './backend.js';

/** MIGRATIONS[n] takes the schema from version n to n + 1; the numbers follow SQLite's. */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  // 1: runs, aggregates, incidents.
  `CREATE TABLE runs (probe TEXT NOT NULL, location TEXT NOT NULL, shard TEXT NOT NULL, at BIGINT NOT NULL,
     verdict TEXT NOT NULL, figure DOUBLE PRECISION, headline TEXT, phases TEXT NOT NULL);
   CREATE INDEX runs_probe_at ON runs (probe, at);
   CREATE INDEX runs_at ON runs (at);
   CREATE TABLE aggregates (probe TEXT NOT NULL, location TEXT NOT NULL, span TEXT NOT NULL, start BIGINT NOT NULL,
     shard TEXT NOT NULL, runs INTEGER NOT NULL, ok INTEGER NOT NULL, degraded INTEGER NOT NULL, failed INTEGER NOT NULL,
     down_ms BIGINT NOT NULL, p50 DOUBLE PRECISION, p95 DOUBLE PRECISION, p99 DOUBLE PRECISION, sketch TEXT NOT NULL,
     PRIMARY KEY (probe, span, start, location));
   CREATE INDEX aggregates_start ON aggregates (span, start) INCLUDE (probe, location, runs, ok, degraded, failed, down_ms);
   CREATE TABLE incidents (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, probe TEXT NOT NULL, location TEXT NOT NULL,
     shard TEXT NOT NULL, started_at BIGINT NOT NULL, ended_at BIGINT, duration_ms BIGINT, cause TEXT NOT NULL, timeline TEXT NOT NULL);
   CREATE INDEX incidents_probe ON incidents (probe, started_at);
   CREATE INDEX incidents_started ON incidents (started_at);`,
  // 2: the fleet's directory of probes.
  `CREATE TABLE probes (probe TEXT NOT NULL, location TEXT NOT NULL, shard TEXT NOT NULL, kind TEXT,
     last_at BIGINT NOT NULL, verdict TEXT NOT NULL, figure DOUBLE PRECISION, headline TEXT, PRIMARY KEY (probe, location));
   INSERT INTO probes (probe, location, shard, kind, last_at, verdict, figure, headline)
     SELECT DISTINCT ON (probe, location) probe, location, shard, NULL, at, verdict, figure, headline FROM runs ORDER BY probe, location, at DESC;`,
];
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/** Held while a daemon migrates, so three starting at once migrate once. */
const MIGRATION_LOCK = 0x666c6f77; // "flow"
const CONNECT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 15_000;

/** Times are epoch milliseconds in BIGINT: well within a double, so read as numbers. */
const types = { getTypeParser: ((oid: number, format?: string) => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format as 'text'))) as pg.CustomTypesConfig['getTypeParser'] };

/** Connects, and brings the schema up to date (or refuses a newer one). */
export async function openPostgres(url: string): Promise<PostgresBackend> {
  const where = whereOf(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    statement_timeout: QUERY_TIMEOUT_MS,
    application_name: 'flowprobe',
    types,
  });
  // An idle connection the server closed (a restart) is dropped by the pool; the next query
  // makes a new one or fails, and that failure is what the store reports.
  pool.on('error', () => {});
  try {
    await migrate(pool, where);
  } catch (error) {
    await pool.end().catch(() => {});
    throw inWords(error, where);
  }
  return new PostgresBackend(where, pool);
}

/** A pooled connection, heard while checked out: pg-pool drops its own 'error' listener on
 * checkout, and a connection the server ends mid-transaction emits 'error' besides rejecting
 * the query (which is what the caller handles). Unheard, that event ended the process (found by
 * the fleet test with the server stopped mid-batch). */
async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  client.on('error', ignoreError);
  return client;
}

/** Back to the pool; a connection whose transaction failed is closed rather than reused. */
function checkin(client: pg.PoolClient, failed: boolean): void {
  client.removeListener('error', ignoreError);
  client.release(failed);
}

function ignoreError(): void {}

async function migrate(pool: pg.Pool, where: string): Promise<void> {
  const client = await checkout(pool);
  let failed = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS flowprobe_schema (version INTEGER NOT NULL)');
    const version = ((await client.query<{ version: number }>('SELECT version FROM flowprobe_schema')).rows[0]?.version ?? 0) as number;
    if (version > POSTGRES_SCHEMA_VERSION) throw new NewerSchemaError(`the history database ${where} has schema version ${version}; this flowprobe knows up to ${POSTGRES_SCHEMA_VERSION} (was it written by a newer release?). Run the newer release everywhere, or point this daemon at another database.`);
    for (let v = version; v < POSTGRES_SCHEMA_VERSION; v++) await client.query(POSTGRES_MIGRATIONS[v] as string);
    if (version === 0) await client.query('INSERT INTO flowprobe_schema (version) VALUES ($1)', [POSTGRES_SCHEMA_VERSION]);
    else if (version < POSTGRES_SCHEMA_VERSION) await client.query('UPDATE flowprobe_schema SET version = $1', [POSTGRES_SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (error) {
    failed = true;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    checkin(client, failed);
  }
}

export class PostgresBackend implements Backend {
  readonly engine = 'postgres';

  constructor(
    readonly where: string,
    private readonly pool: pg.Pool,
  ) {}

  async write(batch: Batch): Promise<number[]> {
    const { location, shard } = batch;
    let client: pg.PoolClient | undefined;
    let failed = false;
    try {
      client = await checkout(this.pool);
      await client.query('BEGIN');
      // Each table's rows go in as one JSON document (json_to_recordset): one statement, and
      // JSON.stringify does the quoting (node-postgres's array literals quote in JavaScript).
      if (batch.runs.length > 0) {
        await client.query(
          `INSERT INTO runs (probe, location, shard, at, verdict, figure, headline, phases)
           SELECT probe, $1, $2, at, verdict, figure, headline, phases
           FROM json_to_recordset($3::json) AS r(probe text, at bigint, verdict text, figure float8, headline text, phases text)`,
          [location, shard, JSON.stringify(batch.runs)],
        );
      }
      if (batch.buckets.length > 0) {
        await client.query(
          `INSERT INTO aggregates (probe, location, span, start, shard, runs, ok, degraded, failed, down_ms, p50, p95, p99, sketch)
           SELECT probe, $1, span, start, $2, runs, ok, degraded, failed, down_ms, p50, p95, p99, sketch
           FROM json_to_recordset($3::json)
             AS b(probe text, span text, start bigint, runs int, ok int, degraded int, failed int, down_ms bigint, p50 float8, p95 float8, p99 float8, sketch text)
           ON CONFLICT (probe, span, start, location) DO UPDATE SET shard = excluded.shard, runs = excluded.runs, ok = excluded.ok,
             degraded = excluded.degraded, failed = excluded.failed, down_ms = excluded.down_ms, p50 = excluded.p50, p95 = excluded.p95,
             p99 = excluded.p99, sketch = excluded.sketch`,
          [location, shard, JSON.stringify(batch.buckets)],
        );
      }
      const ids: number[] = [];
      for (const i of batch.incidents) {
        if (i.id === 0) {
          const inserted = await client.query<{ id: number }>('INSERT INTO incidents (probe, location, shard, started_at, ended_at, duration_ms, cause, timeline) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id', [i.probe, location, shard, i.started_at, i.ended_at, i.duration_ms, i.cause, i.timeline]);
          ids.push(Number(inserted.rows[0]?.id));
        } else await client.query('UPDATE incidents SET ended_at = $1, duration_ms = $2, cause = $3, timeline = $4 WHERE id = $5', [i.ended_at, i.duration_ms, i.cause, i.timeline, i.id]);
      }
      if (batch.probes.length > 0) {
        await client.query(
          `INSERT INTO probes (probe, location, shard, kind, last_at, verdict, figure, headline)
           SELECT probe, $1, $2, kind, last_at, verdict, figure, headline
           FROM json_to_recordset($3::json) AS p(probe text, kind text, last_at bigint, verdict text, figure float8, headline text)
           ON CONFLICT (probe, location) DO UPDATE SET shard = excluded.shard, kind = excluded.kind, last_at = excluded.last_at,
             verdict = excluded.verdict, figure = excluded.figure, headline = excluded.headline WHERE excluded.last_at >= probes.last_at`,
          [location, shard, JSON.stringify(batch.probes)],
        );
      }
      await client.query('COMMIT');
      return ids;
    } catch (error) {
      failed = true;
      await client?.query('ROLLBACK').catch(() => {});
      throw inWords(error, this.where);
    } finally {
      if (client) checkin(client, failed);
    }
  }

  async buckets(location: string, keys: ReadonlyArray<{ probe: string; span: Span; start: number }>): Promise<BucketRow[]> {
    if (keys.length === 0) return [];
    return this.all(
      `SELECT a.probe, a.span, a.start, a.runs, a.ok, a.degraded, a.failed, a.down_ms, a.sketch
       FROM unnest($1::text[], $2::text[], $3::bigint[]) AS k(probe, span, start)
       JOIN aggregates a ON a.probe = k.probe AND a.span = k.span AND a.start = k.start AND a.location = $4`,
      [keys.map((k) => k.probe), keys.map((k) => k.span), keys.map((k) => k.start), location],
    );
  }

  async aggregates(probe: string, location: string | undefined, span: Span, from: number, to: number, limit: number): Promise<AggregateRow[]> {
    return this.all('SELECT probe, location, span, start, runs, ok, degraded, failed, down_ms, p50, p95, p99 FROM aggregates WHERE probe = $1 AND span = $2 AND start >= $3 AND start < $4 AND ($6::text IS NULL OR location = $6) ORDER BY start LIMIT $5', [probe, span, from, to, limit, location ?? null]);
  }

  async runs(probe: string, location: string | undefined, from: number, to: number, limit: number): Promise<RunRow[]> {
    return this.all('SELECT probe, location, at, verdict, figure, headline, phases FROM runs WHERE probe = $1 AND at >= $2 AND at < $3 AND ($5::text IS NULL OR location = $5) ORDER BY at LIMIT $4', [probe, from, to, limit, location ?? null]);
  }

  async days(from: number): Promise<AggregateRow[]> {
    return this.all("SELECT probe, location, span, start, runs, ok, degraded, failed, down_ms, NULL::float8 AS p50, NULL::float8 AS p95, NULL::float8 AS p99 FROM aggregates WHERE span = 'day' AND start >= $1 ORDER BY start", [from]);
  }

  async incidents(query: IncidentQuery): Promise<IncidentRow[]> {
    const where = ['started_at >= $1', 'started_at < $2'];
    const args: Array<string | number> = [query.from, query.to];
    if (query.probe !== undefined) (args.push(query.probe), where.push(`probe = $${args.length}`));
    if (query.location !== undefined) (args.push(query.location), where.push(`location = $${args.length}`));
    if (query.state === 'open') where.push('ended_at IS NULL');
    if (query.state === 'closed') where.push('ended_at IS NOT NULL');
    if (query.endedFrom !== undefined) (args.push(query.endedFrom), where.push(`(ended_at IS NULL OR ended_at >= $${args.length})`));
    args.push(query.limit);
    return this.all(`SELECT * FROM incidents WHERE ${where.join(' AND ')} ORDER BY started_at DESC LIMIT $${args.length}`, args);
  }

  async openIncidents(location: string): Promise<IncidentRow[]> {
    return this.all('SELECT * FROM incidents WHERE location = $1 AND ended_at IS NULL', [location]);
  }

  async fleet(): Promise<ProbeRow[]> {
    return this.all('SELECT * FROM probes ORDER BY probe, location LIMIT 100000', []);
  }

  async prune(cutoffs: { runs: number; hourly: number; daily: number; incidents: number }, limit: number): Promise<{ runs: number; aggregates: number; incidents: number }> {
    const del = async (sql: string, before: number) => (await this.query(sql, [before, limit])).rowCount ?? 0;
    return {
      runs: await del('DELETE FROM runs WHERE ctid IN (SELECT ctid FROM runs WHERE at < $1 LIMIT $2)', cutoffs.runs),
      aggregates:
        (await del("DELETE FROM aggregates WHERE ctid IN (SELECT ctid FROM aggregates WHERE span = 'hour' AND start < $1 LIMIT $2)", cutoffs.hourly)) +
        (await del("DELETE FROM aggregates WHERE ctid IN (SELECT ctid FROM aggregates WHERE span = 'day' AND start < $1 LIMIT $2)", cutoffs.daily)),
      incidents: await del('DELETE FROM incidents WHERE id IN (SELECT id FROM incidents WHERE ended_at IS NOT NULL AND ended_at < $1 LIMIT $2)', cutoffs.incidents),
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async all<T>(sql: string, args: unknown[]): Promise<T[]> {
    return (await this.query(sql, args)).rows as T[];
  }

  private async query(sql: string, args: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.pool.query(sql, args);
    } catch (error) {
      throw inWords(error, this.where);
    }
  }
}

/** PostgreSQL's and the socket's errors in words, the code after them. */
const PG_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'no answer in time',
  ENOTFOUND: 'the host name does not resolve',
  EHOSTUNREACH: 'the host is unreachable',
  '57P01': 'the server is shutting down',
  '57P03': 'the server is starting up or shutting down',
  '28P01': 'authentication failed (password)',
  '28000': 'authentication failed',
  '3D000': 'the database does not exist',
  '53100': 'no space left on device',
  '53300': 'too many connections',
  '57014': 'a statement ran past its timeout',
  '25006': 'the server is read-only (a replica?)',
};

function inWords(error: unknown, where: string): unknown {
  if (error instanceof NewerSchemaError) return error;
  const { code, message } = error as { code?: string; message?: string };
  const words = (code !== undefined && PG_WORDS[code]) || (/timeout|timed out/i.test(message ?? '') ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s` : /terminated|closed/i.test(message ?? '') ? 'the connection was closed' : undefined);
  const text = words === undefined ? `${message ?? String(error)}${code ? ` (PostgreSQL ${code})` : ''}` : `${words}: ${where} (${code ?? message})`;
  return Object.assign(new Error(text), { cause: error });
}
