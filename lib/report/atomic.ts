/**
 * Whole-file writes that never leave a half-written table or figure behind: write a temporary file
 * beside the target, fsync, rename over the target (atomic within one file system on POSIX).
 * A reader sees the old file or the new one, never a mix; a failure leaves the old one untouched.
 */
import * as fs from 'fs';
import * as path from 'path';
import { writeError } from './runs';

/** Creates `dir` (and parents) or throws a ResultsWriteError naming it and what to do. */
export function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw writeError(e, 'create the results folder', dir);
  }
}

/** Writes `content` to `file` atomically (temp file + fsync + rename). Returns `file`. */
export function writeFileAtomic(file: string, content: string | Uint8Array): string {
  ensureDir(path.dirname(file));
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  let fd = -1;
  try {
    fd = fs.openSync(tmp, 'wx');
    const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = -1;
    fs.renameSync(tmp, file);
    return file;
  } catch (e) {
    if (fd >= 0) {
      try {
        fs.closeSync(fd);
      } catch {
        /* ignore */
      }
    }
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* never created */
    }
    throw writeError(e, 'write', file);
  }
}
