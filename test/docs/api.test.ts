/** docs/api.md (scripts/api-docs.ts): generated from lib/'s exports and doc comments, and up to date. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/paths';
import { apiMarkdown, apiModules } from '../../scripts/api-docs';

test('docs/api.md is what npm run api-docs generates now (rerun it after changing an export or its doc comment)', { timeout: 120_000 }, () => {
  const md = apiMarkdown(REPO_ROOT);
  const committed = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'api.md'), 'utf8');
  assert.ok(committed === md, 'docs/api.md is stale: run npm run api-docs');
  // every registered study and the main entry points are on it, with their doc comments
  for (const m of ['runner', 'report', 'stats', 'residual', 'train', 'studies/mae-long', 'studies/ancre-lm']) assert.ok(apiModules(REPO_ROOT).includes(m), m);
  for (const line of ['| function | `runExperiment(exp, opts)` |', '| function | `compare(a, b, opts)` |', '| function | `panelFigure(panels, opts)` |', '| function | `writeEventFiles(dir, records)` |']) {
    assert.ok(md.includes(line), `missing: ${line}`);
  }
  assert.match(md, /\| function \| `compare\(a, b, opts\)` \| Compares a with b, paired by index/);
});
