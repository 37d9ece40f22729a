#!/usr/bin/env node
// npm run build: compiles lib/, scripts/ and test/ into build/ with tsc, then links node_modules/repro -> build/lib.
// Every `npm run reproduce / bench / sweep / tensorboard` starts with it, and tsc alone took 10-30 s even when
// nothing had changed; so tsc runs only when a TypeScript input (or tsconfig.json, package.json) is newer than the
// last successful build, which leaves `build/.build-ok`. `--force` always compiles. A failed tsc removes the mark,
// so a build with type errors is never skipped as up to date.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const SOURCE_DIRS = ['lib', 'scripts', 'test'];
const SOURCE_FILES = ['tsconfig.json', 'package.json'];

/** The newest modification time (ms) of the build's inputs under `root`. */
function newestInput(root) {
  let newest = 0;
  const walk = (dir) => {
    let entries;
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of SOURCE_DIRS) walk(path.join(root, d));
  for (const f of SOURCE_FILES) {
    try {
      newest = Math.max(newest, fs.statSync(path.join(root, f)).mtimeMs);
    } catch {
      /* absent */
    }
  }
  return newest;
}

/** True when tsc must run: no mark of a successful build, or an input newer than it. */
function isStale(root) {
  const mark = path.join(root, 'build', '.build-ok');
  let built;
  try {
    built = fs.statSync(mark).mtimeMs;
  } catch {
    return true;
  }
  return newestInput(root) > built;
}

function main() {
  const root = path.resolve(__dirname, '..');
  const mark = path.join(root, 'build', '.build-ok');
  if (process.argv.includes('--force') || isStale(root)) {
    fs.rmSync(mark, { force: true });
    const start = new Date(); // the mark carries this time: an edit made while tsc runs is not hidden by it
    const tsc = require.resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
    if (r.status !== 0) process.exit(r.status ?? 1);
    fs.mkdirSync(path.dirname(mark), { recursive: true });
    fs.writeFileSync(mark, `${start.toISOString()}\n`);
    fs.utimesSync(mark, start, start);
  }
  require('./link-lib.js');
}

if (require.main === module) main();
module.exports = { isStale, newestInput };
