#!/usr/bin/env node
// Registers the project's TypeScript kernel (this project's own tslab) with the container's
// Jupyter, the same kernel spec environment/setup writes on a workstation.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const root = path.resolve(__dirname, '..', '..');
const tslab = path.join(root, 'node_modules', 'tslab', 'bin', 'tslab');
if (!fs.existsSync(tslab)) {
  console.error('tslab is missing from node_modules: run npm install first');
  process.exit(1);
}
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-'));
fs.writeFileSync(
  path.join(dir, 'kernel.json'),
  JSON.stringify({
    argv: [process.execPath, tslab, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (residual-repro)',
    language: 'typescript',
  }),
);
execFileSync('jupyter', ['kernelspec', 'install', '--sys-prefix', '--name', 'residual-repro', '--replace', dir], { stdio: 'inherit' });
console.log('registered Jupyter kernel residual-repro');
