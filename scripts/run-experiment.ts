/**
 * Runs one experiment without Jupyter (the notebooks call the same library function):
 *
 *   node build/scripts/run-experiment.js <experiment> [--preset smoke|cpu|paper] [--workers N]
 *        [--set key.path=value ...]
 *
 * Finished runs are reused and interrupted ones resume from their checkpoints. Prints the
 * records' metrics as JSON lines on stdout.
 */
import { initEngine, describeEngine } from '../lib/backend';
import { checkPreset, PresetName, presetFromEnv } from '../lib/config';
import { loadExperiment } from '../lib/experiments/execute';
import { runExperiment } from '../lib/experiments/run';

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
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--preset') preset = checkPreset(argv[++i]);
    else if (argv[i] === '--workers') workers = Number(argv[++i]);
    else if (argv[i] === '--set') parseSet(argv[++i] ?? '', overrides);
    else throw new Error(`unknown option '${argv[i]}'`);
  }
  const exp = loadExperiment(name);
  console.error(describeEngine(await initEngine()));
  const r = await runExperiment(exp, { preset, workers, overrides: overrides as never });
  for (const rec of r.records) console.log(JSON.stringify({ row: rec.row, seed: rec.seed, runId: rec.runId, metrics: rec.metrics }));
}

main().catch((e) => {
  console.error(`run-experiment: ${(e as Error).message}`);
  process.exit(1);
});
