// Durable JSON state under the state directory: written to a temporary file, fsynced, renamed
// over the old one, so a crash leaves either the old or the new state, never half of one.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';

export class StateFile<T> {
  /** Why the last load found nothing usable (unreadable, corrupt), for the daemon to report. */
  problem: string | undefined;

  constructor(readonly file: string) {}

  /** The saved value, or undefined if there is none or it cannot be used. Never throws: a
   * monitor that cannot start because of its own state file would be a crash loop. A corrupt
   * file is moved aside (…corrupt-<time>) so nothing is overwritten that someone may want. */
  load(): T | undefined {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') this.problem = `cannot read ${this.file} (${code ?? String(error)}): starting from an empty state`;
      return undefined;
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      try {
        renameSync(this.file, aside);
      } catch {
        // Leave it where it is; it will be overwritten by the next save.
      }
      this.problem = `${this.file} was not valid JSON (moved to ${aside}): starting from an empty state`;
      return undefined;
    }
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
