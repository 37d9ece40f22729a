#!/usr/bin/env node
// Builds the optional native BLAS matmul addon (native/ -> native/build/Release/repro_blas.node)
// with node-gyp against the system BLAS: OpenBLAS from Debian's libopenblas-dev on Linux,
// Accelerate on macOS. Called by postinstall.js after `npm install`; run it by hand with
// `node environment/build-native.js [--force]` (skips when the addon is newer than its sources).
//
// It never fails the install: without a compiler, Node headers or a BLAS the engine runs on the
// repaired wasm kernels, and one line says so and how to get the BLAS path. The full compiler
// output goes to native/build/build-native.log.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const nativeDir = path.join(root, 'native');
const logFile = path.join(nativeDir, 'build', 'build-native.log');
const HOWTO =
  process.platform === 'darwin'
    ? 'install the Xcode command-line tools (xcode-select --install), then run: node environment/build-native.js'
    : 'install a compiler and OpenBLAS (apt-get install build-essential python3 libopenblas-dev), then run: node environment/build-native.js';

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
  ];
  for (const c of candidates) if (c && fs.existsSync(c)) return c;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

function main() {
  if (process.env.REPRO_NATIVE_MATMUL === '0') {
    console.log('native BLAS matmul: skipped (REPRO_NATIVE_MATMUL=0); the repaired wasm kernels will serve');
    return;
  }
  if (!fs.existsSync(path.join(nativeDir, 'binding.gyp'))) return;
  const built = path.join(nativeDir, 'build', 'Release', 'repro_blas.node');
  const sources = ['binding.gyp', 'repro_blas.c'].map((f) => path.join(nativeDir, f));
  if (!process.argv.includes('--force') && fs.existsSync(built) &&
      sources.every((f) => !fs.existsSync(f) || fs.statSync(f).mtimeMs <= fs.statSync(built).mtimeMs)) {
    console.log(`native BLAS matmul: up to date (${path.relative(root, built)}; --force rebuilds)`);
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) {
    console.log(`native BLAS matmul: not built (node-gyp not found); the repaired wasm kernels will serve. To get the BLAS path: ${HOWTO}`);
    return;
  }
  const args = [gyp, 'rebuild'];
  // Build against the local Node headers when they are there, so no header download is needed.
  const nodedir = process.env.npm_config_nodedir || (fs.existsSync('/usr/include/node/node_api.h') ? '/usr' : null);
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: 'utf8', env: process.env, timeout: 300000 });
  try {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.writeFileSync(logFile, `$ node ${args.join(' ')}\n${r.stdout || ''}\n${r.stderr || ''}\n`);
  } catch {
    /* a read-only tree still gets the one-line verdict */
  }
  if (r.status === 0 && fs.existsSync(built)) {
    console.log(`native BLAS matmul: built ${path.relative(root, built)} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return;
  }
  const why = /cblas\.h|lopenblas|Accelerate/.test((r.stderr || '') + (r.stdout || '')) ? 'BLAS headers or library missing' : r.error ? r.error.message : 'compile failed';
  console.log(`native BLAS matmul: not built (${why}; see native/build/build-native.log); the repaired wasm kernels will serve. To get the BLAS path: ${HOWTO}`);
}

try {
  main();
} catch (e) {
  console.log(`native BLAS matmul: not built (${e && e.message ? e.message : e}); the repaired wasm kernels will serve. To get the BLAS path: ${HOWTO}`);
}
