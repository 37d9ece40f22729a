/**
 * The shape of an experiment: one file per paper table, `lib/studies/<name>/`, exporting
 * `experiment: Experiment<Config>`. The runner (`./run.ts`) resolves defaults -> preset -> overrides,
 * validates, expands the config into independent runs (rows x seeds), skips runs already in
 * `results/<name>/<preset>/runs.jsonl` (keyed by the hash of the run's resolved config), executes
 * the rest (in worker processes when there are several), and appends one JSON line per finished run.
 */
import type { PresetName, DeepPartial } from '../config';
import type { DatasetName } from '../data/identity';

/** A JSON-serialisable value (configs, metrics, histories). */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One independent training/evaluation run: a table row at one seed. */
export interface RunSpec {
  /** Short human-readable name of the row, e.g. `decayed α_min=0.6` or `depth 8 / ancre`. */
  row: string;
  /** The seed of this run. */
  seed: number;
  /** Everything `runOne` needs, fully resolved; its hash (with the experiment name) is the run id. */
  config: { [k: string]: Json };
}

/** What `runOne` gets besides its spec. */
export interface RunContext {
  /** The experiment's preset. */
  preset: PresetName;
  /** This run's id (hash of experiment + row config + seed). */
  runId: string;
  /** A folder private to this run for checkpoints (created; survives interruption). */
  checkpointDir: string;
  /** Reports training progress (drives the progress bar with ETA). `total` in steps. */
  progress(done: number, total: number, info?: string): void;
  /** Writes an intermediate metrics line (JSON) to the run's log: `{step, loss, ...}`. */
  log(metrics: { [k: string]: Json }): void;
}

/** What a finished run returns: the metrics of its table row, and optional curves for figures. */
export interface RunResult {
  /** Scalar metrics of the row (kNN, LP, perplexity, FID, wall time of training, ...). */
  metrics: { [k: string]: number | string | boolean | null };
  /** Curves for figures, e.g. `{ step: [...], loss: [...] }` (keep them to a few hundred points). */
  history?: { [k: string]: number[] };
  /** Anything else worth keeping with the run (coefficients, routing matrices, ...). */
  extra?: { [k: string]: Json };
}

export interface Experiment<C extends object> {
  /** Kebab-case name, equal to the file name and the results folder: `mae-sweep`. */
  readonly name: string;
  /** One line: what the experiment reproduces. */
  readonly title: string;
  /** Every field with its default value (the config interface documents each field). */
  readonly defaults: C;
  /** Per-preset changes to the defaults. */
  readonly presets: Record<PresetName, DeepPartial<C>>;
  /** Throws a ConfigError naming the field, the value and what is allowed. Called before any work. */
  validate(config: C): void;
  /** Expands a resolved config into its independent runs, in the order they should execute. */
  runs(config: C): RunSpec[];
  /**
   * Datasets the runs read whose copy the user chooses (`$REPRO_DATA`): a non-canonical copy's checksum
   * joins the run id, so runs on other data are never reused as runs on the canonical data.
   */
  readonly data?: readonly DatasetName[];
  /** Executes one run in this process (the engine is already initialised). */
  runOne(run: RunSpec, ctx: RunContext): Promise<RunResult>;
}
