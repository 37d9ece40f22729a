/**
 * Run records that stay safe on a shared file system (NFS, Lustre), where POSIX locks and
 * `O_APPEND` across hosts are not to be trusted:
 *
 * - Each finished run's record is its own file, `<dir>/records/<runId>.json`, written to a temporary
 *   file (fsync) and then linked into place, which is atomic on every POSIX file system and on NFS and
 *   refuses to replace an existing record: the first finished copy of a run wins, a second is dropped.
 *   (Where hard links are not supported, an atomic rename takes its place.)
 * - `runs.jsonl` stays the one file people and tables read. It is rebuilt from the record files by
 *   `syncRunsJsonl`: under the file's lock, the records it lacks are added after its existing bytes and
 *   the whole file replaces the old one by an atomic rename. Existing lines are never rewritten, so a
 *   committed `runs.jsonl` keeps its bytes and is read and reused exactly as before.
 * - A run that failed leaves `<dir>/failures/<runId>.json` (why, where, which Slurm job) for
 *   `sweep --status`; a later successful run removes it.
 *
 * Readers take the union: every record of `runs.jsonl`, then the record files it does not hold yet.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../../io/atomic';
import { acquireLock, checkRunRecord, readRuns, releaseLock, RunRecord, writeError } from './runs';

/** `<dir>/records`: one `<runId>.json` per finished run. */
export function recordsDir(dir: string): string {
  return path.join(dir, 'records');
}

/** `<dir>/records/<runId>.json`. */
export function recordFile(dir: string, runId: string): string {
  return path.join(recordsDir(dir), `${runId}.json`);
}

/** `<dir>/failures/<runId>.json`. */
export function failureFile(dir: string, runId: string): string {
  return path.join(dir, 'failures', `${runId}.json`);
}

function tmpName(file: string): string {
  return `${file}.tmp-${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * Writes `rec` as `<dir>/records/<runId>.json` unless a record of that run is there already.
 * Returns 'written' or 'exists'. Throws a ResultsWriteError naming the path on I/O failure.
 */
export function writeRecordFile(dir: string, rec: RunRecord): 'written' | 'exists' {
  const problem = checkRunRecord(JSON.parse(JSON.stringify(rec)));
  if (problem) throw new TypeError(`writeRecordFile: record is not a valid RunRecord: ${problem}`);
  const file = recordFile(dir, rec.runId);
  if (fs.existsSync(file)) {
    // A readable record of this run is another runner's (written whole, by link): it stands. A damaged file
    // (cut short, not a record, another run's) would make every later save a silent no-op, so it is moved aside.
    const problems: string[] = [];
    if (readRecordFile(file, problems)) return 'exists';
    const aside = `${file}.damaged-${Date.now()}`;
    try {
      fs.renameSync(file, aside);
    } catch (e) {
      throw writeError(e, 'move the damaged run record aside', file);
    }
    console.warn(`warning: ${problems[0] ?? `${file}: unreadable`}; moved to ${path.basename(aside)} and replaced by the run's new record`);
  }
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw writeError(e, 'create the records folder', path.dirname(file));
  }
  const tmp = tmpName(file);
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeSync(fd, JSON.stringify(rec) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file); // atomic, and never replaces a record another runner wrote
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return 'exists';
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw e;
      if (fs.existsSync(file)) return 'exists';
      fs.renameSync(tmp, file); // no hard links here: atomic rename instead
    }
    return 'written';
  } catch (e) {
    throw writeError(e, 'write the run record', file);
  } finally {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* renamed, or never created */
    }
  }
}

/** Reads one record file; null when it is missing (a run not finished). Bad content is a warning. */
export function readRecordFile(file: string, warnings: string[] = []): RunRecord | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // not finished, or no records folder to hold it
    throw writeError(e, 'read the run record', file);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    warnings.push(`${file}: not valid JSON (${(e as Error).message.slice(0, 80)}); skipped`);
    return null;
  }
  const problem = checkRunRecord(value);
  if (problem) {
    warnings.push(`${file}: not a run record: ${problem}; skipped`);
    return null;
  }
  const rec = value as RunRecord;
  if (`${rec.runId}.json` !== path.basename(file)) {
    warnings.push(`${file}: holds run '${rec.runId}', not the run its name says; skipped`);
    return null;
  }
  return rec;
}

/** Every valid record file of `dir`, sorted by finish time then run id (deterministic order). */
export function readRecordFiles(dir: string): { records: RunRecord[]; warnings: string[] } {
  const warnings: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(recordsDir(dir));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { records: [], warnings };
    if (code === 'ENOTDIR') {
      // Nothing can be read from it; saving a record there fails later with its own clear error (and the record is kept aside).
      warnings.push(`${recordsDir(dir)} is not a folder: no record files read from it, and finished runs cannot be saved there until it is moved away`);
      return { records: [], warnings };
    }
    throw writeError(e, 'read the records folder', recordsDir(dir));
  }
  const records: RunRecord[] = [];
  for (const n of names.filter((n) => n.endsWith('.json')).sort()) {
    const rec = readRecordFile(path.join(recordsDir(dir), n), warnings);
    if (rec) records.push(rec);
  }
  records.sort((a, b) => (a.finishedAt < b.finishedAt ? -1 : a.finishedAt > b.finishedAt ? 1 : a.runId < b.runId ? -1 : 1));
  return { records, warnings };
}

/**
 * The records of an experiment folder: every record of `runs.jsonl` (as `readRuns` gives them, in
 * file order), then the record files whose run `runs.jsonl` does not hold yet.
 */
export function loadRecords(dir: string): { records: RunRecord[]; warnings: string[]; unsynced: number } {
  const { records, warnings } = readRuns(path.join(dir, 'runs.jsonl'));
  const files = readRecordFiles(dir);
  const have = new Set(records.map((r) => r.runId));
  const extra = files.records.filter((r) => !have.has(r.runId));
  return { records: [...records, ...extra], warnings: [...warnings, ...files.warnings], unsynced: extra.length };
}

/**
 * Adds to `<dir>/runs.jsonl` every record file it lacks: under the file's lock, its bytes stay as they
 * are (a cut-short last line included), the new lines follow, and the whole file is replaced by an
 * atomic rename. Returns how many records were added (0 leaves the file untouched).
 */
export function syncRunsJsonl(dir: string): number {
  const files = readRecordFiles(dir).records;
  if (!files.length) return 0;
  const file = path.join(dir, 'runs.jsonl');
  const lock = `${file}.lock`;
  const token = acquireLock(lock, {});
  try {
    let old = Buffer.alloc(0);
    try {
      old = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(e, 'read', file);
    }
    const have = new Set(readRuns(file).records.map((r) => r.runId));
    const missing = files.filter((r) => !have.has(r.runId));
    if (!missing.length) return 0;
    const sep = old.length > 0 && old[old.length - 1] !== 0x0a ? '\n' : '';
    const add = Buffer.from(sep + missing.map((r) => JSON.stringify(r)).join('\n') + '\n', 'utf8');
    writeFileAtomic(file, Buffer.concat([old, add]));
    return missing.length;
  } finally {
    releaseLock(lock, token);
  }
}

/**
 * Saves a finished run: its record file (the truth; a failure to write it throws: the run is not saved), then
 * `runs.jsonl` rebuilt — a failure there (its lock held by a hung process, a full disk) does not unsave the run:
 * it is returned as `syncError`, and the next runner of the study rebuilds the file. Clears the failure note.
 */
export function publishRecord(dir: string, rec: RunRecord): { status: 'written' | 'exists'; syncError: string | null } {
  const status = writeRecordFile(dir, rec);
  let syncError: string | null = null;
  try {
    syncRunsJsonl(dir);
  } catch (e) {
    syncError = (e as Error).message;
  }
  clearFailure(dir, rec.runId);
  return { status, syncError };
}

/** Why a run failed, as `<dir>/failures/<runId>.json` keeps it. */
export interface RunFailure {
  runId: string;
  row: string;
  seed: number;
  /** The error message (or the signal / exit status of a killed task). */
  message: string;
  /** Error class name, e.g. `RunInterruptedError`, `NonFiniteLossError`. */
  name?: string;
  host: string;
  /** `$SLURM_JOB_ID` (or `<array job>_<task>`) of the task, when it ran under Slurm. */
  job?: string;
  /** ISO 8601 time of the failure. */
  at: string;
}

/** Notes a failed run (atomic replace; the latest failure wins). Never throws: the failure itself matters more. */
export function noteFailure(dir: string, f: Omit<RunFailure, 'host' | 'at' | 'job'>): void {
  const job = slurmJobLabel();
  const full: RunFailure = { ...f, host: os.hostname(), ...(job ? { job } : {}), at: new Date().toISOString() };
  try {
    writeFileAtomic(failureFile(dir, f.runId), JSON.stringify(full) + '\n');
  } catch (e) {
    process.stderr.write(`warning: could not note the failure of run ${f.runId}: ${(e as Error).message}\n`);
  }
}

export function clearFailure(dir: string, runId: string): void {
  try {
    fs.unlinkSync(failureFile(dir, runId));
  } catch {
    /* none */
  }
}

export function readFailure(dir: string, runId: string): RunFailure | null {
  try {
    return JSON.parse(fs.readFileSync(failureFile(dir, runId), 'utf8')) as RunFailure;
  } catch {
    return null;
  }
}

/** `<array job>_<task>` or `$SLURM_JOB_ID` inside a Slurm job, else undefined. */
export function slurmJobLabel(): string | undefined {
  const e = process.env;
  if (e.SLURM_ARRAY_JOB_ID && e.SLURM_ARRAY_TASK_ID) return `${e.SLURM_ARRAY_JOB_ID}_${e.SLURM_ARRAY_TASK_ID}`;
  return e.SLURM_JOB_ID || undefined;
}
