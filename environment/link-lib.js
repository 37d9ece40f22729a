#!/usr/bin/env node
// Makes the compiled library importable by name: node_modules/repro -> build/lib.
// tslab compiles a notebook with the notebook's folder as rootDir, so `import '../lib/x'`
// fails there; a package name resolved through node_modules does not (and tslab's
// node10-style resolution finds the .d.ts files beside the .js files).
const fs = require('fs');
const path = require('path');
const root = path.resolve(__dirname, '..');
const target = path.join(root, 'build', 'lib');
const link = path.join(root, 'node_modules', 'repro');
const quiet = process.argv.includes("--quiet") || require.main !== module;
fs.mkdirSync(target, { recursive: true });
// Written only when it differs: a running tslab kernel's TypeScript watcher watches this file, and a
// rewrite (even with the same bytes) makes its next cell fail with "Unexpected pending rebuildTimer".
const pkgFile = path.join(target, 'package.json');
const pkg = JSON.stringify({ name: 'repro', private: true, main: 'index.js', types: 'index.d.ts' }, null, 2) + '\n';
let old = null;
try { old = fs.readFileSync(pkgFile, 'utf8'); } catch {}
if (old !== pkg) fs.writeFileSync(pkgFile, pkg);
fs.mkdirSync(path.dirname(link), { recursive: true });
let ok = false;
try { ok = fs.realpathSync(link) === fs.realpathSync(target); } catch { ok = false; }
if (!ok) {
  try { fs.rmSync(link, { recursive: true, force: true }); } catch {}
  fs.symlinkSync(path.relative(path.dirname(link), target), link, 'dir');
  if (!quiet) console.log(`linked node_modules/repro -> build/lib`);
}
