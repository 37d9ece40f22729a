/**
 * The runner: resolves a study's config (defaults -> preset -> overrides), expands it into runs, reuses
 * finished runs, resumes interrupted ones from their checkpoints, runs the rest (in worker processes,
 * or as a Slurm array), and keeps the record store (`results/<study>/<preset>/runs.jsonl` and
 * `records/`). It imports no study: studies are registered in `lib/studies/index.ts`.
 */
export * from './types';
export { resolveConfig, runExperiment, stopRuns, type ExperimentRuns, type RunExperimentOptions } from './run';
export { recordedRuns, studyRuns, missingLine, trainCommand, runsMissing, setArgs, type RecordedRuns } from './recorded';
export { overridesFor, addRows } from './overrides';
export { runIdOf, currentCommit } from './execute';
export { readRuns, type RunRecord } from './store/runs';
