/**
 * Sweeps beyond one machine (lib/runner/cluster/):
 *
 *   npm run sweep -- <experiment> [--preset P] [--set k=v ...] --slurm [--dry-run] [sbatch options]
 *       writes an sbatch job array for the runs that are not finished, running or queued (array index
 *       -> run id; each task runs one run with run-experiment --run-id) and submits it (--dry-run: prints
 *       it). sbatch options: --partition, --time, --cpus-per-task, --mem, --gres=gpu:N, --account, --qos,
 *       ..., --max-parallel N (the array's %N), --signal-lead S (USR1 S seconds before the time limit:
 *       the task stops and requeues), --sbatch-line "#SBATCH ..." (any other line).
 *   npm run sweep -- <experiment> [--preset P] [--set k=v ...] --status
 *       finished / running / queued / failed / pending, from the records, claims, failure notes and squeue.
 *   npm run sweep -- --status [--preset P]
 *       the same for every experiment with claims or submissions under the results folder.
 *   npm run sweep -- <experiment> [--preset P] [--set k=v ...] --list-ids
 *       every run id of the config, one a line, in run order (index -> run id for other schedulers,
 *       e.g. the Kubernetes Indexed Job in environment/kubernetes/).
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkPreset, PresetName, PRESET_NAMES, presetFromEnv } from '../lib/config';
import { ConfigError, EnvironmentError, show } from '../lib/errors';
import { loadStudy } from '../lib/studies';
import { experimentDir, resultsRoot } from '../lib/paths';
import { formatStatus, noteTaskDied, planRuns, readManifests, submitSweep, sweepStatus } from '../lib/runner/cluster/sweep';
import { parseSlurmArgs, SLURM_USAGE } from '../lib/runner/cluster/slurm';
import { parseSetArg } from '../lib/runner/cluster/args';

const USAGE =
  'usage: npm run sweep -- <experiment> [--preset smoke|cpu|paper] [--set k=v ...] (--status | --slurm [--dry-run] [sbatch options])\n' +
  '       npm run sweep -- --status [--preset P]\n' +
  `       ${SLURM_USAGE}`;

function main(): number {
  const argv = process.argv.slice(2);
  const slurmAt = argv.indexOf('--slurm');
  const own = slurmAt >= 0 ? argv.slice(0, slurmAt) : argv.slice();
  let slurmArgs = slurmAt >= 0 ? argv.slice(slurmAt + 1) : [];
  // The sweep's own options may also come after --slurm (`--slurm -p gpu --set train.steps=25`): sbatch has
  // no --set / --preset, so they are taken out of the sbatch options rather than refused there.
  for (let i = 0; i < slurmArgs.length; i++) {
    const a = slurmArgs[i];
    if (a === '--set' || a === '--preset') {
      own.push(a, ...(slurmArgs[i + 1] === undefined ? [] : [slurmArgs[i + 1]]));
      slurmArgs.splice(i, 2);
      i--;
    } else if (a.startsWith('--set=') || a.startsWith('--preset=')) {
      const eq = a.indexOf('=');
      own.push(a.slice(0, eq), a.slice(eq + 1));
      slurmArgs.splice(i, 1);
      i--;
    }
  }
  const dryRun = slurmArgs.includes('--dry-run') || own.includes('--dry-run');
  slurmArgs = slurmArgs.filter((a) => a !== '--dry-run');
  let name: string | undefined;
  let preset: PresetName | undefined;
  let status = false;
  let listIds = false;
  const sets: string[] = [];
  const overrides: Record<string, unknown> = {};
  let died: { runId?: string; pid?: number; code?: number } | null = null;
  for (let i = 0; i < own.length; i++) {
    const a = own[i];
    const val = () => {
      const v = own[++i];
      if (v === undefined) throw new ConfigError(`${a} needs a value; ${USAGE}`);
      return v;
    };
    if (a === '--preset') preset = checkPreset(val());
    else if (a === '--set') {
      const v = val();
      parseSetArg(v, overrides);
      sets.push(v);
    } else if (a === '--status') status = true;
    else if (a === '--list-ids') listIds = true;
    else if (a === '--dry-run') continue;
    else if (a === '--task-died') (died ??= {}).runId = val();
    else if (a === '--pid') (died ??= {}).pid = Number(val());
    else if (a === '--code') (died ??= {}).code = Number(val());
    else if (!a.startsWith('-') && name === undefined) name = a;
    else throw new ConfigError(`unknown option ${show(a)}; ${USAGE}`);
  }
  if (slurmAt >= 0 && status) throw new ConfigError(`--status and --slurm do not go together; ${USAGE}`);

  if (!name) {
    if (!status) throw new ConfigError(USAGE);
    return statusOfAll(preset);
  }
  const exp = loadStudy(name);
  preset ??= presetFromEnv();
  if (died) {
    const run = planRuns(exp, preset, overrides as never).find((r) => r.runId === died!.runId);
    if (!run || !Number.isSafeInteger(died.pid) || !Number.isSafeInteger(died.code)) throw new ConfigError(`--task-died needs a run id of this config, --pid and --code`);
    console.error(`sweep: ${noteTaskDied(experimentDir(exp.name, preset), run.runId, run.spec.row, run.spec.seed, died.pid!, died.code!)}`);
    return 0;
  }
  if (listIds) {
    for (const r of planRuns(exp, preset, overrides as never)) console.log(r.runId);
    return 0;
  }
  if (status) {
    const s = sweepStatus(exp, preset, overrides as never);
    console.log(formatStatus(`${exp.name}/${preset}`, s));
    return 0;
  }
  if (slurmAt < 0) throw new ConfigError(`say --status or --slurm; ${USAGE}`);
  const slurm = parseSlurmArgs(slurmArgs);
  const r = submitSweep(exp, preset, overrides as never, sets, slurm, { dryRun });
  const count = (st: string) => r.status.runs.filter((x) => x.state === st).length;
  if (!r.runIds.length) {
    console.log(`${exp.name}/${preset}: nothing to submit: ${count('finished')} finished, ${count('running')} running, ${count('queued')} queued`);
    return 0;
  }
  if (dryRun) {
    process.stdout.write(r.script!);
    console.error(`sweep: dry run: ${r.runIds.length} run(s); script written to ${r.scriptFile} (not submitted)`);
    return 0;
  }
  console.log(
    `${exp.name}/${preset}: submitted job array ${r.job} with ${r.runIds.length} run(s) (${count('finished')} finished, ` +
      `${count('running')} running and ${count('queued')} queued were left alone); script ${r.scriptFile}; ` +
      `logs ${path.dirname(r.scriptFile!)}/${r.job}_<index>.out; state: npm run sweep -- ${exp.name} --preset ${preset} --status`,
  );
  return 0;
}

function statusOfAll(preset: PresetName | undefined): number {
  const root = resultsRoot();
  let shown = 0;
  for (const e of fs.existsSync(root) ? fs.readdirSync(root).sort() : []) {
    for (const p of preset ? [preset] : PRESET_NAMES) {
      const dir = experimentDir(e, p);
      if (!fs.existsSync(path.join(dir, 'slurm')) && !fs.existsSync(path.join(dir, 'claims'))) continue;
      let exp;
      try {
        exp = loadStudy(e);
      } catch {
        continue;
      }
      // The config of the latest submission (its --set overrides), so its runs are the ones listed.
      const last = readManifests(dir).slice(-1)[0];
      const overrides: Record<string, unknown> = {};
      for (const x of last?.sets ?? []) parseSetArg(x, overrides);
      console.log(formatStatus(`${e}/${p}${last?.sets.length ? ` (${last.sets.map((x) => `--set ${x}`).join(' ')})` : ''}`, sweepStatus(exp, p, overrides as never)));
      shown++;
    }
  }
  if (!shown) console.log(`no sweeps under ${root} (no experiment has claims or Slurm submissions${preset ? ` for preset ${preset}` : ''}); name one: npm run sweep -- <experiment> --status`);
  return 0;
}

try {
  process.exitCode = main();
} catch (e) {
  const err = e as Error;
  console.error(`sweep: ${err instanceof ConfigError || err instanceof EnvironmentError ? '' : `${err.name}: `}${err.message}`);
  process.exitCode = err instanceof ConfigError ? 2 : 1;
}
