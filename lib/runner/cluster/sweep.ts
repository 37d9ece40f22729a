/**
 * Sweeps beyond one machine: which runs of an experiment are finished, running, queued, failed or
 * pending (from the record files, the claims, the failure notes and `squeue`), and the submission of
 * exactly the missing ones as one Slurm job array (`npm run sweep`, scripts/sweep.ts).
 *
 * Each submission leaves two files in `<experiment dir>/slurm/`: the batch script and a manifest
 * (`sweep-<stamp>.json`: run ids by array index, the job id, the `--set` overrides). The manifest maps
 * squeue's array tasks back to run ids, and every task checks it can see it: a task that cannot is on a
 * node that does not share the results folder, and says so.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { DeepPartial, PresetName } from '../../config';
import { EnvironmentError } from '../../errors';
import { experimentDir, REPO_ROOT, resultsRoot } from '../../paths';
import { writeFileAtomic } from '../../io/atomic';
import { loadRecords, noteFailure, readFailure, readRecordFile, recordFile, syncRunsJsonl } from '../store/records';
import { claimFile, readClaim } from '../claims';
import { runIdOf } from '../execute';
import { dataKeyOf } from '../../data/identity';
import { resolveConfig } from '../run';
import type { Experiment } from '../types';
import { batchScript, QueueEntry, sbatch, SbatchUnknownError, SlurmOptions, squeue } from './slurm';

export const RUN_STATES = ['finished', 'running', 'queued', 'failed', 'pending'] as const;
/** finished: a record exists; running: a live claim; queued: in squeue, not started; failed: a failure note or a dead claim; pending: never tried. */
export type RunState = (typeof RUN_STATES)[number];

export interface RunStatus {
  runId: string;
  row: string;
  seed: number;
  state: RunState;
  /** Who runs it, why it failed, where it waits. */
  detail: string;
}

/** A submission's manifest, `<dir>/slurm/sweep-<stamp>.json`. */
export interface SweepManifest {
  experiment: string;
  preset: string;
  /** Run ids by array index. */
  runIds: string[];
  sets: string[];
  /** The array job id (absent in a dry run or before sbatch answered). */
  job?: string;
  host: string;
  submittedAt: string;
  script: string;
}

export function slurmDir(dir: string): string {
  return path.join(dir, 'slurm');
}

/** Every manifest in `<dir>/slurm`, oldest first. */
export function readManifests(dir: string): SweepManifest[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(slurmDir(dir));
  } catch {
    return [];
  }
  const out: SweepManifest[] = [];
  for (const n of names.filter((n) => /^sweep-.*\.json$/.test(n)).sort()) {
    try {
      out.push(JSON.parse(fs.readFileSync(path.join(slurmDir(dir), n), 'utf8')) as SweepManifest);
    } catch {
      /* a manifest being written */
    }
  }
  return out;
}

/** The runs of an experiment's config with their ids. */
export function planRuns<C extends object>(exp: Experiment<C>, preset: PresetName, overrides?: DeepPartial<C>) {
  const config = resolveConfig(exp, preset, overrides);
  const dataKey = dataKeyOf(exp.data ?? []); // the same ids as the runner's (non-canonical data joins them)
  return exp.runs(config).map((spec) => ({ spec, runId: runIdOf(exp.name, spec, dataKey) }));
}

/**
 * The state of every run of the config. Syncs finished record files into runs.jsonl first.
 * `queue`: squeue's entries for this experiment's array jobs (null: squeue absent; undefined: ask it).
 */
export function sweepStatus<C extends object>(
  exp: Experiment<C>,
  preset: PresetName,
  overrides?: DeepPartial<C>,
  queue?: QueueEntry[] | null,
): { runs: RunStatus[]; squeueUsed: boolean; squeueError?: string; synced: number } {
  const dir = experimentDir(exp.name, preset);
  const runs = planRuns(exp, preset, overrides);
  const synced = fs.existsSync(dir) ? syncRunsJsonl(dir) : 0;
  const have = new Set(fs.existsSync(dir) ? loadRecords(dir).records.map((r) => r.runId) : []);
  const manifests = readManifests(dir);
  const jobs = [...new Set(manifests.map((m) => m.job).filter((j): j is string => !!j))];
  let q: QueueEntry[] | null;
  let squeueError: string | undefined;
  try {
    q = queue === undefined ? squeue(jobs) : queue;
  } catch (e) {
    // No cluster reachable from here (a laptop sharing the folder, a stopped test cluster): say so, go on.
    q = null;
    squeueError = (e as Error).message.split('\n').filter((l) => l.trim()).slice(-1)[0] ?? String(e);
  }
  // (job, index) -> run id, then run id -> the queue entries naming it.
  const queued = new Map<string, { job: string; state: string; reason: string }>();
  for (const e of q ?? []) {
    const m = manifests.find((x) => x.job === e.job);
    if (!m) continue;
    for (const k of e.indices) {
      const id = m.runIds[k];
      if (id) queued.set(id, { job: `${e.job}_${k}`, state: e.state, reason: e.reason });
    }
  }
  const out: RunStatus[] = runs.map(({ spec, runId }) => {
    const base = { runId, row: spec.row, seed: spec.seed };
    if (have.has(runId)) return { ...base, state: 'finished', detail: '' };
    const claim = readClaim(dir, runId);
    if (claim?.live) {
      const i = claim.info;
      return { ...base, state: 'running', detail: i ? `${i.host} pid ${i.pid}${i.job ? ` job ${i.job}` : ''} since ${i.startedAt}` : 'claimed' };
    }
    const qe = queued.get(runId);
    if (qe) return { ...base, state: 'queued', detail: `job ${qe.job} ${qe.state}${qe.reason && qe.reason !== 'None' ? ` (${qe.reason})` : ''}` };
    const f = readFailure(dir, runId);
    if (claim && !claim.live) {
      return { ...base, state: 'failed', detail: `${f ? f.message + '; ' : ''}its runner stopped without a record (${claim.why})` };
    }
    if (f) return { ...base, state: 'failed', detail: `${f.message} (${f.host}${f.job ? ` job ${f.job}` : ''}, ${f.at})` };
    return { ...base, state: 'pending', detail: '' };
  });
  return { runs: out, squeueUsed: q !== null, ...(squeueError ? { squeueError } : {}), synced };
}

/** A table of the states, then one count line. */
export function formatStatus(title: string, s: { runs: RunStatus[]; squeueUsed: boolean; squeueError?: string }): string {
  const why = s.squeueError ? `squeue failed: ${s.squeueError}` : 'squeue not available';
  const lines = [`${title}: ${s.runs.length} run(s)${s.squeueUsed ? '' : ` (${why}: queued tasks show as pending)`}`];
  const w = Math.max(3, ...s.runs.map((r) => r.row.length));
  for (const r of s.runs) lines.push(`  ${r.state.padEnd(8)}  ${r.runId}  ${r.row.padEnd(w)}  seed ${String(r.seed).padEnd(3)} ${r.detail}`.trimEnd());
  lines.push('  ' + RUN_STATES.map((st) => `${s.runs.filter((r) => r.state === st).length} ${st}`).join(', '));
  return lines.join('\n');
}

export interface SubmitResult {
  /** The runs put in the array, in index order. */
  runIds: string[];
  /** The script's text and where it was written (null when nothing was missing). */
  script: string | null;
  scriptFile: string | null;
  manifestFile: string | null;
  /** The array job id, or null in a dry run. */
  job: string | null;
  status: { runs: RunStatus[]; squeueUsed: boolean };
}

/**
 * Writes (and unless `dryRun` submits) an array of the runs that are failed or pending: finished,
 * running and queued runs are left alone, so submitting again submits only what is missing.
 */
export function submitSweep<C extends object>(
  exp: Experiment<C>,
  preset: PresetName,
  overrides: DeepPartial<C> | undefined,
  sets: string[],
  slurm: SlurmOptions,
  opts: { dryRun?: boolean; queue?: QueueEntry[] | null } = {},
): SubmitResult {
  const status = sweepStatus(exp, preset, overrides, opts.queue);
  const missing = status.runs.filter((r) => r.state === 'failed' || r.state === 'pending').map((r) => r.runId);
  const dir0 = experimentDir(exp.name, preset);
  if (!status.squeueUsed && missing.length && readManifests(dir0).some((m) => m.job)) {
    // Without the queue, runs still waiting in an earlier array would be submitted a second time.
    throw new EnvironmentError(
      `cannot tell which runs of ${exp.name}/${preset} are still queued (${status.squeueError ? `squeue failed: ${status.squeueError}` : 'squeue is not on the PATH'}); ` +
        `nothing was submitted. Run the sweep where squeue works (the login node)`,
    );
  }
  if (!missing.length) return { runIds: [], script: null, scriptFile: null, manifestFile: null, job: null, status };
  const entry = path.join(REPO_ROOT, 'build', 'scripts', 'run-experiment.js');
  if (!fs.existsSync(entry)) throw new EnvironmentError(`${entry} is missing: run npm run build first (the tasks run the compiled scripts)`);
  const dir = experimentDir(exp.name, preset);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '') + `-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const base = path.join(slurmDir(dir), `sweep-${stamp}`);
  const manifestFile = `${base}.json`;
  const scriptFile = `${base}.sbatch`;
  const script = batchScript({
    experiment: exp.name,
    preset,
    runIds: missing,
    sets,
    resultsRoot: resultsRoot(),
    repoRoot: REPO_ROOT,
    node: process.env.REPRO_NODE || process.execPath,
    manifest: manifestFile,
    logDir: slurmDir(dir),
    slurm,
  });
  const manifest: SweepManifest = { experiment: exp.name, preset, runIds: missing, sets, host: os.hostname(), submittedAt: new Date().toISOString(), script: scriptFile };
  writeFileAtomic(scriptFile, script);
  // The manifest is written in a dry run too, so that the printed script can be submitted by hand.
  writeFileAtomic(manifestFile, JSON.stringify(manifest, null, 1) + '\n');
  if (opts.dryRun) return { runIds: missing, script, scriptFile, manifestFile, job: null, status };
  let job: string;
  try {
    job = sbatch(scriptFile, `${missing.length} run(s) of ${exp.name}/${preset}`);
  } catch (e) {
    if (e instanceof SbatchUnknownError) {
      // The array may be queued: keep the manifest (without a job id) and say where it is.
      throw new SbatchUnknownError(`${e.message}; the manifest ${manifestFile} is kept (it maps array indices to run ids)`);
    }
    fs.rmSync(manifestFile, { force: true }); // refused: nothing was submitted, no manifest claims otherwise
    throw e;
  }
  writeFileAtomic(manifestFile, JSON.stringify({ ...manifest, job }, null, 1) + '\n');
  return { runIds: missing, script, scriptFile, manifestFile, job, status };
}

/**
 * The batch shell's report of a task whose run process died by a signal (`--task-died`): releases the
 * claim the dead process left and notes the failure with its cause. A run that had stopped cleanly
 * (it released its claim and noted why) keeps its own note, unless the process was killed outright.
 */
export function noteTaskDied(dir: string, runId: string, row: string, seed: number, pid: number, code: number): string {
  const claim = readClaim(dir, runId);
  const leftClaim = !!claim?.info && claim.info.host === os.hostname() && claim.info.pid === pid;
  if (leftClaim) fs.rmSync(claimFile(dir, runId), { force: true });
  if (readRecordFile(recordFile(dir, runId))) return `run ${runId} finished before its process ended (exit ${code}); its record is kept`;
  const sig = code - 128;
  const cause =
    sig === 9
      ? `killed by SIGKILL (exit ${code}): most often the job's memory limit (--mem; Slurm's log says 'oom-kill'), or scancel --signal=KILL`
      : `ended by signal ${sig} (exit ${code})`;
  const message = `task ${process.env.SLURM_ARRAY_JOB_ID ?? '?'}_${process.env.SLURM_ARRAY_TASK_ID ?? '?'} ${cause}; resubmit to resume from its last checkpoint`;
  if (leftClaim || sig === 9) noteFailure(dir, { runId, row, seed, message, name: 'TaskKilled' });
  return message;
}
