/**
 * One lock-file protocol and one liveness check for the whole library: `<file>.lock` created with
 * O_EXCL holding "pid time nonce"; a lock whose pid is dead (on this host) or that is older than
 * `staleLockMs` is broken safely (moved aside, re-checked, then removed).
 */
import * as fs from 'fs';
import { ResultsWriteError, writeError } from './atomic';

export interface LockOptions {
  /** Give up waiting for the lock after this long (ms). Default 30 s. */
  lockTimeoutMs?: number;
  /** A lock older than this (ms) is stale even if its pid is alive (pids get reused). Default 60 s. */
  staleLockMs?: number;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** True when a process with this pid exists on this host. */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** A lock's content: the owner's pid (for the staleness check), the time, and a random part. */
function newToken(): string {
  return `${process.pid} ${Date.now()} ${Math.random().toString(36).slice(2)}\n`;
}

/** Creates the lock file holding `token`, exclusively: true when taken, false when it exists already. */
function createLock(lock: string, token: string): boolean {
  try {
    const fd = fs.openSync(lock, 'wx');
    try {
      fs.writeSync(fd, token);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError(e, 'create the lock file', lock);
    return false;
  }
}

/** Takes `<file>.lock`; returns the token written into it (to release only our own lock). */
export function acquireLock(lock: string, opts: LockOptions = {}): string {
  const token = newToken();
  const timeout = opts.lockTimeoutMs ?? 30_000;
  const staleMs = opts.staleLockMs ?? 60_000;
  const start = Date.now();
  let wait = 1;
  for (;;) {
    if (createLock(lock, token)) return token;
    breakIfStale(lock, staleMs);
    if (Date.now() - start > timeout) {
      throw new ResultsWriteError(
        `cannot lock ${lock}: held by another process for over ${Math.round(timeout / 1000)} s; ` +
          `if no run is writing results now, delete that file and rerun`,
        lock,
        'ETIMEDOUT',
      );
    }
    sleepMs(wait);
    wait = Math.min(wait * 2, 50);
  }
}

/** Removes a lock whose owner is dead or which is too old; safe against two processes breaking it at once. */
function breakIfStale(lock: string, staleMs: number): void {
  let content: string;
  let mtime: number;
  try {
    content = fs.readFileSync(lock, 'utf8');
    mtime = fs.statSync(lock).mtimeMs;
  } catch {
    return; // released meanwhile
  }
  const pid = Number(content.split(' ')[0]);
  const age = Date.now() - mtime;
  // An empty lock is one being written right now (open, then write): give its owner a moment.
  if (content === '' ? age < 2000 : pidAlive(pid) && age < staleMs) return;
  // Move it aside first, then check it is the one we judged stale: if another process broke it and
  // took a fresh lock in between, we moved the fresh one and put it back.
  const aside = `${lock}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    fs.renameSync(lock, aside);
  } catch {
    return;
  }
  let moved = '';
  try {
    moved = fs.readFileSync(aside, 'utf8');
  } catch {
    /* gone */
  }
  if (moved !== content) {
    try {
      fs.linkSync(aside, lock);
    } catch {
      /* a new lock exists already; theirs wins */
    }
  }
  try {
    fs.unlinkSync(aside);
  } catch {
    /* ignore */
  }
}

/**
 * One attempt at the lock (breaking it first when its owner is dead or it is older than `staleMs`):
 * the token when taken, null when another live process holds it. For waits that poll for something
 * else meanwhile (another process's result).
 */
export function tryAcquireLock(lock: string, staleMs = 60_000): string | null {
  breakIfStale(lock, staleMs);
  const token = newToken();
  return createLock(lock, token) ? token : null;
}

/** Releases `<file>.lock` if it still holds `token`. */
export function releaseLock(lock: string, token: string): void {
  try {
    if (fs.readFileSync(lock, 'utf8') === token) fs.unlinkSync(lock);
  } catch {
    /* already gone (broken as stale): nothing to release */
  }
}

