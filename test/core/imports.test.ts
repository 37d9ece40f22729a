/**
 * The import graph of `lib/`: no cycles, and no import from a lower layer up. The layers, lowest first:
 *
 *   core     errors, paths, config, io/, stats/  (no dependency inside lib but each other)
 *   engine   backend/, data/, residual/, metrics/
 *   model    models/, train/
 *   runner   runner/ (orchestration, the record store, Slurm)        imports no study
 *   report   report/, jupyter                                        tables, figures, display
 *   studies  studies/<name>/ (spec, analysis, verdict), studies/shared/
 *
 * The studies registry (`lib/studies/index.ts`) loads each study lazily; those `require` calls are edges too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/paths';
import { STUDY_NAMES } from '../../lib/studies';

const LIB = path.join(REPO_ROOT, 'lib');

const LAYERS: [string, RegExp][] = [
  ['core', /^(errors|paths|config)\.ts$|^io\/|^stats\//],
  ['engine', /^(backend|data|residual|metrics)\//],
  ['model', /^(models|train)\//],
  ['runner', /^runner\//],
  ['report', /^report\/|^jupyter\.ts$/],
  ['studies', /^studies\//],
];

function layerOf(file: string): number {
  const i = LAYERS.findIndex(([, re]) => re.test(file));
  assert.ok(i >= 0, `lib/${file} belongs to no layer of test/core/imports.test.ts: place it in one (or add a layer)`);
  return i;
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(path.relative(LIB, p).split(path.sep).join('/'));
  }
  return out.sort();
}

/** Relative imports of a file, resolved to lib-relative .ts paths. */
function importsOf(file: string): string[] {
  const src = fs.readFileSync(path.join(LIB, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out = new Set<string>();
  for (const m of src.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]*)['"]/g)) {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[1].replace(/\.js$/, '')));
    const hit = [`${base}.ts`, `${base}/index.ts`].find((c) => fs.existsSync(path.join(LIB, c)));
    assert.ok(hit, `lib/${file} imports '${m[1]}', which resolves to no file`);
    out.add(hit!);
  }
  return [...out];
}

const files = listTs(LIB);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('every file of lib/ sits in a layer and imports nothing from a higher layer', () => {
  const violations: string[] = [];
  for (const [f, deps] of graph) {
    for (const d of deps) if (layerOf(d) > layerOf(f)) violations.push(`lib/${f} (${LAYERS[layerOf(f)][0]}) imports lib/${d} (${LAYERS[layerOf(d)][0]})`);
  }
  assert.deepEqual(violations, []);
});

test('the import graph of lib/ has no cycles', () => {
  // Tarjan's strongly connected components: any component of more than one file is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(comp.sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  assert.deepEqual(cycles.map((c) => c.join(' ↔ ')), []);
});

test('the runner imports no study, and every registered study has its folder with an index', () => {
  for (const [f, deps] of graph) if (f.startsWith('runner/')) assert.deepEqual(deps.filter((d) => d.startsWith('studies/')), [], `lib/${f}`);
  for (const name of STUDY_NAMES) assert.ok(fs.existsSync(path.join(LIB, 'studies', name, 'index.ts')), `lib/studies/${name}/index.ts`);
  assert.ok(!fs.existsSync(path.join(LIB, 'experiments')), 'lib/experiments/ is gone: the runner is lib/runner/, the studies lib/studies/<name>/');
});
