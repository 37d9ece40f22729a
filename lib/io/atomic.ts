/**
 * Whole-file writes that never leave a half-written table or figure behind: write a temporary file
 * beside the target, fsync, rename over the target (atomic within one file system on POSIX).
 * A reader sees the old file or the new one, never a mix; a failure leaves the old one untouched.
 * Also the one error type for failed writes (`ResultsWriteError`, with the fix in its message).
 */
import * as fs from 'fs';
import * as path from 'path';
import { EnvironmentError } from '../errors';

/** Writing results failed (permissions, read-only or full disk, a stuck lock). Names the path and the fix. */
export class ResultsWriteError extends EnvironmentError {
  override name = 'ResultsWriteError';
  constructor(
    message: string,
    readonly path: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

const ADVICE: { [code: string]: string } = {
  ENOSPC: 'the disk is full: free some space (or set REPRO_RESULTS to a folder on another disk) and rerun; finished runs are kept',
  EDQUOT: 'the disk quota is exhausted: free some space (or set REPRO_RESULTS to another folder) and rerun; finished runs are kept',
  EACCES: 'no permission to write there: fix the permissions or set REPRO_RESULTS to a writable folder',
  EPERM: 'no permission to write there: fix the permissions or set REPRO_RESULTS to a writable folder',
  EROFS: 'the file system is read-only: set REPRO_RESULTS to a folder on a writable disk',
  ENOTDIR: 'a part of the path is a file, not a folder: move that file away or set REPRO_RESULTS to another folder',
  EISDIR: 'the path is a folder: remove or rename it, or set REPRO_RESULTS to another folder',
  ELOOP: 'the path is a symbolic link, and results are never written through one (on a shared folder it could point at anyone\'s file): remove the link and rerun',
};

/** Wraps an fs error into a ResultsWriteError that says what failed, where, and what to do. */
export function writeError(e: unknown, what: string, p: string): ResultsWriteError {
  if (e instanceof ResultsWriteError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  const advice = (code && ADVICE[code]) ?? 'check that the folder exists and is writable, or set REPRO_RESULTS';
  const msg = `cannot ${what} ${p}: ${code ?? (e as Error)?.message ?? String(e)}; ${advice}`;
  return new ResultsWriteError(msg, p, code);
}

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

/**
 * Appends `text` to `file` (created 0644 if missing) without following a symbolic link at `file`: a link planted
 * in a results folder (a shared cluster folder) must not make the runner append to the file it points at.
 * Throws a ResultsWriteError (ELOOP) naming the link.
 */
export function appendNoFollow(file: string, text: string, what = 'append to'): void {
  let fd = -1;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
  } catch (e) {
    throw writeError(e, what, file);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

