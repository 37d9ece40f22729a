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
import { appendRun, readRuns, RunRecord } from '../report/runs';
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
  const specs = exp.runs(config);
  if (!specs.length) throw new ConfigError(`${exp.name}: the config expands to no runs`);
  const ids = specs.map((s) => runIdOf(exp.name, s));
  if (new Set(ids).size !== ids.length) throw new ConfigError(`${exp.name}: two runs have the same config and seed`);

  const dir = experimentDir(exp.name, preset);
  const file = path.join(dir, 'runs.jsonl');
  const { records: existing, warnings } = fs.existsSync(file) ? readRuns(file) : { records: [], warnings: [] };
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
    const onDone = (spec: RunSpec, reply: WorkerReply) => {
      const runId = runIdOf(exp.name, spec);
      fractions.delete(runId);
      finished += 1;
      if (reply.type === 'result') {
        const rec = reply.record;
        appendRun(file, rec);
        byId.set(runId, rec);
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
        const reply = await executeRun({ experiment: exp.name, preset, spec }, exp, (d, t, i) => onProgress(runIdOf(exp.name, spec), d, t, i));
        onDone(spec, reply);
      }
    } else {
      await runInWorkers(exp.name, preset, todo, workers, onProgress, onDone);
    }
    bar?.finish(`${finished - failures.length} ok, ${failures.length} failed in ${formatDuration((Date.now() - t0) / 1000)}`);
  }
  if (failures.length) {
    throw new Error(`${exp.name}/${preset}: ${failures.length} of ${todo.length} run(s) failed (finished runs are saved in ${file}):\n  ${failures.join('\n  ')}`);
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
  experiment: string,
  preset: PresetName,
  specs: RunSpec[],
  n: number,
  onProgress: (runId: string, done: number, total: number, info: string) => void,
  onDone: (spec: RunSpec, reply: WorkerReply) => void,
): Promise<void> {
  const queue = specs.slice();
  const script = path.join(__dirname, 'worker.js');
  return new Promise((resolve) => {
    let alive = 0;
    const startWorker = () => {
      const child: ChildProcess = fork(script, [], {
        env: { ...process.env, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? '1', REPRO_WORKER: '1' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      alive += 1;
      let current: RunSpec | null = null;
      const next = () => {
        current = queue.shift() ?? null;
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
          if (queue.length) startWorker(); // a crashed worker's share goes to a fresh one
        }
        if (alive === 0) resolve();
      });
      next();
    };
    for (let i = 0; i < n; i++) startWorker();
  });
}
