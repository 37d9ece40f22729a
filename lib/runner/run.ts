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
import { experimentDir, resultsRoot } from '../paths';
import { ensureDir } from '../io/atomic';
import { checkRunRecord, inspectRuns, RunRecord } from './store/runs';
import { noteFailure, publishRecord, readRecordFile, readRecordFiles, recordFile, syncRunsJsonl } from './store/records';
import { staleMsOf, type ClaimOptions } from './claims';
import { exportDirFor } from './overrides';
import { writeEventFiles } from './store/tensorboard';
import { RunQueue } from './queue';
import { clearStop, requestStop, RunnerInterruptedError, STOP_SIGNALS, stopRequested, type StopSignal } from '../train/interrupt';
import { ProgressBar, formatDuration } from '../train/progress';
import { dataKeyOf } from '../data/identity';
import { executeRun, experimentModule, runIdOf, WorkerRequest, WorkerReply } from './execute';
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
  /** Only these runs of the config (run ids); an id the config does not have is a ConfigError. */
  runIds?: string[];
  /** Claim timing (stale after `$REPRO_CLAIM_STALE_S`, default 120 s). */
  claims?: ClaimOptions & { pollMs?: number };
}

export interface ExperimentRuns<C extends object> {
  experiment: string;
  preset: PresetName;
  /** The resolved config. */
  config: C;
  /** The records of this config's runs, in the order `runs()` lists them. */
  records: RunRecord[];
  /** `results/<experiment>/<preset>`: the records. */
  dir: string;
  /** Where tables and figures go: `dir`, or `dir/tweaks/<config hash>` for a researcher's tweak (overrides.ts exportDirFor). */
  exportDir: string;
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

/** True in a Jupyter kernel (the launcher sets JPY_PARENT_PID). */
function inJupyterKernel(): boolean {
  return process.env.JPY_PARENT_PID !== undefined;
}

export async function runExperiment<C extends object>(
  exp: Experiment<C>,
  opts: RunExperimentOptions<C> = {},
): Promise<ExperimentRuns<C>> {
  if (!inJupyterKernel()) return runExperimentInner(exp, opts);
  // In a kernel, Kernel > Interrupt sends SIGINT: tslab only abandons the cell's promise, so without
  // this the runs would go on in the background (and the pool would replace the workers the signal
  // stopped). For the duration of this call a signal checkpoints and stops every run, and no run
  // starts after it; the flag is cleared afterwards so the next cell can train again.
  // tslab runs a cell's synchronous part under vm's breakOnSigint, which swaps SIGINT's OS handler for
  // Node's watchdog and restores it only for the listeners it saw before: a listener added during
  // that part (before this function's first await) leaves SIGINT at its default, and the interrupt
  // then kills the kernel. So wait for the cell's synchronous part to end first.
  await new Promise<void>((resolve) => setImmediate(resolve));
  clearStop();
  const onSignal = (signal: StopSignal) => {
    requestStop(signal);
    stopRuns(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    return await runExperimentInner(exp, opts);
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    clearStop();
  }
}

async function runExperimentInner<C extends object>(
  exp: Experiment<C>,
  opts: RunExperimentOptions<C>,
): Promise<ExperimentRuns<C>> {
  const t0 = Date.now();
  const preset = opts.preset ?? presetFromEnv();
  const config = resolveConfig(exp, preset, opts.overrides);
  staleMsOf(opts.claims); // a bad $REPRO_CLAIM_STALE_S is refused before any work
  resultsRoot(); // so is a set but empty $REPRO_RESULTS
  const verbose = opts.verbose ?? true;
  let specs = exp.runs(config);
  if (!specs.length) throw new ConfigError(`${exp.name}: the config expands to no runs`);
  for (const s of specs) checkSeed(`${exp.name}: the seed of run '${s.row}'`, s.seed);
  // The data's identity joins the run id only when it is not the canonical copy (so canonical
  // Fashion-MNIST keeps today's ids); a set REPRO_DATA that cannot be used throws here, before any work.
  const dataKey = dataKeyOf(exp.data ?? []);
  let ids = specs.map((s) => runIdOf(exp.name, s, dataKey));
  if (new Set(ids).size !== ids.length) throw new ConfigError(`${exp.name}: two runs have the same config and seed`);
  if (opts.runIds) {
    const unknown = opts.runIds.filter((id) => !ids.includes(id));
    if (unknown.length) {
      throw new ConfigError(
        `run id ${unknown.map((u) => `'${u}'`).join(', ')} is not a run of ${exp.name}/${preset} with this config; ` +
          `its runs are: ${specs.map((s, i) => `${ids[i]} (${s.row}, seed ${s.seed})`).join(', ')}`,
      );
    }
    const keep = new Set(opts.runIds);
    specs = specs.filter((_, i) => keep.has(ids[i]));
    ids = ids.filter((id) => keep.has(id));
  }

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
  // Record files runs.jsonl does not hold yet (runs finished by other runners, or a sync that failed).
  const files = readRecordFiles(dir);
  for (const w of files.warnings) console.warn(`warning: ${w}`);
  const unsynced = files.records.filter((r) => !byId.has(r.runId));
  for (const r of unsynced) byId.set(r.runId, r);
  // Finished runs runs.jsonl lacks (a rebuild that failed, e.g. under a held lock): rebuild it now.
  if (unsynced.length) {
    try {
      const added = syncRunsJsonl(dir);
      if (added && verbose) console.log(`${exp.name}: added ${added} finished run(s) from records/ to ${path.relative(process.cwd(), file) || file}`);
    } catch (e) {
      console.warn(`warning: ${unsynced.length} finished run(s) are in records/ but not in ${file}, which could not be rebuilt: ${(e as Error).message}`);
    }
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
      const { syncError } = publishRecord(dir, aside);
      if (syncError) console.warn(`warning: the record of run ${id} is saved in records/, but ${file} was not rebuilt: ${syncError}`);
      byId.set(id, aside);
      fs.rmSync(path.join(dir, 'checkpoints', id, 'record.json'), { force: true });
      if (verbose) console.log(`${exp.name}: added the record of run ${id} kept aside after a failed save to ${file}`);
    }
  }
  const todo = specs.filter((_, i) => !byId.has(ids[i]));
  const reused = specs.length - todo.length;
  const plan = planWorkers(opts.workers, todo.length);
  for (const w of plan.warnings) console.warn(`warning: ${w}`);
  // Worker processes load the experiment from the module that exports it; one defined elsewhere (a
  // test's ad-hoc experiment) runs in this process.
  const workerModule = experimentModule(exp as Experiment<object>);
  const workers = workerModule ? plan.workers : 1;
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
  /** Runs this runner executed (others may have been finished by another runner meanwhile). */
  let executed = 0;
  /** After a failed append no new run starts (its record could not be kept either). */
  let halt = false;
  let workerSignal: StopSignal | undefined;
  /** Runs of this call that another runner finished (collected from its record files). */
  let doneElsewhere = 0;
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
    // Each run is claimed before it starts (./claims.ts): runs another runner holds are skipped,
    // then waited for; their records come from that runner's record files.
    const queue = new RunQueue(dir, todo.map((spec) => ({ spec, runId: runIdOf(exp.name, spec, dataKey) })), byId, opts.claims);
    const take = () => (mayStart() ? queue.take() : null);
    const onDone = (spec: RunSpec, reply: WorkerReply) => {
      const runId = runIdOf(exp.name, spec, dataKey);
      fractions.delete(runId);
      finished += 1;
      executed += 1;
      try {
        onReply(spec, runId, reply);
      } finally {
        queue.done(runId);
      }
    };
    const onReply = (spec: RunSpec, runId: string, reply: WorkerReply) => {
      if (reply.type === 'result') {
        const rec = reply.record;
        try {
          const { syncError } = publishRecord(dir, rec);
          saved += 1;
          try {
            writeEventFiles(dir, [rec]); // TensorBoard's view of the run (store/tensorboard.ts); never fails a saved run
          } catch (e) {
            if (verbose) console.warn(`warning: no TensorBoard file for run ${runId}: ${(e as Error).message}`);
          }
          if (syncError && verbose) console.warn(`\n${exp.name}: run '${spec.row}' seed ${spec.seed} is saved as ${path.relative(process.cwd(), recordFile(dir, runId))}, but ${file} was not rebuilt (${syncError}); the next run of this study rebuilds it`);
          byId.set(runId, readRecordFile(recordFile(dir, runId)) ?? rec); // another runner's copy, if it won
        } catch (e) {
          // Never let a write failure escape this handler: in worker mode it would crash the runner
          // (and the Jupyter kernel) and kill the other in-flight runs.
          halt = true;
          const aside = saveRecordAside(path.join(dir, 'checkpoints', runId), rec);
          unsaved.push(`${spec.row} (seed ${spec.seed}): ${(e as Error).message}; ${aside}`);
          if (verbose) console.error(`\n${exp.name}: run '${spec.row}' seed ${spec.seed} finished but its record was not saved: ${(e as Error).message}; ${aside}; no further run starts`);
        }
      } else if (reply.name === 'InterruptedError' || reply.name === 'WorkerSignalled') {
        // Also when only the workers got the signal (Jupyter's interrupt signals the kernel's process group).
        halt = true;
        workerSignal ??= (/interrupted by (SIG[A-Z]+)/.exec(reply.message)?.[1] as StopSignal | undefined) ?? 'SIGINT';
        interrupted.push(`${spec.row} (seed ${spec.seed}): ${reply.message}`);
      } else {
        try {
          noteFailure(dir, { runId, row: spec.row, seed: spec.seed, message: reply.message, name: reply.name });
        } catch (e) {
          console.error(`${exp.name}: could not note the failure of run ${runId}: ${(e as Error).message}`);
        }
        failures.push(`${spec.row} (seed ${spec.seed}): ${reply.message}`);
        if (verbose) console.error(`\n${exp.name}: run '${spec.row}' seed ${spec.seed} failed: ${reply.message}`);
      }
    };
    // Inside a Jupyter kernel, training never runs in the kernel's own process: long synchronous
    // steps starve tslab's ZeroMQ socket ("Socket is busy writing") and can kill the kernel.
    const inKernel = inJupyterKernel();
    const onElsewhere = (runId: string) => {
      finished += 1;
      bar?.update(Math.min(todo.length, finished), `run ${runId} finished by another runner`);
    };
    try {
      while (queue.remaining() && mayStart()) {
        if (workers === 1 && !inKernel) {
          for (let spec = take(); spec; spec = take()) {
            const s = spec;
            const reply = await executeRun({ experiment: exp.name, preset, spec: s, dataKey }, exp, (d, t, i) => onProgress(runIdOf(exp.name, s, dataKey), d, t, i));
            onDone(s, reply);
          }
        } else {
          await runInWorkers({ experiment: exp.name, module: workerModule!, preset, dataKey, blasThreads: plan.blasThreads }, take, workers, onProgress, onDone);
        }
        if (queue.remaining() && mayStart()) {
          if (verbose) console.log(`\n${exp.name}/${preset}: waiting for ${queue.heldElsewhereList().join(', ')} (claimed by another runner)`);
          await queue.waitForOthers(onElsewhere, () => !mayStart());
        }
      }
    } finally {
      bar?.stop(); // its timer must not outlive this call (a cell that failed or was abandoned)
      doneElsewhere = queue.finishedElsewhere.size;
    }
    // The bar counts runs that ended (ok or failed, here or by another runner); interrupted ones did not.
    bar?.finish(
      `${saved} ok, ${failures.length + unsaved.length} failed${interrupted.length ? `, ${interrupted.length} interrupted` : ''}` +
        `${todo.length > executed + doneElsewhere ? `, ${todo.length - executed - doneElsewhere} not started` : ''}` +
        `${doneElsewhere ? `, ${doneElsewhere} finished by another runner` : ''} in ${formatDuration((Date.now() - t0) / 1000)}`,
      finished - interrupted.length,
    );
  }
  // Runs another runner finished were neither run here nor left undone.
  const notStarted = todo.length - executed - doneElsewhere;
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
      `${exp.name}/${preset}: ${failures.length} of ${executed} run(s) failed${unsaved.length ? `, ${unsaved.length} finished but could not be saved` : ''}` +
        `${notStarted ? `, ${notStarted} not started` : ''} (${savedNote}; rerun to resume the rest from their checkpoints):\n  ${lines.join('\n  ')}`,
    );
  }
  return {
    experiment: exp.name,
    preset,
    config,
    records: ids.map((id) => byId.get(id)!),
    dir,
    exportDir: exportDirFor(dir, config, opts.overrides),
    reused: specs.length - executed,
    executed,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** Runs specs in `n` worker processes, each taking the next spec when it finishes one. */
function runInWorkers(
  job: { experiment: string; module: string; preset: PresetName; dataKey: string | undefined; blasThreads: number },
  take: () => RunSpec | null,
  n: number,
  onProgress: (runId: string, done: number, total: number, info: string) => void,
  onDone: (spec: RunSpec, reply: WorkerReply) => void,
): Promise<void> {
  const { experiment, module, preset, dataKey } = job;
  const script = path.join(__dirname, 'worker.js');
  return new Promise((resolve) => {
    let alive = 0;
    const startWorker = (first: RunSpec | null) => {
      if (!first) {
        if (alive === 0) resolve();
        return;
      }
      const child: ChildProcess = fork(script, [], {
        env: { ...process.env, OPENBLAS_NUM_THREADS: String(job.blasThreads), REPRO_WORKER: '1' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      alive += 1;
      liveWorkers.add(child);
      let current: RunSpec | null = null;
      let pending: RunSpec | null = first;
      const next = () => {
        current = pending ?? take();
        pending = null;
        if (!current) {
          child.send({ type: 'exit' });
          return;
        }
        const req: WorkerRequest = { experiment, module, preset, spec: current, dataKey };
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
          const stopSignal = signal && (STOP_SIGNALS as readonly string[]).includes(signal) ? (signal as StopSignal)
            : code === 130 ? 'SIGINT' : code === 143 ? 'SIGTERM' : code === 129 ? 'SIGHUP' : null;
          if (stopSignal) {
            // Ended by a stop signal (a second Ctrl-C, Jupyter's interrupt twice): an interruption, not a
            // crash; its last periodic checkpoint is kept and no fresh worker takes its place.
            onDone(current, { type: 'error', name: 'WorkerSignalled', message: `interrupted by ${stopSignal}: the worker process ended before its checkpoint; the last periodic checkpoint is kept` });
            current = null;
          } else {
            onDone(current, { type: 'error', message: `worker process exited (${signal ?? `code ${code}`}) during the run; rerun to resume from its checkpoint` });
            current = null;
            startWorker(take()); // a crashed worker's share goes to a fresh one
          }
        }
        if (alive === 0) resolve();
      });
      next();
    };
    for (let i = 0; i < n; i++) startWorker(take());
    if (alive === 0) resolve();
  });
}
