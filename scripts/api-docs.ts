#!/usr/bin/env node
/**
 * `npm run api-docs`: writes docs/api.md, the page of what `import … from 'repro/<module>'` offers, from the
 * library's own export lists and doc comments (the TypeScript compiler's view of lib/, no other tool).
 * `--check` exits 1 when the committed page is stale; test/docs/api.test.ts does the same.
 */
import * as fs from 'fs';
import * as path from 'path';
import ts from 'typescript';

/** The modules of the page, in the order of the layers (core, engine, models, training, runner, report, studies). */
export function apiModules(root: string): string[] {
  const lib = path.join(root, 'lib');
  const files = (dir: string) => fs.readdirSync(path.join(lib, dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort().map((f) => `${dir}/${f.slice(0, -3)}`);
  const studies = fs.readdirSync(path.join(lib, 'studies'), { withFileTypes: true }).filter((d) => d.isDirectory() && fs.existsSync(path.join(lib, 'studies', d.name, 'index.ts'))).map((d) => `studies/${d.name}`).sort();
  return ['config', 'errors', 'paths', 'stats', 'backend', 'data', 'metrics', 'residual', ...files('models'), 'train', 'runner', 'report', 'studies', 'studies/verdicts', ...studies];
}

function fileOf(root: string, mod: string): string {
  const base = path.join(root, 'lib', mod);
  return fs.existsSync(`${base}.ts`) ? `${base}.ts` : path.join(base, 'index.ts');
}

/** The first paragraph of a doc comment, on one line. */
function firstParagraph(doc: string): string {
  return doc.split(/\n\s*\n/)[0].replace(/\s+/g, ' ').trim();
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** docs/api.md for the checkout at `root`. */
export function apiMarkdown(root: string): string {
  const mods = apiModules(root);
  const program = ts.createProgram(mods.map((m) => fileOf(root, m)), { target: ts.ScriptTarget.ES2021, module: ts.ModuleKind.CommonJS, strict: true, esModuleInterop: true, skipLibCheck: true, noEmit: true });
  const checker = program.getTypeChecker();
  const out: string[] = [
    '# API',
    '',
    'What `import … from \'repro/<module>\'` offers in a notebook (or `lib/<module>` from TypeScript in this checkout), generated from the',
    'export lists and doc comments by `npm run api-docs` (scripts/api-docs.ts); a test fails when this page is stale. One line per export:',
    'its kind, its name (with the parameters of a function) and the first paragraph of its doc comment. The doc comments in `lib/` say more.',
    '',
    mods.map((m) => `[${m}](#${m.replace(/[^a-z0-9]+/g, '-')})`).join(' · '),
    '',
  ];
  for (const mod of mods) {
    const sf = program.getSourceFile(fileOf(root, mod));
    const sym = sf && checker.getSymbolAtLocation(sf);
    if (!sf || !sym) continue;
    const fileDoc = (() => {
      const m = /^\s*\/\*\*([\s\S]*?)\*\//.exec(sf.getFullText());
      return m ? firstParagraph(m[1].replace(/^\s*\* ?/gm, '')) : '';
    })();
    out.push(`## ${mod}`, '', `\`import … from 'repro/${mod}'\`${fileDoc ? `: ${fileDoc}` : ''}`, '', '| | name | what |', '|---|---|---|');
    const rows: string[] = [];
    for (const e of checker.getExportsOfModule(sym).sort((a, b) => a.name.localeCompare(b.name))) {
      const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
      const decl = target.declarations?.[0];
      if (!decl) continue;
      const doc = firstParagraph(ts.displayPartsToString(target.getDocumentationComment(checker)));
      let kind = 'const';
      let name = e.name;
      if (ts.isFunctionDeclaration(decl)) {
        kind = 'function';
        const sig = checker.getSignaturesOfType(checker.getTypeOfSymbolAtLocation(target, decl), ts.SignatureKind.Call)[0];
        if (sig) name = `${e.name}(${sig.getParameters().map((p) => p.name).join(', ')})`;
      } else if (ts.isClassDeclaration(decl)) kind = 'class';
      else if (ts.isInterfaceDeclaration(decl)) kind = 'interface';
      else if (ts.isTypeAliasDeclaration(decl)) kind = 'type';
      else if (ts.isEnumDeclaration(decl)) kind = 'enum';
      else if (ts.isModuleDeclaration(decl) || ts.isSourceFile(decl)) kind = 'module';
      rows.push(`| ${kind} | \`${cell(name)}\` | ${cell(doc)} |`);
    }
    out.push(...(rows.length ? rows : ['| | | (nothing exported) |']), '');
  }
  return out.join('\n');
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..', '..');
  const file = path.join(root, 'docs', 'api.md');
  const md = apiMarkdown(root);
  if (process.argv.includes('--check')) {
    const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (old !== md) {
      console.error('api-docs: docs/api.md is stale; run npm run api-docs');
      process.exit(1);
    }
    console.log('api-docs: docs/api.md is up to date');
  } else {
    fs.writeFileSync(file, md);
    console.log(`api-docs: wrote docs/api.md (${md.split('\n').length} lines)`);
  }
}
