// Durable JSON state under the state directory: written to a temporary file, fsynced, renamed
// over the old one, so a crash leaves either the old or the new state, never half of one. On
// load the content goes through the same kind of validating schema as any other input.
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { readBoundedFile } from '../config/files.js';
import { formatKeyPath } from '../config/diagnostics.js';

/** A state file larger than this is not ours (the outbox and detector state stay far below). */
const MAX_STATE_BYTES = 256 * 1024 * 1024;

export class StateFile<T> {
  /** Why the last load found nothing usable (unreadable, corrupt), for the daemon to report. */
  problem: string | undefined;

  constructor(
    readonly file: string,
    private readonly schema: z.ZodType<T, unknown>,
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
    const issue = parsed.error.issues[0];
    const where = issue ? `${formatKeyPath(issue.path as Array<string | number>) || '(top level)'}: ${issue.message}` : 'unexpected shape';
    return this.moveAside(`did not have the expected shape (${where})`);
  }

  private moveAside(why: string): undefined {
    const aside = `${this.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
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
    mkdirSync(path.dirname(this.file), { recursive: true });
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
