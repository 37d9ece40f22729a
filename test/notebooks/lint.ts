/**
 * Static checks over notebook code cells for tslab 1.0.22's traps, and the extraction of the override
 * examples written in config cells' comments.
 *
 * The trap: a name declared in one cell and used as object shorthand in a later one (`{ a }`,
 * `() => ({ a })`) throws `ReferenceError: a is not defined` at run time (`{ a: a }` works), and in an
 * nbconvert run every later cell then prints nothing. Each cell is parsed with the TypeScript compiler.
 */
import * as fs from 'fs';
import ts from 'typescript';

/** The sources of a notebook's code cells, in order. */
export function codeCells(file: string): string[] {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: { cell_type: string; source: string | string[] }[] };
  return nb.cells.filter((c) => c.cell_type === 'code').map((c) => (Array.isArray(c.source) ? c.source.join('') : c.source));
}

function parse(src: string): ts.SourceFile {
  return ts.createSourceFile('cell.ts', src, ts.ScriptTarget.ES2021, true, ts.ScriptKind.TS);
}

function bindingNames(name: ts.BindingName, out: Set<string>): void {
  if (ts.isIdentifier(name)) out.add(name.text);
  else for (const el of name.elements) if (!ts.isOmittedExpression(el)) bindingNames(el.name, out);
}

/** Names a cell declares: at its top level (seen by later cells) and anywhere (a nested one shadows). */
function declaredNames(sf: ts.SourceFile): { top: Set<string>; all: Set<string> } {
  const top = new Set<string>();
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) bindingNames(d.name, top);
    else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) top.add(st.name.text);
    else if (ts.isImportDeclaration(st) && st.importClause) {
      const c = st.importClause;
      if (c.name) top.add(c.name.text);
      const b = c.namedBindings;
      if (b && ts.isNamespaceImport(b)) top.add(b.name.text);
      else if (b) for (const el of b.elements) top.add(el.name.text);
    }
  }
  const all = new Set<string>(top);
  const visit = (n: ts.Node) => {
    if (ts.isVariableDeclaration(n) || ts.isParameter(n) || ts.isBindingElement(n)) bindingNames(n.name, all);
    else if ((ts.isFunctionDeclaration(n) || ts.isClassDeclaration(n)) && n.name) all.add(n.name.text);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { top, all };
}

/** Problems, as `cell N line L: …`; empty when the cells are free of the traps. */
export function lintNotebook(cells: string[]): string[] {
  const problems: string[] = [];
  const earlier = new Set<string>();
  cells.forEach((src, i) => {
    const sf = parse(src);
    const names = declaredNames(sf);
    const visit = (n: ts.Node) => {
      if (ts.isShorthandPropertyAssignment(n) && earlier.has(n.name.text) && !names.all.has(n.name.text)) {
        const line = sf.getLineAndCharacterOfPosition(n.getStart()).line + 1;
        problems.push(
          `code cell ${i + 1} line ${line}: object shorthand '{ ${n.name.text} }' for a name declared in an earlier cell ` +
            `throws "ReferenceError: ${n.name.text} is not defined" in tslab 1.0.22; write '{ ${n.name.text}: ${n.name.text} }'`,
        );
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
    for (const n of names.top) earlier.add(n);
  });
  return problems;
}

export interface OverrideExample {
  notebook: string;
  /** The experiment module (`lib/studies/<experiment>`) the example's first argument names. */
  experiment: string;
  /** The example as written: `overridesFor(experiment, { … })`. */
  code: string;
}

/** The experiments the cells import (`import { experiment as x } from 'repro/studies/<name>'`): local name → module name. */
export function experimentImports(cells: string[]): Map<string, string> {
  const imports = new Map<string, string>();
  for (const src of cells) {
    for (const m of src.matchAll(/import\s*\{([^}]*)\}\s*from\s*'repro\/studies\/([a-z0-9-]+)'/g)) {
      for (const part of m[1].split(',')) {
        const [orig, alias] = part.trim().split(/\s+as\s+/);
        if (orig === 'experiment') imports.set(alias ?? orig, m[2]);
      }
    }
  }
  return imports;
}

/** The `//   overridesFor(name, { … })` lines of every cell, with the experiment `name` was imported as. */
export function overrideExamples(notebook: string, cells: string[]): OverrideExample[] {
  const imports = experimentImports(cells);
  const out: OverrideExample[] = [];
  for (const src of cells) {
    for (const m of src.matchAll(/^\s*\/\/\s+(overridesFor\((\w+),.*\))\s*$/gm)) {
      const experiment = imports.get(m[2]);
      if (!experiment) throw new Error(`${notebook}: the override example '${m[1]}' names '${m[2]}', which no cell imports as an experiment`);
      out.push({ notebook, experiment, code: m[1] });
    }
  }
  return out;
}
