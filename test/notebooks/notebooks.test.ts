/**
 * Executes every notebook's smoke preset through real Jupyter on the project kernel, into a
 * temporary copy with a temporary results folder: the committed notebooks keep their reference
 * (cpu) outputs and results/ keeps only reference runs.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { executeNotebook, notebookErrors } from '../../lib/jupyter';
import { REPO_ROOT } from '../../lib/paths';

const nbDir = path.join(REPO_ROOT, 'notebooks');
const notebooks = fs.readdirSync(nbDir).filter((f) => f.endsWith('.ipynb')).sort();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-nb-'));

for (const nb of notebooks) {
  test(`notebook ${nb} runs its smoke preset through Jupyter`, { timeout: 15 * 60 * 1000 }, async () => {
    const out = path.join(tmp, nb);
    const results = path.join(tmp, 'results-' + nb.replace(/\.ipynb$/, ''));
    let log = '';
    const run = await executeNotebook(path.join(nbDir, nb), out, { REPRO_PRESET: 'smoke', REPRO_RESULTS: results }, (c) => {
      log += c;
    });
    const errors = fs.existsSync(out) ? notebookErrors(out) : ['no executed notebook written'];
    assert.equal(run.status, 0, `${nb} failed (status ${run.status}):\n${errors.join('\n')}\n--- kernel output (tail) ---\n${log.slice(-4000)}`);
    assert.deepEqual(errors, []);
    // The kernel's own stderr reaches `log` too (it inherits the executor's): its shutdown must be quiet.
    // Issue 17 saw tslab end runs with "Error: Socket is closed … code: 'EBADF'" (zeromq, a send after close).
    assert.doesNotMatch(log, /Socket is closed|EBADF|UnhandledPromiseRejection|UncaughtException/, `${nb}: the kernel printed an error at shutdown:\n${log.slice(-3000)}`);
    const executed = JSON.parse(fs.readFileSync(out, 'utf8')) as { cells: { cell_type: string; execution_count: number | null }[] };
    const code = executed.cells.filter((c) => c.cell_type === 'code');
    assert.ok(code.length > 0, 'the notebook has code cells');
    assert.ok(code.every((c) => c.execution_count !== null), 'every code cell executed');
    // The notebook wrote its results (runs and at least one table) into the temporary folder.
    const written: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else written.push(e.name);
      }
    };
    if (fs.existsSync(results)) walk(results);
    assert.ok(written.some((f) => f.endsWith('.md')), `${nb} wrote no table under ${results}`);
  });
}

test('a config-cell tweak through Jupyter: notebook 04 with a row ADDED keeps the preset rows, and its exports go under tweaks/ (issue 30, 2 and 3)', { timeout: 15 * 60 * 1000 }, async () => {
  const src = JSON.parse(fs.readFileSync(path.join(nbDir, '04-resnet-depth.ipynb'), 'utf8')) as { cells: { cell_type: string; source: string[] | string; outputs?: unknown[] }[] };
  const cfg = src.cells.find((c) => c.cell_type === 'code')!;
  const text = Array.isArray(cfg.source) ? cfg.source.join('') : cfg.source;
  const tweaked = text.replace('const extraSweep: DepthSweepEntry[] = [];', "const extraSweep: DepthSweepEntry[] = [{ wiring: { kind: 'constant-average' }, blocks: [2] }];");
  assert.notEqual(tweaked, text, 'the config cell still declares extraSweep');
  cfg.source = tweaked;
  // inside the checkout (tslab resolves 'repro/…' from the notebook's folder up to node_modules), removed after
  const nbFolder = fs.mkdtempSync(path.join(REPO_ROOT, 'build', 'tweaked-notebook-'));
  const nb = path.join(nbFolder, 'tweaked-04.ipynb');
  fs.writeFileSync(nb, JSON.stringify(src));
  after(() => fs.rmSync(nbFolder, { recursive: true, force: true }));
  const out = path.join(tmp, 'tweaked-04.out.ipynb');
  const results = path.join(tmp, 'results-tweaked-04');
  let log = '';
  const run = await executeNotebook(nb, out, { REPRO_PRESET: 'smoke', REPRO_RESULTS: results }, (c) => {
    log += c;
  });
  const errors = fs.existsSync(out) ? notebookErrors(out) : ['no executed notebook written'];
  assert.equal(run.status, 0, `${errors.join('\n')}\n${log.slice(-3000)}`);
  const dir = path.join(results, 'resnet-depth', 'smoke');
  const rows = new Set(fs.readFileSync(path.join(dir, 'runs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).row as string));
  for (const r of ['ancre τ=0.01 · 2 blocks', 'residual · 2 blocks', 'residual · 4 blocks', 'constant-average · 2 blocks']) assert.ok(rows.has(r), `missing row ${r}: ${[...rows].join(', ')}`);
  const tweaks = path.join(dir, 'tweaks');
  assert.ok(fs.existsSync(tweaks) && fs.readdirSync(tweaks).some((h) => fs.existsSync(path.join(tweaks, h, 'table-teacher.md'))), 'the tweaked table is under tweaks/<hash>/');
  assert.ok(!fs.existsSync(path.join(dir, 'table-teacher.md')), 'no reference-named table was written by the tweak');
});
