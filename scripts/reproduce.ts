/**
 * `npm run reproduce [-- --preset smoke|cpu|paper] [--run-missing] [notebook ...]`
 *
 * Executes the notebooks through real Jupyter on the project kernel, with the preset passed as
 * `REPRO_PRESET`. With the `cpu` preset (the default, the reference runs) the executed notebooks
 * replace the committed ones, but only when every cell ran; other presets write them to
 * `build/executed/<preset>/`. Prints the tables the notebooks wrote, exits non-zero on a failed cell.
 * Finished runs are reused and interrupted ones resume, so rerunning after an interruption only
 * waits for the unfinished runs. The long studies (notebooks 01–04) table only their finished runs on
 * cpu and paper unless `--run-missing` (= REPRO_RUN_MISSING=1 in the kernel) asks them to train the rest.
 * Then it writes the verdicts at a glance from the records (results/verdicts.{json,md}; lib/studies/verdicts.ts)
 * and, on cpu over every notebook, the README's findings table; `--verdicts-only` does only that.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkPreset, PresetName } from '../lib/config';
import { executeNotebook, notebookErrors } from '../lib/jupyter';
import { REPO_ROOT, resultsRoot } from '../lib/paths';
import { formatDuration } from '../lib/train/progress';
import { readmeWithVerdicts, verdictsTable, writeVerdicts } from '../lib/report/verdicts';
import { collectVerdicts } from '../lib/studies/verdicts';

function usage(msg?: string): never {
  if (msg) console.error(msg);
  console.error('usage: npm run reproduce [-- --preset smoke|cpu|paper] [--run-missing] [--verdicts-only] [--out DIR] [notebook-or-experiment ...]');
  process.exit(2);
}

function parseArgs(argv: string[]): { preset: PresetName; out: string | null; names: string[]; runMissing: boolean; verdictsOnly: boolean } {
  let preset: PresetName = 'cpu';
  let out: string | null = null;
  let runMissing = false;
  let verdictsOnly = false;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--preset') preset = checkPreset(argv[++i]);
    else if (a.startsWith('--preset=')) preset = checkPreset(a.slice(9));
    else if (a === '--out') out = path.resolve(argv[++i] ?? usage('--out needs a folder'));
    else if (a === '--run-missing') runMissing = true;
    else if (a === '--verdicts-only') verdictsOnly = true;
    else if (a === '--help' || a === '-h') usage();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else names.push(a);
  }
  return { preset, out, names, runMissing, verdictsOnly };
}

/** Markdown tables under results/ modified since `since` (ms). */
function tablesWritten(since: number): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'checkpoints') walk(p);
      } else if (e.name.endsWith('.md') && fs.statSync(p).mtimeMs >= since) out.push(p);
    }
  };
  walk(resultsRoot());
  return out.sort();
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    usage((e as Error).message);
  }
  const nbDir = path.join(REPO_ROOT, 'notebooks');
  const all = fs.readdirSync(nbDir).filter((f) => f.endsWith('.ipynb')).sort();
  const chosen = args.verdictsOnly
    ? []
    : args.names.length
    ? args.names.map((n) => {
        const hits = all.filter((f) => f === n || f.replace(/\.ipynb$/, '') === n || f.includes(n));
        if (hits.length !== 1) usage(`'${n}' matches ${hits.length ? hits.join(', ') : 'no notebook'}; notebooks: ${all.join(', ')}`);
        return hits[0];
      })
    : all;
  const outDir = args.out ?? (args.preset === 'cpu' ? null : path.join(REPO_ROOT, 'build', 'executed', args.preset));
  const since = Date.now();
  if (!args.verdictsOnly) console.log(`reproduce: preset '${args.preset}', ${chosen.length} notebook(s): ${chosen.join(', ')}`);
  const summary: string[] = [];
  let failed = 0;
  for (const nb of chosen) {
    const input = path.join(nbDir, nb);
    const tmp = path.join(REPO_ROOT, 'build', 'executed', `.${nb}.${process.pid}.tmp.ipynb`);
    console.log(`\n--- ${nb} (${args.preset}) ---`);
    const run = await executeNotebook(input, tmp, { REPRO_PRESET: args.preset, ...(args.runMissing ? { REPRO_RUN_MISSING: '1' } : {}) });
    const errors = run.status === 0 ? [] : fs.existsSync(tmp) ? notebookErrors(tmp) : [];
    const ok = run.status === 0 && errors.length === 0;
    let dest: string;
    if (ok) {
      dest = outDir ? path.join(outDir, nb) : input;
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.renameSync(tmp, dest);
    } else {
      // The committed notebook keeps its reference outputs; the failed one is kept for reading.
      dest = path.join(REPO_ROOT, 'build', 'executed', args.preset, nb.replace(/\.ipynb$/, '.failed.ipynb'));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      if (fs.existsSync(tmp)) fs.renameSync(tmp, dest);
      failed += 1;
    }
    const line = `${ok ? 'ok    ' : 'FAILED'} ${nb}  ${formatDuration(run.seconds)}  -> ${path.relative(REPO_ROOT, dest)}${errors.length ? `\n         ${errors.join('\n         ')}` : ''}`;
    summary.push(line);
    console.log(line);
  }
  const tables = tablesWritten(since);
  console.log(`\n=== summary (${args.preset}) ===\n${summary.join('\n')}`);
  if (tables.length) {
    console.log(`\ntables written:`);
    for (const t of tables) console.log(`\n# ${path.relative(REPO_ROOT, t)}\n${fs.readFileSync(t, 'utf8').trim()}`);
  }
  if (failed) {
    console.error(`\n${failed} notebook(s) failed; earlier results in results/ are intact. Rerun to resume: finished runs are reused.`);
    process.exit(1);
  }
  // The verdicts at a glance, from the records (not from the notebooks): results/verdicts.{json,md}; on the
  // reference preset, run over every notebook, also the README's findings table.
  const verdicts = collectVerdicts(args.preset, resultsRoot());
  const files = writeVerdicts(verdicts, args.preset === 'cpu' ? resultsRoot() : path.join(resultsRoot(), `verdicts-${args.preset}`), args.preset);
  console.log(`\nverdicts (${args.preset}): ${path.relative(REPO_ROOT, files.md)}\n${verdictsTable(verdicts)}`);
  if (args.preset === 'cpu' && !args.names.length && resultsRoot() === path.join(REPO_ROOT, 'results')) {
    const readme = path.join(REPO_ROOT, 'README.md');
    const next = readmeWithVerdicts(fs.readFileSync(readme, 'utf8'), verdicts);
    if (next !== fs.readFileSync(readme, 'utf8')) {
      fs.writeFileSync(readme, next);
      console.log('README.md: findings table regenerated from results/verdicts.json');
    }
  }
}

main().catch((e) => {
  console.error(`reproduce: ${(e as Error).message}`);
  process.exit(2);
});
