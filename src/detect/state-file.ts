// Durable JSON state under the state directory: written to a temporary file, fsynced, renamed
// over the old one, so a crash leaves either the old or the new state, never half of one. On
// load the content goes through the same kind of validating schema as any other input; a file
// whose whole does not pass is read record by record where its shape allows (one bad silence
// must not cost the outbox), and what could not be read is named.
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readBoundedFile } from '../config/files.js';
import { formatKeyPath } from '../config/diagnostics.js';

/** A state file larger than this is not ours (the outbox and detector state stay far below). */
const MAX_STATE_BYTES = 256 * 1024 * 1024;

const EARLIEST = Date.UTC(2000, 0, 1);
const DAY_MS = 86_400_000;

/** A moment a state file may hold (epoch ms, fractions allowed: the clock has them): not before
 * 2000, not further ahead of this host's clock than `aheadMs` (a time past that is a corrupt
 * record, and would read as a negative age or an invalid date). Read back exactly as written. */
export function epochMs(aheadMs = DAY_MS) {
  return z
    .number()
    .finite()
    .refine((t) => t >= EARLIEST && t <= Date.now() + aheadMs, { error: `expected a time between 2000 and ${formatAhead(aheadMs)} from now (epoch ms)` });
}

function formatAhead(ms: number): string {
  return ms % DAY_MS === 0 ? `${ms / DAY_MS} day(s)` : `${ms} ms`;
}

/** Reads what it can of a state whose whole did not pass its schema: each record on its own.
 * `lost` names what was dropped; undefined when not even the outline is there. */
export type Salvage<T> = (raw: unknown) => { value: T; lost: string[] } | undefined;

/** The records of an object (by key) that pass `schema`; the others are named in `lost`. */
export function keepRecords<R>(raw: unknown, schema: z.ZodType<R, unknown>, what: string, lost: string[]): Record<string, R> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    if (raw !== undefined) lost.push(`${what}: not a record`);
    return {};
  }
  const kept: Record<string, R> = {};
  for (const [key, value] of Object.entries(raw)) {
    const parsed = schema.safeParse(value);
    if (parsed.success) kept[key] = parsed.data;
    else lost.push(`${what} ${JSON.stringify(key)}: ${issueOf(parsed.error)}`);
  }
  return kept;
}

/** The items of an array that pass `schema`; the others are named in `lost`. */
export function keepItems<R>(raw: unknown, schema: z.ZodType<R, unknown>, what: string, lost: string[], name: (item: unknown) => string = () => ''): R[] {
  if (!Array.isArray(raw)) {
    if (raw !== undefined) lost.push(`${what}: not a list`);
    return [];
  }
  return raw.flatMap((item, index) => {
    const parsed = schema.safeParse(item);
    if (parsed.success) return [parsed.data];
    lost.push(`${what}[${index}]${name(item)}: ${issueOf(parsed.error)}`);
    return [];
  });
}

function issueOf(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${formatKeyPath(issue.path as Array<string | number>) || '(top level)'}: ${issue.message}` : 'unexpected shape';
}

/** mkdir -p, one level at a time. Node's own recursive mkdirSync never returns for a path under
 * /proc (mkdir there answers ENOENT for ever): a stateDir of /proc/1/nope/state froze the daemon
 * at 100 % CPU on its first save, SIGTERM included. Throws the first error, like mkdir -p. */
export function makeDirectory(dir: string): void {
  const absolute = path.resolve(dir);
  const missing: string[] = [];
  for (let at = absolute; ; at = path.dirname(at)) {
    if (existsSync(at)) break;
    missing.unshift(at);
    if (path.dirname(at) === at) break;
  }
  for (const at of missing) {
    try {
      mkdirSync(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Why `dir` cannot hold the state (created if missing, a file written and removed), or undefined. */
export function stateDirProblem(dir: string): string | undefined {
  const probe = path.join(dir, `.flowprobe-check-${process.pid}`);
  try {
    makeDirectory(dir);
    writeFileSync(probe, 'ok', { mode: 0o600 });
    unlinkSync(probe);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return `cannot create or write it (${code ?? String(error)})`;
  }
}

export class StateFile<T> {
  /** Why the last load found nothing usable (unreadable, corrupt), for the daemon to report. */
  problem: string | undefined;
  /** What the last load could not read and dropped (records, or the whole file). */
  lost: string[] = [];

  constructor(
    readonly file: string,
    private readonly schema: z.ZodType<T, unknown>,
    private readonly salvage?: Salvage<T>,
  ) {}

  /** The saved value, or undefined if there is none or it cannot be used. Never throws: a
   * monitor that cannot start because of its own state file would be a crash loop. A file that
   * is not valid JSON, or not the expected shape, is moved aside (…corrupt-<time>) so nothing is
   * overwritten that someone may want. */
  load(): T | undefined {
    const read = readBoundedFile(this.file, MAX_STATE_BYTES);
    if (typeof read === 'string') {
      if (read === 'ENOENT') return undefined;
      if (read === 'not a regular file' || read.startsWith('larger than')) return this.moveAside(`is ${read}`);
      this.problem = `cannot read ${this.file} (${read}): starting from an empty state`;
      this.lost = [`all of ${path.basename(this.file)} (unreadable)`];
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(read.toString('utf8'));
    } catch {
      return this.moveAside('was not valid JSON');
    }
    const parsed = this.schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const salvaged = this.salvage?.(value);
    if (salvaged) {
      // The file as it was stays beside the state, for whoever wants what was dropped.
      const aside = this.asideName();
      let kept = `kept as ${aside}`;
      try {
        copyFileSync(this.file, aside);
      } catch (error) {
        kept = `could not be copied aside: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
      }
      this.lost = salvaged.lost;
      this.problem = `${this.file}: ${salvaged.lost.length} record(s) could not be read and were dropped, the rest was kept (the file as it was ${kept}): ${salvaged.lost.slice(0, 10).join('; ')}${salvaged.lost.length > 10 ? `; +${salvaged.lost.length - 10} more` : ''}`;
      return salvaged.value;
    }
    return this.moveAside(`did not have the expected shape (${issueOf(parsed.error)})`);
  }

  private asideName(): string {
    return `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  }

  private moveAside(why: string): undefined {
    const aside = this.asideName();
    this.lost = [`all of ${path.basename(this.file)}`];
    try {
      renameSync(this.file, aside);
      this.problem = `${this.file} ${why} (moved to ${aside}): starting from an empty state`;
    } catch (error) {
      // Leave it where it is; it will be overwritten by the next save.
      this.problem = `${this.file} ${why} and could not be moved aside (${(error as NodeJS.ErrnoException).code ?? String(error)}): starting from an empty state`;
    }
    return undefined;
  }

  save(value: T): void {
    makeDirectory(path.dirname(this.file));
    const temporary = `${this.file}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(value));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.file);
  }
}
