/**
 * Results as append-only JSON lines: `results/<experiment>/<preset>/runs.jsonl`, one finished run per line.
 *
 * Why the care:
 * - Sweep members run in parallel worker processes and append to the same file. POSIX makes O_APPEND
 *   writes atomic only for pipes under PIPE_BUF, not for regular files, so every append holds an
 *   exclusive lock file (`<file>.lock`, created with O_EXCL) around write + fsync. A lock left by a
 *   killed worker is broken when its pid is dead or it is older than `staleLockMs`.
 * - A crash mid-write leaves a last line without its newline. Readers skip it with one warning naming
 *   the file and line; the next append starts on a fresh line so its record stays valid.
 * - The file is never rewritten: a failed write (full disk, read-only folder) only trims the bytes this
 *   very append added, and throws a ResultsWriteError naming the path and what to do.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { experimentDir } from '../../paths';
import type { Json } from '../types';
import { appendNoFollow, ResultsWriteError, writeError } from '../../io/atomic';
import { acquireLock, releaseLock, type LockOptions } from '../../io/lock';
export { ResultsWriteError, writeError } from '../../io/atomic';
export { pidAlive, acquireLock, releaseLock } from '../../io/lock';

/** One finished run, as stored on one line of runs.jsonl. */
export interface RunRecord {
  /** Experiment name (kebab-case), e.g. `mae-sweep`. */
  experiment: string;
  /** Preset the run belongs to: `smoke`, `cpu` or `paper`. */
  preset: string;
  /** Hash of experiment + resolved row config + seed: the key that makes reruns reuse a run. */
  runId: string;
  /** Human-readable table row, e.g. `decayed α_min=0.6`. */
  row: string;
  seed: number;
  /** The fully resolved config of the run. */
  config: Json;
  /** Scalar metrics of the table row (non-finite numbers are stored as null by JSON). */
  metrics: { [k: string]: number | string | boolean | null };
  /** Curves for figures, e.g. `{ step: [...], loss: [...] }`. */
  history?: { [k: string]: number[] };
  extra?: { [k: string]: Json };
  wallTimeSec: number;
  /** What `engineInfo()` reported. */
  engine: Json;
  /** Every engine the run used, in order, when it was resumed on another one (`engine` is the last). */
  engines?: Json[];
  /** The identity (folder, MD5s) of each dataset split the run loaded (lib/data/identity.ts). */
  data?: Json;
  /** `git rev-parse HEAD` at run time, or null outside a checkout. */
  commit: string | null;
  host: string;
  /** ISO 8601 time the run finished. */
  finishedAt: string;
}

/** `<experimentDir>/runs.jsonl`. */
export function runsFile(experiment: string, preset: string): string {
  return path.join(experimentDir(experiment, preset), 'runs.jsonl');
}

// ---------------------------------------------------------------------------------------------
// Validation (shared by the reader and the writer). Iterative, so deeply nested JSON cannot
// overflow the stack; bounded, so a hostile line cannot make it walk forever.

const MAX_JSON_DEPTH = 64;

function isPlainObject(v: unknown): v is { [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Returns a problem description, or null when `v` is JSON no deeper than MAX_JSON_DEPTH. */
function checkJson(v: unknown, where: string): string | null {
  const stack: { v: unknown; depth: number }[] = [{ v, depth: 0 }];
  while (stack.length) {
    const { v: x, depth } = stack.pop()!;
    if (depth > MAX_JSON_DEPTH) return `${where} is nested deeper than ${MAX_JSON_DEPTH} levels`;
    if (x === null || typeof x === 'string' || typeof x === 'boolean') continue;
    if (typeof x === 'number') continue; // JSON.parse can yield ±Infinity from 1e999: harmless here
    if (Array.isArray(x)) {
      for (const y of x) stack.push({ v: y, depth: depth + 1 });
    } else if (isPlainObject(x)) {
      for (const k of Object.keys(x)) stack.push({ v: x[k], depth: depth + 1 });
    } else {
      return `${where} holds a non-JSON value (${typeof x})`;
    }
  }
  return null;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Returns the first problem with `v` as a RunRecord, or null when it is one. */
export function checkRunRecord(v: unknown): string | null {
  if (!isPlainObject(v)) return `expected a JSON object, got ${typeName(v)}`;
  for (const k of ['experiment', 'preset', 'runId', 'row', 'host', 'finishedAt'] as const) {
    if (typeof v[k] !== 'string') return `field '${k}' must be a string; got ${typeName(v[k])}`;
  }
  if (Number.isNaN(Date.parse(v.finishedAt as string))) {
    return `field 'finishedAt' must be an ISO date; got '${String(v.finishedAt).slice(0, 40)}'`;
  }
  if (typeof v.seed !== 'number' || !Number.isSafeInteger(v.seed)) {
    return `field 'seed' must be an integer; got ${typeName(v.seed) === 'number' ? v.seed : typeName(v.seed)}`;
  }
  if (typeof v.wallTimeSec !== 'number' || !Number.isFinite(v.wallTimeSec) || v.wallTimeSec < 0) {
    return `field 'wallTimeSec' must be a finite number >= 0; got ${typeName(v.wallTimeSec) === 'number' ? v.wallTimeSec : typeName(v.wallTimeSec)}`;
  }
  if (!(v.commit === null || typeof v.commit === 'string')) {
    return `field 'commit' must be a string or null; got ${typeName(v.commit)}`;
  }
  if (!('config' in v)) return `field 'config' is missing`;
  if (!('engine' in v)) return `field 'engine' is missing`;
  if (!isPlainObject(v.metrics)) return `field 'metrics' must be an object; got ${typeName(v.metrics)}`;
  for (const [k, m] of Object.entries(v.metrics)) {
    if (!(m === null || typeof m === 'number' || typeof m === 'string' || typeof m === 'boolean')) {
      return `metric '${k}' must be a number, string, boolean or null; got ${typeName(m)}`;
    }
  }
  if (v.history !== undefined) {
    if (!isPlainObject(v.history)) return `field 'history' must be an object; got ${typeName(v.history)}`;
    for (const [k, h] of Object.entries(v.history)) {
      // null stands for a non-finite point (JSON has no NaN): keep it, plots show a gap.
      if (!Array.isArray(h) || !h.every((x) => typeof x === 'number' || x === null)) {
        return `history '${k}' must be an array of numbers`;
      }
    }
  }
  if (v.extra !== undefined && !isPlainObject(v.extra)) return `field 'extra' must be an object; got ${typeName(v.extra)}`;
  return (
    checkJson(v.config, `field 'config'`) ??
    checkJson(v.engine, `field 'engine'`) ??
    (v.extra === undefined ? null : checkJson(v.extra, `field 'extra'`))
  );
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Most warnings listed one by one; the rest are counted in one more line. */
const MAX_WARNINGS = 20;
/** A runs.jsonl is KBs to MBs; refuse to slurp something absurd (a wrong path, a disk image). */
const MAX_FILE_BYTES = 1 << 30;

/**
 * Reads every valid record of a runs.jsonl. Never throws on content: bad lines (not JSON, wrong shape,
 * a last line cut short by a crash) are skipped with a warning naming the file and line number.
 * A missing file is an empty result (no runs yet). Unreadable files (EACCES, a folder) do throw.
 */
export function readRuns(file: string): { records: RunRecord[]; warnings: string[] } {
  const { records, warnings } = inspectRuns(file);
  return { records, warnings };
}

/** A line of runs.jsonl that holds no readable record. */
export interface UnreadableLine {
  line: number;
  reason: string;
  /** The run id the damaged text still names, when it does (that run will be retrained). */
  runId: string | null;
  text: string;
}

/** Two records of one run id whose metrics differ (timings aside). */
export interface RunConflict {
  runId: string;
  /** Line numbers of the records, the first (the one used) first. */
  lines: number[];
  /** The metrics that differ, `name: first vs other`. */
  differences: string[];
}

export interface RunsInspection {
  records: RunRecord[];
  warnings: string[];
  unreadable: UnreadableLine[];
  conflicts: RunConflict[];
  /** Where the unreadable lines were copied (`<file>.unreadable`), or null. */
  asideFile: string | null;
}

/** Metrics that measure time differ between identical reruns; they never make a conflict. */
const TIMING_METRIC = /seconds|sec$|msPer|time/i;

function metricDifferences(a: RunRecord, b: RunRecord): string[] {
  const keys = new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)]);
  const out: string[] = [];
  for (const k of keys) {
    if (TIMING_METRIC.test(k)) continue;
    if (JSON.stringify(a.metrics[k]) !== JSON.stringify(b.metrics[k])) out.push(`${k}: ${JSON.stringify(a.metrics[k])} vs ${JSON.stringify(b.metrics[k])}`);
  }
  return out;
}

/**
 * readRuns plus what a runner must say loudly: the unreadable lines (with the run id they still name,
 * copied to `<file>.unreadable` when `keepAside`; runs.jsonl itself is never rewritten) and the run ids
 * with conflicting records (the first record is the one to use).
 */
export function inspectRuns(file: string, opts: { keepAside?: boolean } = {}): RunsInspection {
  const records: RunRecord[] = [];
  const warnings: string[] = [];
  const unreadable: UnreadableLine[] = [];
  const conflicts: RunConflict[] = [];
  let bad = 0;
  const warn = (msg: string): void => {
    bad++;
    if (warnings.length < MAX_WARNINGS) warnings.push(msg);
  };
  const result = (): RunsInspection => ({ records, warnings, unreadable, conflicts, asideFile: null });
  let buf: Buffer;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) {
      throw new ResultsWriteError(`${file} is a folder, not a runs.jsonl file`, file, 'EISDIR');
    }
    if (st.size > MAX_FILE_BYTES) {
      warnings.push(`${file}: ${st.size} bytes is larger than any runs.jsonl should be (limit ${MAX_FILE_BYTES}); not read`);
      return result();
    }
    buf = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return result();
    throw e;
  }
  let text = buf.toString('utf8');
  // A UTF-8 byte-order mark (an editor's "save as UTF-8 with BOM") is not part of the first record.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const complete = text.endsWith('\n');
  const lineOf = new Map<RunRecord, number>();
  const lines = text.split('\n');
  if (complete) lines.pop(); // the empty string after the final newline
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    const last = i === lines.length - 1 && !complete;
    let value: unknown;
    const lost = (reason: string) => {
      warn(`${file}:${lineNo}: ${reason}; skipped`);
      // The run id the damaged text still names (the runner says that run will be retrained).
      const named = /"runId"\s*:\s*"([0-9a-f]{6,64})"/.exec(line.slice(0, 1 << 16))?.[1] ?? null;
      if (!last) unreadable.push({ line: lineNo, reason, runId: named, text: line });
    };
    try {
      value = JSON.parse(line);
    } catch (e) {
      if (last) warn(`${file}:${lineNo}: last line is incomplete (no newline; a run was interrupted while writing it); skipped`);
      else lost(`not valid JSON (${(e as Error).message.slice(0, 80)})`);
      continue;
    }
    const problem = checkRunRecord(value);
    if (problem) {
      lost(`not a run record: ${problem}`);
      continue;
    }
    records.push(value as RunRecord);
    lineOf.set(value as RunRecord, lineNo);
  }
  const first = new Map<string, RunRecord>();
  for (const r of records) {
    const f = first.get(r.runId);
    if (!f) {
      first.set(r.runId, r);
      continue;
    }
    const differences = metricDifferences(f, r);
    if (!differences.length) continue;
    const c = conflicts.find((x) => x.runId === r.runId);
    if (c) c.lines.push(lineOf.get(r)!);
    else conflicts.push({ runId: r.runId, lines: [lineOf.get(f)!, lineOf.get(r)!], differences });
  }
  if (bad > warnings.length) warnings.push(`${file}: ${bad - warnings.length} more bad lines not listed`);
  const out = result();
  if (opts.keepAside && unreadable.length) out.asideFile = keepAside(file, unreadable);
  return out;
}

/**
 * Copies unreadable lines to `<file>.unreadable` (one JSON object per line: line number, reason, text),
 * once each. Returns that path, or null when it cannot be written (the lines stay in runs.jsonl anyway).
 */
function keepAside(file: string, lines: UnreadableLine[]): string | null {
  const aside = `${file}.unreadable`;
  try {
    let have = '';
    try {
      have = fs.readFileSync(aside, 'utf8');
    } catch {
      /* none yet */
    }
    const known = new Set(have.split('\n').filter(Boolean));
    const add = lines
      .map((u) => JSON.stringify({ line: u.line, reason: u.reason, runId: u.runId, text: u.text }))
      .filter((l) => !known.has(l));
    if (add.length) appendNoFollow(aside, add.join('\n') + '\n', 'keep unreadable lines in');
    return aside;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/** The fs calls appendRun makes; tests inject failures (ENOSPC) through `writeSync`/`fsyncSync`. */
export interface AppendIo {
  writeSync(fd: number, buffer: Buffer, offset: number, length: number, position: number | null): number;
  fsyncSync(fd: number): void;
}

export interface AppendOptions extends LockOptions {
  io?: Partial<AppendIo>;
}

/**
 * Appends one record as one line to `file` (creating its folder), under the file's lock, then fsyncs.
 * Throws a ResultsWriteError on any I/O failure (naming the path and the fix); what the file held before stays.
 * Throws a TypeError when `record` is not a RunRecord (a bug in the caller, not bad input).
 * Returns the 1-based line number of the new record.
 */
export function appendRun(file: string, record: RunRecord, opts: AppendOptions = {}): number {
  const problem = checkRunRecord(JSON.parse(JSON.stringify(record)));
  if (problem) throw new TypeError(`appendRun: record is not a valid RunRecord: ${problem}`);
  const io: AppendIo = {
    writeSync: opts.io?.writeSync ?? ((fd, b, o, l, p) => fs.writeSync(fd, b, o, l, p)),
    fsyncSync: opts.io?.fsyncSync ?? ((fd) => fs.fsyncSync(fd)),
  };
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw writeError(e, 'create the results folder', dir);
  }
  const lock = `${file}.lock`;
  const token = acquireLock(lock, opts);
  let fd = -1;
  try {
    try {
      fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW, 0o644);
    } catch (e) {
      throw writeError(e, 'open', file);
    }
    const size = fs.fstatSync(fd).size;
    let prefix = '';
    let lineNo = 1;
    if (size > 0) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      lineNo = countLines(fd, size) + 1;
      if (last[0] !== 0x0a) {
        // A crash cut the previous line short: keep it (never rewrite), start ours on a new line.
        prefix = '\n';
        process.stderr.write(
          `warning: ${file}:${lineNo}: last line is incomplete (a run was interrupted while writing it); ` +
            `it is kept and skipped by readers; appending on a new line\n`,
        );
        lineNo++;
      }
    }
    const bytes = Buffer.from(prefix + JSON.stringify(record) + '\n', 'utf8');
    try {
      let off = 0;
      while (off < bytes.length) off += io.writeSync(fd, bytes, off, bytes.length - off, null);
      io.fsyncSync(fd);
    } catch (e) {
      // Take back only the bytes this append added, so the file ends as it did before.
      try {
        fs.ftruncateSync(fd, size);
      } catch {
        /* the reader skips a partial last line anyway */
      }
      throw writeError(e, 'append a run to', file);
    }
    return lineNo;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    releaseLock(lock, token);
  }
}

/** Newlines in the first `size` bytes of fd (the line number of a new record, for messages). */
function countLines(fd: number, size: number): number {
  const chunk = Buffer.allocUnsafe(1 << 16);
  let n = 0;
  for (let pos = 0; pos < size; ) {
    const got = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - pos), pos);
    if (got <= 0) break;
    for (let i = 0; i < got; i++) if (chunk[i] === 0x0a) n++;
    pos += got;
  }
  return n;
}

/** The host name recorded with each run. */
export function hostName(): string {
  return os.hostname();
}
