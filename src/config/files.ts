// Reading a file a config names (a secret, a CA, a key, the config itself) without trusting it:
// only a regular file, only up to a size limit. A FIFO or a device (`/dev/zero`) would hang or
// fill memory; it is refused before a byte is read (opened non-blocking, then fstat).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { formatSize } from './units.js';

/** The file's bytes, or why it cannot be used ("not a regular file", "larger than 64 KiB", "ENOENT"). */
export function readBoundedFile(file: string, limit: number): Buffer | string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return 'not a regular file';
    if (stat.size > limit) return `larger than ${formatSize(limit)} (${formatSize(stat.size)})`;
    // The size may change under us: read at most limit + 1 bytes and refuse if that many came.
    const buffer = Buffer.alloc(Math.min(limit + 1, stat.size + 1));
    let filled = 0;
    for (;;) {
      const n = readSync(fd, buffer, filled, buffer.length - filled, null);
      if (n === 0) break;
      filled += n;
      if (filled === buffer.length) {
        if (filled > limit) return `larger than ${formatSize(limit)}`;
        break;
      }
    }
    return buffer.subarray(0, filled);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  } finally {
    closeSync(fd);
  }
}

/** A /proc file (regular, but reporting size 0): up to `limit` bytes, never blocking; the rest
 * is not read. Undefined when it cannot be read (the process ended, or it is not a file). */
export function readProcFile(file: string, limit: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(limit);
    let filled = 0;
    while (filled < limit) {
      const n = readSync(fd, buffer, filled, limit - filled, null);
      if (n === 0) break;
      filled += n;
    }
    return buffer.subarray(0, filled);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
