/**
 * The experiment runner: defaults -> preset -> overrides, validation before any work, expansion
 * into independent runs, reuse of finished runs (keyed by the hash of each run's resolved config),
 * resume of interrupted ones from their checkpoints, and parallel execution in worker processes
 * (one per core by default, one BLAS thread each). Each finished run appends one line to
 * `results/<experiment>/<preset>/runs.jsonl`; tables and figures are built from those lines.
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkPreset, configHash, DeepPartial, mergeChecked, PresetName, presetFromEnv } from '../config';
import { checkNumber, ConfigError } from '../errors';
import { experimentDir } from '../paths';
import { RunRecord } from '../report/runs';
import { loadRecords, noteFailure, publishRecord, readRecordFile, recordFile } from '../report/records';
import type { ClaimOptions } from './claims';
import { RunQueue } from './queue';
import { ProgressBar, formatDuration } from '../train/progress';
import { executeRun, runIdOf, WorkerRequest, WorkerReply } from './execute';
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

function defaultWorkers(): number {
  const env = process.env.REPRO_WORKERS;
  if (env !== undefined) return checkNumber('REPRO_WORKERS', Number(env), { lo: 1, integer: true });
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export async function runExperiment<C extends object>(
  exp: Experiment<C>,
  opts: RunExperimentOptions<C> = {},
): Promise<ExperimentRuns<C>> {
  const t0 = Date.now();
  const preset = opts.preset ?? presetFromEnv();
  const config = resolveConfig(exp, preset, opts.overrides);
  const verbose = opts.verbose ?? true;
  let specs = exp.runs(config);
  if (!specs.length) throw new ConfigError(`${exp.name}: the config expands to no runs`);
  let ids = specs.map((s) => runIdOf(exp.name, s));
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
  const file = path.join(dir, 'runs.jsonl');
  // runs.jsonl plus the per-run record files it does not hold yet (runs finished by other runners).
  const { records: existing, warnings } = fs.existsSync(dir) ? loadRecords(dir) : { records: [], warnings: [] };
  for (const w of warnings) console.warn(w);
  const byId = new Map(existing.map((r) => [r.runId, r]));
  const todo = specs.filter((_, i) => !byId.has(ids[i]));
  const reused = specs.length - todo.length;
  const workers = Math.max(1, Math.min(opts.workers ?? defaultWorkers(), todo.length));
  if (verbose) {
    console.log(`${exp.name}/${preset}: ${specs.length} run(s); ${reused} reused from ${path.relative(process.cwd(), file) || file}` +
      (todo.length ? `; ${todo.length} to run on ${workers} worker${workers > 1 ? 's' : ''}` : ''));
  }

  const failures: string[] = [];
  let executed = 0;
  if (todo.length) {
    const bar = verbose ? new ProgressBar(`${exp.name}/${preset}`, todo.length, { unit: 'run' }) : null;
    const fractions = new Map<string, number>();
    let finished = 0;
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
    const queue = new RunQueue(dir, todo.map((spec) => ({ spec, runId: runIdOf(exp.name, spec) })), byId, opts.claims);
    const onDone = (spec: RunSpec, reply: WorkerReply) => {
      const runId = runIdOf(exp.name, spec);
      fractions.delete(runId);
      finished += 1;
      executed += 1;
      try {
        if (reply.type === 'result') {
          const rec = reply.record;
          publishRecord(dir, rec);
          byId.set(runId, readRecordFile(recordFile(dir, runId)) ?? rec); // another runner's copy, if it won
        } else {
          noteFailure(dir, { runId, row: spec.row, seed: spec.seed, message: reply.message, name: reply.name });
          failures.push(`${spec.row} (seed ${spec.seed}): ${reply.message}`);
          if (verbose) console.error(`\n${exp.name}: run '${spec.row}' seed ${spec.seed} failed: ${reply.message}`);
        }
      } finally {
        queue.done(runId);
      }
    };
    const onElsewhere = (runId: string) => {
      finished += 1;
      bar?.update(Math.min(todo.length, finished), `run ${runId} finished by another runner`);
    };
    // Inside a Jupyter kernel, training never runs in the kernel's own process: long synchronous
    // steps starve tslab's ZeroMQ socket ("Socket is busy writing") and can kill the kernel.
    const inKernel = process.env.JPY_PARENT_PID !== undefined;
    while (queue.remaining()) {
      if (workers === 1 && !inKernel) {
        for (let spec = queue.take(); spec; spec = queue.take()) {
          const s = spec;
          const reply = await executeRun({ experiment: exp.name, preset, spec: s }, exp, (d, t, i) => onProgress(runIdOf(exp.name, s), d, t, i));
          onDone(s, reply);
        }
      } else {
        await runInWorkers(exp.name, preset, () => queue.take(), workers, onProgress, onDone);
      }
      if (queue.remaining()) {
        if (verbose) console.log(`\n${exp.name}/${preset}: waiting for ${queue.heldElsewhereList().join(', ')} (claimed by another runner)`);
        await queue.waitForOthers(onElsewhere);
      }
    }
    bar?.finish(`${finished - failures.length} ok, ${failures.length} failed in ${formatDuration((Date.now() - t0) / 1000)}`);
  }
  if (failures.length) {
    throw new Error(`${exp.name}/${preset}: ${failures.length} of ${executed} run(s) failed (finished runs are saved in ${file}):\n  ${failures.join('\n  ')}`);
  }
  return {
    experiment: exp.name,
    preset,
    config,
    records: ids.map((id) => byId.get(id)!),
    dir,
    reused: specs.length - executed,
    executed,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** Runs specs in `n` worker processes, each taking the next spec when it finishes one. */
function runInWorkers(
  experiment: string,
  preset: PresetName,
  take: () => RunSpec | null,
  n: number,
  onProgress: (runId: string, done: number, total: number, info: string) => void,
  onDone: (spec: RunSpec, reply: WorkerReply) => void,
): Promise<void> {
  const script = path.join(__dirname, 'worker.js');
  return new Promise((resolve) => {
    let alive = 0;
    const startWorker = (first: RunSpec | null) => {
      if (!first) {
        if (alive === 0) resolve();
        return;
      }
      const child: ChildProcess = fork(script, [], {
        env: { ...process.env, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? '1', REPRO_WORKER: '1' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      alive += 1;
      let current: RunSpec | null = null;
      let pending: RunSpec | null = first;
      const next = () => {
        current = pending ?? take();
        pending = null;
        if (!current) {
          child.send({ type: 'exit' });
          return;
        }
        const req: WorkerRequest = { experiment, preset, spec: current };
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
        if (current) {
          onDone(current, { type: 'error', message: `worker process exited (${signal ?? `code ${code}`}) during the run; rerun to resume from its checkpoint` });
          current = null;
          startWorker(take()); // a crashed worker's share goes to a fresh one
        }
        if (alive === 0) resolve();
      });
      next();
    };
    for (let i = 0; i < n; i++) startWorker(take());
    if (alive === 0) resolve();
  });
}
