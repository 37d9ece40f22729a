/**
 * The experiment runner: defaults -> preset -> overrides, validation before any work, expansion
 * into independent runs, reuse of finished runs (keyed by the hash of each run's resolved config),
 * resume of interrupted ones from their checkpoints, and parallel execution in worker processes
 * (one per core by default, one BLAS thread each). Each finished run appends one line to
 * `results/<experiment>/<preset>/runs.jsonl`; tables and figures are built from those lines.
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { checkPreset, configHash, DeepPartial, mergeChecked, PresetName, presetFromEnv } from '../config';
import { checkSeed, ConfigError } from '../errors';
import { experimentDir } from '../paths';
import { ensureDir } from '../report/atomic';
import { appendRun, checkRunRecord, inspectRuns, RunRecord } from '../report/runs';
import { RunnerInterruptedError, stopRequested, type StopSignal } from '../train/interrupt';
import { ProgressBar, formatDuration } from '../train/progress';
import { dataKeyOf } from '../data/identity';
import { executeRun, runIdOf, WorkerRequest, WorkerReply } from './execute';
import { planWorkers, recordAside, saveRecordAside } from './guards';
import type { Experiment, RunSpec } from './types';

export interface RunExperimentOptions<C extends object> {
  /** Preset name; default `$REPRO_PRESET` or `cpu`. */
  preset?: PresetName;
  /** Changes to the preset's config (unknown keys are rejected). */
  overrides?: DeepPartial<C>;
  /** Worker processes; default `$REPRO_WORKERS` or the number of cores. 1 runs in this process. */
  workers?: number;
  /** Print progress (default true). */
  verbose?: boolean;
}

export interface ExperimentRuns<C extends object> {
  experiment: string;
  preset: PresetName;
  /** The resolved config. */
  config: C;
  /** The records of this config's runs, in the order `runs()` lists them. */
  records: RunRecord[];
  /** `results/<experiment>/<preset>`. */
  dir: string;
  /** How many runs were reused from earlier sessions and how many executed now. */
  reused: number;
  executed: number;
  /** Wall time of this call in seconds. */
  seconds: number;
}

/** Resolves and validates an experiment's config without running anything. */
export function resolveConfig<C extends object>(exp: Experiment<C>, preset: PresetName, overrides?: DeepPartial<C>): C {
  checkPreset(preset);
  const withPreset = mergeChecked(exp.defaults, exp.presets[preset], `${exp.name} preset '${preset}'`);
  const config = mergeChecked(withPreset, overrides, `${exp.name} overrides`);
  exp.validate(config);
  return config;
}

/** Live worker processes (signals reach them through `stopRuns`). */
const liveWorkers = new Set<ChildProcess>();

/** Asks running training loops (here and in the workers) to checkpoint and stop; no new run starts. */
export function stopRuns(signal: StopSignal): void {
  for (const c of liveWorkers) c.kill(signal);
}

export async function runExperiment<C extends object>(
  exp: Experiment<C>,
  opts: RunExperimentOptions<C> = {},
): Promise<ExperimentRuns<C>> {
  const t0 = Date.now();
  const preset = opts.preset ?? presetFromEnv();
  const config = resolveConfig(exp, preset, opts.overrides);
  const verbose = opts.verbose ?? true;
  const specs = exp.runs(config);
  if (!specs.length) throw new ConfigError(`${exp.name}: the config expands to no runs`);
  for (const s of specs) checkSeed(`${exp.name}: the seed of run '${s.row}'`, s.seed);
  // The data's identity joins the run id only when it is not the canonical copy (so canonical
  // Fashion-MNIST keeps today's ids); a set REPRO_DATA that cannot be used throws here, before any work.
  const dataKey = dataKeyOf(exp.data ?? []);
  const ids = specs.map((s) => runIdOf(exp.name, s, dataKey));
  if (new Set(ids).size !== ids.length) throw new ConfigError(`${exp.name}: two runs have the same config and seed`);

  const dir = experimentDir(exp.name, preset);
  ensureDir(dir); // a results path that is a file or unwritable fails here, before any training
  const file = path.join(dir, 'runs.jsonl');
  const seen = inspectRuns(file, { keepAside: true });
  for (const w of seen.warnings) console.warn(`warning: ${w}`);
  // The first record of a run id is the one used; a later one with other metrics is flagged, never silently preferred.
  const byId = new Map<string, RunRecord>();
  for (const r of seen.records) if (!byId.has(r.runId)) byId.set(r.runId, r);
  for (const c of seen.conflicts) {
    console.warn(`WARNING: ${file}: run ${c.runId} has conflicting records on lines ${c.lines.join(', ')} (${c.differences.slice(0, 3).join('; ')}); the first (line ${c.lines[0]}) is used. Remove the wrong line to silence this.`);
  }
  const wanted = new Set(ids);
  for (const u of seen.unreadable) {
    if (u.runId && wanted.has(u.runId) && !byId.has(u.runId)) {
      console.warn(`WARNING: the record of run ${u.runId} on ${file}:${u.line} cannot be read (${u.reason}); ` +
        `${seen.asideFile ? `the line is kept in ${seen.asideFile}` : 'the line stays in place'}; this run will be retrained (resuming from its checkpoint if one is left)`);
    }
  }
  for (const id of ids) {
    // A finished run whose append failed earlier (full disk) left its record aside: add it, no retraining.
    const aside = byId.has(id) ? null : recordAside(path.join(dir, 'checkpoints', id), id);
    if (aside && !checkRunRecord(aside)) {
      appendRun(file, aside);
      byId.set(id, aside);
      fs.rmSync(path.join(dir, 'checkpoints', id, 'record.json'), { force: true });
      if (verbose) console.log(`${exp.name}: added the record of run ${id} kept aside after a failed save to ${file}`);
    }
  }
  const todo = specs.filter((_, i) => !byId.has(ids[i]));
  const reused = specs.length - todo.length;
  const plan = planWorkers(opts.workers, todo.length);
  for (const w of plan.warnings) console.warn(`warning: ${w}`);
  const workers = plan.workers;
  if (verbose) {
    console.log(`${exp.name}/${preset}: ${specs.length} run(s); ${reused} reused from ${path.relative(process.cwd(), file) || file}` +
      (todo.length ? `; ${todo.length} to run on ${workers} worker${workers > 1 ? 's' : ''}` : ''));
  }

  const failures: string[] = [];
  /** Runs that finished but whose record could not be appended (kept aside; see saveRecordAside). */
  const unsaved: string[] = [];
  /** Runs stopped by a signal after checkpointing. */
  const interrupted: string[] = [];
  let saved = 0;
  let finished = 0;
  /** After a failed append no new run starts (its record could not be kept either). */
  let halt = false;
  let workerSignal: StopSignal | undefined;
  const mayStart = () => !halt && !stopRequested();
  if (todo.length) {
    const bar = verbose ? new ProgressBar(`${exp.name}/${preset}`, todo.length, { unit: 'run' }) : null;
    const fractions = new Map<string, number>();
    const onProgress = (runId: string, done: number, total: number, info?: string) => {
      fractions.set(runId, total > 0 ? done / total : 0);
      const inFlight = [...fractions.values()].reduce((a, b) => a + b, 0);
      if (bar) {
        bar.total = todo.length;
        // The bar counts whole runs; the fractional progress of running ones sharpens the ETA.
        bar.update(Math.min(todo.length, finished + inFlight), info ?? '');
      }
    };
    const onDone = (spec: RunSpec, reply: WorkerReply) => {
      const runId = runIdOf(exp.name, spec, dataKey);
      fractions.delete(runId);
      finished += 1;
      if (reply.type === 'result') {
        const rec = reply.record;
        try {
          appendRun(file, rec);
          saved += 1;
          byId.set(runId, rec);
        } catch (e) {
          // Never let a write failure escape this handler: in worker mode it would crash the runner
          // (and the Jupyter kernel) and kill the other in-flight runs.
          halt = true;
          const aside = saveRecordAside(path.join(dir, 'checkpoints', runId), rec);
          unsaved.push(`${spec.row} (seed ${spec.seed}): ${(e as Error).message}; ${aside}`);
          if (verbose) console.error(`\n${exp.name}: run '${spec.row}' seed ${spec.seed} finished but its record was not saved: ${(e as Error).message}; ${aside}; no further run starts`);
        }
      } else if (reply.name === 'InterruptedError') {
        // Also when only the workers got the signal (Jupyter's interrupt signals the kernel's process group).
        halt = true;
        workerSignal ??= (/interrupted by (SIG[A-Z]+)/.exec(reply.message)?.[1] as StopSignal | undefined) ?? 'SIGINT';
        interrupted.push(`${spec.row} (seed ${spec.seed}): ${reply.message}`);
      } else {
        failures.push(`${spec.row} (seed ${spec.seed}): ${reply.message}`);
        if (verbose) console.error(`\n${exp.name}: run '${spec.row}' seed ${spec.seed} failed: ${reply.message}`);
      }
    };
    // Inside a Jupyter kernel, training never runs in the kernel's own process: long synchronous
    // steps starve tslab's ZeroMQ socket ("Socket is busy writing") and can kill the kernel.
    const inKernel = process.env.JPY_PARENT_PID !== undefined;
    if (workers === 1 && !inKernel) {
      for (const spec of todo) {
        if (!mayStart()) break;
        const reply = await executeRun({ experiment: exp.name, preset, spec, dataKey }, exp, (d, t, i) => onProgress(runIdOf(exp.name, spec, dataKey), d, t, i));
        onDone(spec, reply);
      }
    } else {
      await runInWorkers({ experiment: exp.name, preset, dataKey, blasThreads: plan.blasThreads }, todo, workers, onProgress, onDone, mayStart);
    }
    bar?.finish(`${saved} ok, ${failures.length + unsaved.length} failed${interrupted.length ? `, ${interrupted.length} interrupted` : ''} in ${formatDuration((Date.now() - t0) / 1000)}`);
  }
  const notStarted = todo.length - finished;
  const savedNote = saved ? `${saved} finished run(s) are saved in ${file}` : `no run of this call was saved`;
  const signal = stopRequested() ?? workerSignal;
  if (signal && (interrupted.length || notStarted > 0)) {
    const lines = [...interrupted, ...failures, ...unsaved];
    throw new RunnerInterruptedError(
      `${exp.name}/${preset}: interrupted by ${signal}; ${savedNote}; ${interrupted.length} run(s) checkpointed` +
        `${notStarted ? `, ${notStarted} not started` : ''}. Rerun the same command to resume from the checkpoints` +
        (lines.length ? `:\n  ${lines.join('\n  ')}` : ''),
      signal,
    );
  }
  if (failures.length || unsaved.length) {
    const lines = [...unsaved.map((u) => `not saved: ${u}`), ...failures];
    throw new Error(
      `${exp.name}/${preset}: ${failures.length} of ${todo.length} run(s) failed${unsaved.length ? `, ${unsaved.length} finished but could not be saved` : ''}` +
        `${notStarted ? `, ${notStarted} not started` : ''} (${savedNote}; rerun to resume the rest from their checkpoints):\n  ${lines.join('\n  ')}`,
    );
  }
  return {
    experiment: exp.name,
    preset,
    config,
    records: ids.map((id) => byId.get(id)!),
    dir,
    reused,
    executed: todo.length,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** Runs specs in `n` worker processes, each taking the next spec when it finishes one. */
function runInWorkers(
  job: { experiment: string; preset: PresetName; dataKey: string | undefined; blasThreads: number },
  specs: RunSpec[],
  n: number,
  onProgress: (runId: string, done: number, total: number, info: string) => void,
  onDone: (spec: RunSpec, reply: WorkerReply) => void,
  mayStart: () => boolean,
): Promise<void> {
  const { experiment, preset, dataKey } = job;
  const queue = specs.slice();
  const script = path.join(__dirname, 'worker.js');
  return new Promise((resolve) => {
    let alive = 0;
    const startWorker = () => {
      const child: ChildProcess = fork(script, [], {
        env: { ...process.env, OPENBLAS_NUM_THREADS: String(job.blasThreads), REPRO_WORKER: '1' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      alive += 1;
      liveWorkers.add(child);
      let current: RunSpec | null = null;
      const next = () => {
        current = mayStart() ? (queue.shift() ?? null) : null;
        if (!current) {
          child.send({ type: 'exit' });
          return;
        }
        const req: WorkerRequest = { experiment, preset, spec: current, dataKey };
        child.send(req);
      };
      child.on('message', (m: WorkerReply | { type: 'progress'; runId: string; done: number; total: number; info: string }) => {
        if (m.type === 'progress') onProgress(m.runId, m.done, m.total, m.info);
        else if (current) {
          onDone(current, m);
          next();
        }
      });
      child.on('exit', (code, signal) => {
        alive -= 1;
        liveWorkers.delete(child);
        if (current) {
          onDone(current, { type: 'error', message: `worker process exited (${signal ?? `code ${code}`}) during the run; rerun to resume from its checkpoint` });
          current = null;
          if (queue.length && mayStart()) startWorker(); // a crashed worker's share goes to a fresh one
        }
        if (alive === 0) resolve();
      });
      next();
    };
    for (let i = 0; i < n; i++) startWorker();
  });
}
