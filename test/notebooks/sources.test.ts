/**
 * Checks over the committed notebooks' code cells, without running Jupyter:
 * - every override example in a config cell's comments (`//   overridesFor(experiment, { … })`)
 *   type-checks as written against the experiment's config and resolves on the smoke preset;
 * - tslab's traps (see the lint in ./lint.ts) are absent from every code cell.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import ts from 'typescript';
import { REPO_ROOT } from '../../lib/paths';
import { resolveConfig } from '../../lib/runner/run';
import { loadStudy as loadExperiment } from '../../lib/studies';
import { ConfigError } from '../../lib/errors';
import { codeCells, experimentImports, lintNotebook, overrideExamples } from './lint';

const nbDir = path.join(REPO_ROOT, 'notebooks');
const notebooks = fs.readdirSync(nbDir).filter((f) => f.endsWith('.ipynb')).sort();

/** Type-checks `source` (a .ts file placed under test/notebooks, so `../../lib/...` imports resolve). */
function typeErrors(source: string): string[] {
  const file = path.join(REPO_ROOT, 'test', 'notebooks', '__override_examples__.ts');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2021, module: ts.ModuleKind.CommonJS, strict: true, noEmit: true,
    esModuleInterop: true, skipLibCheck: true, resolveJsonModule: true, types: ['node'],
  };
  const host = ts.createCompilerHost(options);
  const read = host.readFile.bind(host);
  host.readFile = (f) => (path.resolve(f) === file ? source : read(f));
  const exists = host.fileExists.bind(host);
  host.fileExists = (f) => path.resolve(f) === file || exists(f);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && path.resolve(d.file.fileName) === file)
    .map((d) => `line ${d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

const examples = notebooks.flatMap((nb) => overrideExamples(nb, codeCells(path.join(nbDir, nb))));

test('the override examples in the notebooks compile as written and resolve on smoke', { timeout: 120_000 }, () => {
  assert.ok(examples.length >= 4, `expected override examples in 04, 05 and 06; found ${examples.length}`);
  const src = examples.map((e, i) => `import { experiment as e${i} } from '../../lib/studies/${e.experiment}';`);
  src.unshift(`import { overridesFor } from '../../lib/runner/overrides';`);
  examples.forEach((e, i) => src.push(`export const x${i} = ${e.code.replace(/overridesFor\(\s*\w+/, `overridesFor(e${i}`)}; // ${e.notebook}`));
  // A misspelt key and a wrong literal must fail, or this check could not fail either.
  src.push(`// @ts-expect-error a misspelt key\nexport const bad1 = overridesFor(e0, { notAKey: 1 });`);
  src.push(`// @ts-expect-error a wrong value for a union\nexport const bad2 = overridesFor(e0, { seeds: 'x' });`);
  const errs = typeErrors(src.join('\n') + '\n');
  assert.deepEqual(errs, [], `the override examples do not compile:\n${errs.join('\n')}\n--- source ---\n${src.join('\n')}`);
  for (const e of examples) {
    const exp = loadExperiment(e.experiment);
    const js = ts.transpileModule(`(${e.code.replace(/^overridesFor\(\s*\w+\s*,/, '(')})`, { compilerOptions: { target: ts.ScriptTarget.ES2021 } }).outputText;
    const value = eval(js); // the example's object literal
    assert.doesNotThrow(() => resolveConfig(exp, 'smoke', value), `${e.notebook}: ${e.code}`);
  }
});

test('a misspelt top-level override key fails to compile with a message that names it and the valid keys', { timeout: 120_000 }, () => {
  // Every experiment a notebook imports: the message must spell out its keys (not `keyof SomeConfig`),
  // and they must be the keys the run-time check accepts (the experiment's defaults).
  const names = [...new Set(notebooks.flatMap((nb) => [...experimentImports(codeCells(path.join(nbDir, nb))).values()]))].sort();
  assert.ok(names.length >= 6, `expected the notebooks to import their experiments; found ${names.join(', ')}`);
  const src = [`import { overridesFor } from '../../lib/runner/overrides';`];
  names.forEach((n, i) => src.push(`import { experiment as e${i} } from '../../lib/studies/${n}';`));
  names.forEach((n, i) => src.push(`export const typo${i} = overridesFor(e${i}, { notAKey${i}: 1 }); // ${n}`));
  const errs = typeErrors(src.join('\n') + '\n');
  names.forEach((n, i) => {
    const line = src.findIndex((l) => l.includes(`typo${i} =`)) + 1;
    const msg = errs.filter((e) => e.startsWith(`line ${line}:`)).join('\n');
    assert.ok(msg, `${n}: a misspelt key compiled without an error`);
    assert.doesNotMatch(msg, /keyof /, `${n}: the message shows a type, not the key names:\n${msg}`);
    // issue 30, 10: the message names the misspelt key itself
    const listed = new RegExp(`"unknown key 'notAKey${i}'; valid keys:": "([^"]*)"`).exec(msg);
    assert.ok(listed, `${n}: the message does not list the valid keys:\n${msg}`);
    const keys = Object.keys(loadExperiment(n).defaults as object).sort();
    assert.deepEqual(listed[1].split(', ').sort(), keys, `${n}: the keys in the message are not the config's`);
  });
});

test('overridesFor rejects an unknown key at run time with the valid keys', () => {
  const exp = loadExperiment('linear-theory');
  const { overridesFor } = require('../../lib/runner/overrides') as typeof import('../../lib/runner/overrides');
  assert.throws(() => overridesFor(exp, { alphaMn: 1 } as never), (e: Error) => e instanceof ConfigError && /unknown key 'alphaMn' in linear-theory overrides; expected one of .*dims.*tau/.test(e.message));
});

test('the tslab lint finds cross-cell object shorthand and nothing else', () => {
  assert.equal(lintNotebook(['const a = 1;', 'console.log({ a });']).length, 1);
  assert.match(lintNotebook(['const a = 1;', 'const f = () => ({ a, b: 2 });'])[0], /code cell 2 line 1: object shorthand '\{ a \}'/);
  assert.deepEqual(lintNotebook(['const a = 1;', 'console.log({ a: a });']), []);
  assert.deepEqual(lintNotebook(['const a = 1;', 'const a2 = 2; for (const a of [1]) console.log({ a });']), []);
  assert.deepEqual(lintNotebook(['console.log(1);', 'const a = 1; console.log({ a });']), []);
});

for (const nb of notebooks) {
  test(`notebook ${nb}: no tslab traps in its code cells`, () => {
    const problems = lintNotebook(codeCells(path.join(nbDir, nb)));
    assert.deepEqual(problems, [], `${nb}:\n${problems.join('\n')}`);
  });
}

for (const nb of notebooks) {
  test(`notebook ${nb}: its saved outputs name no absolute path of this checkout`, () => {
    const nbJson = JSON.parse(fs.readFileSync(path.join(nbDir, nb), 'utf8')) as { cells: { outputs?: unknown[] }[] };
    const outputs = JSON.stringify(nbJson.cells.map((c) => c.outputs ?? []));
    // a cell whose last statement is `await showFigure(…)` prints the returned file paths: assign it instead
    assert.ok(!outputs.includes(REPO_ROOT), `${nb}: a saved output contains '${REPO_ROOT}'`);
  });
}
