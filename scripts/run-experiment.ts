/**
 * Runs one experiment without Jupyter (the notebooks call the same library function):
 *
 *   node build/scripts/run-experiment.js <experiment> [--preset smoke|cpu|paper] [--workers N]
 *        [--set key.path=value ...] [--run-id ID ...] [--sweep-manifest FILE]
 *
 * `--run-id` runs only those runs of the config (a Slurm array task of `npm run sweep` runs one);
 * `--sweep-manifest` makes the task check that it sees the submitter's results folder, and installs
 * the task's stop handlers (claims released on SIGTERM; lib/runner/cluster/task.ts).
 *
 * Finished runs are reused and interrupted ones resume from their checkpoints. Prints the
 * records' metrics as JSON lines on stdout. Flags are parsed and checked before anything else
 * (lib/runner/cli.ts); SIGINT/SIGTERM/SIGHUP checkpoint the running runs and exit 130/143/129
 * with what was saved; anything that ran nothing exits non-zero.
 */
import { initEngine, describeEngine } from '../lib/backend';
import { parseRunArgs } from '../lib/runner/cli';
import { loadStudy } from '../lib/studies';
import { runExperiment, stopRuns } from '../lib/runner/run';
import { installStopHandlers, RunnerInterruptedError, SIGNAL_EXIT, stopRequested } from '../lib/train/interrupt';
import { checkSweepManifest, installTaskSignals } from '../lib/runner/cluster/task';
import { planRuns } from '../lib/runner/cluster/sweep';

async function main() {
  const args = parseRunArgs(process.argv.slice(2));
  const exp = loadStudy(args.experiment);
  if (args.manifest) checkSweepManifest(args.manifest, args.runIds);
  // SIGINT/SIGTERM/SIGHUP: running loops checkpoint and stop, no new run starts; a second signal exits now.
  installStopHandlers((signal) => {
    process.stderr.write(`\n${signal}: checkpointing the running runs and stopping (send it again to exit at once)\n`);
    stopRuns(signal);
  });
  if (args.runIds.length) {
    // One task of a sweep (Slurm, Kubernetes): a stop also notes the runs and releases their claims (lib/runner/cluster/task.ts).
    const byId = new Map(planRuns(exp, args.preset, args.overrides as never).map((r) => [r.runId, { runId: r.runId, row: r.spec.row, seed: r.spec.seed }]));
    installTaskSignals(exp.name, args.preset, args.runIds.map((id) => byId.get(id) ?? { runId: id, row: '?', seed: -1 }));
  }
  console.error(describeEngine(await initEngine()));
  const r = await runExperiment(exp, {
    preset: args.preset,
    workers: args.workers,
    overrides: args.overrides as never,
    ...(args.runIds.length ? { runIds: args.runIds } : {}),
  });
  for (const rec of r.records) console.log(JSON.stringify({ row: rec.row, seed: rec.seed, runId: rec.runId, metrics: rec.metrics }));
  const signal = stopRequested();
  if (signal) {
    console.error(`run-experiment: ${signal} arrived after every run had finished; all ${r.records.length} record(s) are saved`);
    process.exit(SIGNAL_EXIT[signal]);
  }
}

main().catch((e) => {
  console.error(`run-experiment: ${(e as Error).message}`);
  const signal = e instanceof RunnerInterruptedError ? e.signal : stopRequested();
  process.exit(signal ? SIGNAL_EXIT[signal] : 1);
});
