/** environment/build.js: tsc runs only when an input is newer than the last successful build (issue 30, 9). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/paths';

const { isStale } = require(path.join(REPO_ROOT, 'environment', 'build.js')) as { isStale(root: string): boolean };

test('a build is skipped only when no TypeScript input, tsconfig.json or package.json is newer than its mark', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-build-'));
  fs.mkdirSync(path.join(root, 'lib', 'x'), { recursive: true });
  fs.mkdirSync(path.join(root, 'build'));
  const src = path.join(root, 'lib', 'x', 'a.ts');
  fs.writeFileSync(src, 'export const a = 1;\n');
  fs.writeFileSync(path.join(root, 'tsconfig.json'), '{}');
  const t0 = new Date(Date.now() - 60_000);
  fs.utimesSync(src, t0, t0);
  fs.utimesSync(path.join(root, 'tsconfig.json'), t0, t0);
  assert.equal(isStale(root), true, 'never built: stale');
  const mark = path.join(root, 'build', '.build-ok');
  fs.writeFileSync(mark, '');
  assert.equal(isStale(root), false, 'built after every input: up to date');
  const later = new Date(Date.now() + 60_000);
  fs.utimesSync(src, later, later);
  assert.equal(isStale(root), true, 'a source edited after the build');
  fs.utimesSync(src, t0, t0);
  fs.utimesSync(path.join(root, 'tsconfig.json'), later, later);
  assert.equal(isStale(root), true, 'tsconfig.json edited after the build');
  fs.utimesSync(path.join(root, 'tsconfig.json'), t0, t0);
  fs.writeFileSync(path.join(root, 'lib', 'notes.md'), 'not an input');
  assert.equal(isStale(root), false, 'other files do not count');
  fs.rmSync(mark);
  assert.equal(isStale(root), true, 'a failed build removes the mark: never skipped as up to date');
});
