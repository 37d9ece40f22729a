/**
 * Runs one experiment without Jupyter (the notebooks call the same library function):
 *
 *   node build/scripts/run-experiment.js <experiment> [--preset smoke|cpu|paper] [--workers N]
 *        [--set key.path=value ...] [--run-id ID ...] [--sweep-manifest FILE]
 *
 * `--run-id` runs only those runs of the config (a Slurm array task of `npm run sweep` runs one);
 * `--sweep-manifest` makes the task check that it sees the submitter's results folder, and installs
 * the task's stop handlers (claims released on SIGTERM; lib/cluster/task.ts).
 *
 * Finished runs are reused and interrupted ones resume from their checkpoints. Prints the
 * records' metrics as JSON lines on stdout.
 */
import { initEngine, describeEngine } from '../lib/backend';
import { checkPreset, PresetName, presetFromEnv } from '../lib/config';
import { loadExperiment } from '../lib/experiments/execute';
import { runExperiment } from '../lib/experiments/run';
import { checkSweepManifest, installTaskSignals } from '../lib/cluster/task';
import { planRuns } from '../lib/cluster/sweep';

/** `a.b=3` -> { a: { b: 3 } }; values parse as JSON when they can, else stay strings. */
function parseSet(s: string, into: Record<string, unknown>): void {
  const eq = s.indexOf('=');
  if (eq < 1) throw new Error(`--set expects key=value; got '${s}'`);
  const keys = s.slice(0, eq).split('.');
  const raw = s.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  let o = into;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]] = value;
}

async function main() {
  const argv = process.argv.slice(2);
  const name = argv.shift();
  if (!name || name.startsWith('--')) throw new Error('usage: run-experiment <experiment> [--preset P] [--workers N] [--set k=v ...]');
  let preset: PresetName = presetFromEnv();
  let workers: number | undefined;
  const overrides: Record<string, unknown> = {};
  const runIds: string[] = [];
  let manifest: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--preset') preset = checkPreset(argv[++i]);
    else if (argv[i] === '--workers') workers = Number(argv[++i]);
    else if (argv[i] === '--set') parseSet(argv[++i] ?? '', overrides);
    else if (argv[i] === '--run-id' && /^[0-9a-f]{4,64}$/.test(argv[i + 1] ?? '')) runIds.push(argv[++i]);
    else if (argv[i] === '--run-id') throw new Error(`--run-id needs a run id (hex, as runs.jsonl and npm run sweep -- --status show it); got ${argv[i + 1] === undefined ? 'nothing' : `'${argv[i + 1]}'`}`);
    else if (argv[i] === '--sweep-manifest' && argv[i + 1]) manifest = argv[++i];
    else throw new Error(`unknown option '${argv[i]}'`);
  }
  const exp = loadExperiment(name);
  if (manifest) checkSweepManifest(manifest, runIds);
  if (runIds.length) {
    // One task of a sweep (Slurm, Kubernetes): a stop releases its claim at once (lib/cluster/task.ts).
    const byId = new Map(planRuns(exp, preset, overrides as never).map((r) => [r.runId, { runId: r.runId, row: r.spec.row, seed: r.spec.seed }]));
    installTaskSignals(exp.name, preset, runIds.map((id) => byId.get(id) ?? { runId: id, row: '?', seed: -1 }));
  }
  console.error(describeEngine(await initEngine()));
  const r = await runExperiment(exp, { preset, workers, overrides: overrides as never, ...(runIds.length ? { runIds } : {}) });
  for (const rec of r.records) console.log(JSON.stringify({ row: rec.row, seed: rec.seed, runId: rec.runId, metrics: rec.metrics }));
}

main().catch((e) => {
  console.error(`run-experiment: ${(e as Error).message}`);
  process.exit(1);
});
