/**
 * The studies registry (lib/studies/index.ts) and the committed records: every study is found by name
 * (an unknown name lists exactly the registered studies, never runner files), and the run ids the
 * current code plans for the committed cpu studies are the ids of the committed records (a refactor
 * that changed a resolved config would retrain them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { DeepPartial } from '../../lib/config';
import { REPO_ROOT } from '../../lib/paths';
import { resolveConfig } from '../../lib/runner/run';
import { runIdOf } from '../../lib/runner/execute';
import { loadStudy, STUDY_NAMES } from '../../lib/studies';
import { PROJECT_STUDY, V4096_MORE_TOKENS_PILOT } from '../../lib/studies/ancre-lm';
import { FASHION_STUDY, DEPTH_PILOTS } from '../../lib/studies/resnet-depth';
import { LR_SEARCH } from '../../lib/studies/mae-clutter';

test('every registered study loads and carries its own name', () => {
  assert.deepEqual(STUDY_NAMES, ['setup-check', 'mae-sweep', 'mae-length', 'mae-clutter', 'mae-long', 'ancre-lm', 'resnet-depth', 'linear-theory', 'diffusion-fid', 'diffusion-baselines']);
  for (const n of STUDY_NAMES) assert.equal(loadStudy(n).name, n);
});

test('an unknown study is a ConfigError listing exactly the registered studies', () => {
  const expected = `unknown study 'mae-swep'; expected one of ${STUDY_NAMES.join(', ')}`;
  assert.throws(() => loadStudy('mae-swep'), (e: Error) => e.name === 'ConfigError' && e.message === expected);
  assert.throws(() => loadStudy('claims'), /unknown study 'claims'/);
  const cli = path.join(REPO_ROOT, 'build', 'scripts', 'run-experiment.js');
  const r = spawnSync(process.execPath, [cli, 'mae-swep', '--preset', 'smoke'], { encoding: 'utf8', env: { ...process.env } });
  assert.notEqual(r.status, 0);
  assert.ok(r.stderr.includes(expected), r.stderr);
  assert.doesNotMatch(r.stderr, /claims|guards|overrides|verdict/);
});

/** The committed cpu studies, as the notebooks plan them, with the overrides that give each. */
function committedStudies(): { study: string; what: string; overrides?: object }[] {
  const residual = { label: 'residual', wiring: { kind: 'residual' } };
  const out: { study: string; what: string; overrides?: object }[] = [
    { study: 'setup-check', what: 'preset' },
    { study: 'mae-sweep', what: 'preset' },
    { study: 'mae-length', what: 'preset' },
    { study: 'mae-clutter', what: 'preset' },
    { study: 'mae-clutter', what: 'the lr search (issue 28)', overrides: LR_SEARCH },
    { study: 'resnet-depth', what: 'preset' },
    { study: 'resnet-depth', what: 'FASHION_STUDY', overrides: FASHION_STUDY },
    { study: 'linear-theory', what: 'preset' },
    { study: 'diffusion-fid', what: 'preset' },
    { study: 'diffusion-baselines', what: 'preset' },
    { study: 'ancre-lm', what: 'PROJECT_STUDY', overrides: PROJECT_STUDY },
    { study: 'ancre-lm', what: 'V4096_MORE_TOKENS_PILOT', overrides: V4096_MORE_TOKENS_PILOT },
    { study: 'ancre-lm', what: 'the residual lr × depth sweep', overrides: { wirings: [residual] } },
    // the comparison at each depth's best lr (notebook 03 section 2)
    { study: 'ancre-lm', what: 'comparison at 2 layers', overrides: { depths: [2], lrs: [1e-2] } },
    { study: 'ancre-lm', what: 'comparison at 4 layers', overrides: { depths: [4], lrs: [3e-3] } },
    { study: 'ancre-lm', what: 'comparison at 8 layers', overrides: { depths: [8], lrs: [3e-3] } },
  ];
  // the depth pilots all finished but for the second seed of the fourth (its one-seed result is what the notebook reads)
  DEPTH_PILOTS.forEach((p, i) => out.push({ study: 'resnet-depth', what: `pilot ${i}`, overrides: i === 3 ? { ...p.overrides, seeds: [0] } : p.overrides }));
  return out;
}

test('the committed cpu records are the runs the current code plans: 0 runs to execute', () => {
  for (const { study, what, overrides } of committedStudies()) {
    const exp = loadStudy(study);
    const file = path.join(REPO_ROOT, 'results', study, 'cpu', 'runs.jsonl');
    const recorded = new Set(fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l).runId as string));
    const planned = exp.runs(resolveConfig(exp, 'cpu', overrides as DeepPartial<object>)).map((s) => runIdOf(exp.name, s));
    const missing = planned.filter((id) => !recorded.has(id));
    assert.equal(missing.length, 0, `${study} (${what}): ${missing.length} of ${planned.length} planned runs have no committed record`);
  }
});
