/**
 * The runner's guards against an unlucky machine: how many worker processes to start (capped at the
 * cores, with a warning when workers × BLAS threads oversubscribe them), and where a finished run's
 * record goes when results/ cannot take it (so a full disk never throws away a finished run).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, show } from '../errors';
import type { RunRecord } from './store/runs';

export interface WorkerPlan {
  /** Worker processes to use (1: in this process, outside Jupyter). */
  workers: number;
  /** OPENBLAS_NUM_THREADS each worker gets. */
  blasThreads: number;
  warnings: string[];
}

/** The number of cores this process may use. */
export function coreCount(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${name} must be an integer >= 1; got ${show(raw)}`);
  return n;
}

/**
 * Workers for `todo` runs: `requested` (or `$REPRO_WORKERS`, or the cores), never more than the runs, and
 * never more than the cores unless `$REPRO_WORKERS_FORCE=1` (each worker holds its own engine and data,
 * ~0.4 GB). Warns when workers × BLAS threads (`$OPENBLAS_NUM_THREADS`, default 1) exceed the cores:
 * oversubscribed BLAS threads make every worker several times slower.
 */
export function planWorkers(requested: number | undefined, todo: number, env: NodeJS.ProcessEnv = process.env, cores = coreCount()): WorkerPlan {
  const warnings: string[] = [];
  let want: number;
  let source: string;
  if (requested !== undefined) {
    if (!Number.isSafeInteger(requested) || requested < 1) throw new ConfigError(`workers must be an integer >= 1; got ${show(requested)}`);
    want = requested;
    source = 'workers';
  } else if (env.REPRO_WORKERS !== undefined) {
    want = positiveInt('REPRO_WORKERS', env.REPRO_WORKERS);
    source = 'REPRO_WORKERS';
  } else {
    want = cores;
    source = '';
  }
  const force = env.REPRO_WORKERS_FORCE === '1';
  if (want > cores && !force) {
    warnings.push(`${source}=${want} is more than the ${cores} core(s); using ${cores} (set REPRO_WORKERS_FORCE=1 to start more)`);
    want = cores;
  }
  const workers = Math.max(1, Math.min(want, todo));
  const blasThreads = env.OPENBLAS_NUM_THREADS === undefined ? 1 : positiveInt('OPENBLAS_NUM_THREADS', env.OPENBLAS_NUM_THREADS);
  if (workers * blasThreads > cores) {
    warnings.push(
      `${workers} worker(s) × ${blasThreads} BLAS thread(s) (OPENBLAS_NUM_THREADS) = ${workers * blasThreads} threads on ${cores} core(s): ` +
        `oversubscribed, every run will be slower; unset OPENBLAS_NUM_THREADS (1 per worker) or use fewer workers`,
    );
  }
  return { workers, blasThreads, warnings };
}

/**
 * Keeps a finished run's record that could not be appended to runs.jsonl: written to
 * `<checkpointDir>/record.json` (rerunning the command adds it to runs.jsonl without retraining), else
 * printed to stderr in full. Never throws. Returns a phrase saying where the record is.
 */
export function saveRecordAside(checkpointDir: string, rec: RunRecord): string {
  const file = path.join(checkpointDir, 'record.json');
  const text = JSON.stringify(rec) + '\n';
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    fs.mkdirSync(checkpointDir, { recursive: true });
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    fs.renameSync(tmp, file);
    return `the record is kept in ${file} (a rerun adds it to runs.jsonl without retraining)`;
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // a full disk leaves a 0-byte temporary file otherwise
    process.stderr.write(`record of run ${rec.runId} (could not be written to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}):\n${text}`);
    return `the record could not be kept on disk either; it is printed above in full, and the run's final checkpoint is kept (a rerun re-evaluates it without retraining)`;
  }
}

/** A record kept aside by saveRecordAside for `runId`, or null. */
export function recordAside(checkpointDir: string, runId: string): RunRecord | null {
  const file = path.join(checkpointDir, 'record.json');
  try {
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as RunRecord;
    return rec && rec.runId === runId ? rec : null;
  } catch {
    return null;
  }
}
