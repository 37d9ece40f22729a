/**
 * The finished runs of an experiment's config WITHOUT running the missing ones: for notebooks that table
 * a long study while it is still incomplete (the missing runs are listed, never invented). `runExperiment`
 * (./run.ts) is the way to run them; both key runs by the same run id, so nothing is recomputed later.
 */
import type { DeepPartial, PresetName } from '../config';
import { dataKeyOf } from '../data/identity';
import { experimentDir } from '../paths';
import { loadRecords } from './store/records';
import type { RunRecord } from './store/runs';
import { runIdOf } from './execute';
import { resolveConfig, runExperiment } from './run';
import { ConfigError } from '../errors';
import { exportDirFor } from './overrides';
import type { Experiment } from './types';

export interface RecordedRuns<C extends object> {
  experiment: string;
  preset: PresetName;
  config: C;
  /** The finished runs of this config, in run order. */
  records: RunRecord[];
  /** The planned runs without a record, in run order. */
  missing: { row: string; seed: number }[];
  /** Planned runs in all. */
  total: number;
  /** `results/<experiment>/<preset>`. */
  dir: string;
  /** Where tables and figures go: `dir`, or `dir/tweaks/<config hash>` for a researcher's tweak. */
  exportDir: string;
  /** The overrides this study was asked with (the notebook cell's), so the command that trains the rest can repeat them. */
  overrides?: DeepPartial<C>;
}

export function recordedRuns<C extends object>(exp: Experiment<C>, preset: PresetName, overrides?: DeepPartial<C>): RecordedRuns<C> {
  const config = resolveConfig(exp, preset, overrides);
  const specs = exp.runs(config);
  const dir = experimentDir(exp.name, preset);
  // The runner's ids: with REPRO_DATA on a copy that is not the canonical data, its key joins the id, so the
  // notebook tables the runs made on that data, never the canonical records (issue 31, 2).
  const dataKey = dataKeyOf(exp.data ?? []);
  // runs.jsonl and the record files it may lack (a rebuild that failed under a held lock: issue 31, 4).
  const byId = new Map<string, RunRecord>();
  for (const r of loadRecords(dir).records) if (!byId.has(r.runId)) byId.set(r.runId, r);
  const records: RunRecord[] = [];
  const missing: { row: string; seed: number }[] = [];
  for (const s of specs) {
    const r = byId.get(runIdOf(exp.name, s, dataKey));
    if (r) records.push(r);
    else missing.push({ row: s.row, seed: s.seed });
  }
  return { experiment: exp.name, preset, config, records, missing, total: specs.length, dir, exportDir: exportDirFor(dir, config as object, overrides), ...(overrides ? { overrides } : {}) };
}

/**
 * Whether a notebook trains the runs a study still lacks: always on `smoke` (seconds), on `cpu` and `paper`
 * (hours) only when asked with `REPRO_RUN_MISSING=1`, so opening and rerunning a reference notebook tables
 * what finished and never starts hours of training by surprise. Any other value of the variable is an error.
 */
export function runsMissing(preset: PresetName, env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.REPRO_RUN_MISSING;
  if (v !== undefined && v !== '' && v !== '0' && v !== '1') {
    throw new ConfigError(`REPRO_RUN_MISSING must be 1 (train the missing runs) or 0/unset (table finished runs only); got '${v}'`);
  }
  return preset === 'smoke' || v === '1';
}

/**
 * A study's runs for a notebook: with `runsMissing(preset)` every missing run is trained first (reusing finished
 * ones, resuming interrupted ones), else only the finished runs are returned and the missing ones listed.
 */
export async function studyRuns<C extends object>(
  exp: Experiment<C>,
  preset: PresetName,
  overrides?: DeepPartial<C>,
  opts: { workers?: number } = {},
): Promise<RecordedRuns<C>> {
  if (runsMissing(preset)) await runExperiment(exp, { preset, overrides, workers: opts.workers });
  return recordedRuns(exp, preset, overrides);
}

/** POSIX shell single quotes around `s` (a `'` inside becomes `'\''`). */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9_.,:=\/+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `--set key.path=value` arguments that give run-experiment the same config as `overrides` (parsed back by
 * `parseSet` in ./cli.ts: values are JSON, objects are walked into dotted keys, arrays and scalars are leaves).
 */
export function setArgs(overrides: object | undefined): string[] {
  const out: string[] = [];
  const walk = (o: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined) continue;
      const key = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length) walk(v as Record<string, unknown>, key);
      else out.push(`--set ${shellQuote(`${key}=${JSON.stringify(v)}`)}`);
    }
  };
  if (overrides) walk(overrides as Record<string, unknown>, '');
  return out;
}

/** The shell command that trains this study's missing runs (its overrides included), resumable. */
export function trainCommand(r: RecordedRuns<object>): string {
  return ['node build/scripts/run-experiment.js', r.experiment, '--preset', r.preset, ...setArgs(r.overrides)].join(' ');
}

/** One line for a notebook: how many of the planned runs have finished, and how to train the rest. */
export function missingLine(r: RecordedRuns<object>): string {
  if (!r.missing.length) return `${r.experiment}/${r.preset}: all ${r.total} runs finished.`;
  const rows = [...new Set(r.missing.map((m) => m.row))];
  return (
    `${r.experiment}/${r.preset}: ${r.records.length} of ${r.total} runs finished; missing ${r.missing.length} ` +
    `(${rows.slice(0, 6).join('; ')}${rows.length > 6 ? `; … ${rows.length - 6} more rows` : ''}). ` +
    `Tables below use the finished runs only. Train the rest: REPRO_RUN_MISSING=1, or ${trainCommand(r)}`
  );
}
