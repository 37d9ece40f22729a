/**
 * The finished runs of an experiment's config WITHOUT running the missing ones: for notebooks that table
 * a long study while it is still incomplete (the missing runs are listed, never invented). `runExperiment`
 * (./run.ts) is the way to run them; both key runs by the same run id, so nothing is recomputed later.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { DeepPartial, PresetName } from '../config';
import { experimentDir } from '../paths';
import { readRuns, type RunRecord } from '../report/runs';
import { runIdOf } from './execute';
import { resolveConfig } from './run';
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
}

export function recordedRuns<C extends object>(exp: Experiment<C>, preset: PresetName, overrides?: DeepPartial<C>): RecordedRuns<C> {
  const config = resolveConfig(exp, preset, overrides);
  const specs = exp.runs(config);
  const dir = experimentDir(exp.name, preset);
  const file = path.join(dir, 'runs.jsonl');
  const byId = new Map((fs.existsSync(file) ? readRuns(file).records : []).map((r) => [r.runId, r]));
  const records: RunRecord[] = [];
  const missing: { row: string; seed: number }[] = [];
  for (const s of specs) {
    const r = byId.get(runIdOf(exp.name, s));
    if (r) records.push(r);
    else missing.push({ row: s.row, seed: s.seed });
  }
  return { experiment: exp.name, preset, config, records, missing, total: specs.length, dir };
}
