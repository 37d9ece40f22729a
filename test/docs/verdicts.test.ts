/**
 * The verdicts at a glance (lib/studies/verdicts.ts, lib/report/verdicts.ts): recomputed from the committed
 * records they equal results/verdicts.json, and the README's findings table is the one generated from it, so
 * neither can drift from the records; the rule that turns a paired comparison into a word, on known numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/paths';
import { checkVerdict, readmeWithVerdicts, readVerdicts, verdictsTable, README_VERDICTS_END, README_VERDICTS_START, type ClaimVerdict } from '../../lib/report/verdicts';
import { compare } from '../../lib/stats';
import { collectVerdicts, maeLossDrop, wordOf } from '../../lib/studies/verdicts';

const committed = readVerdicts(path.join(REPO_ROOT, 'results', 'verdicts.json'));

test('results/verdicts.json is what the committed records give (recomputed here)', () => {
  assert.equal(committed.preset, 'cpu');
  const now = collectVerdicts('cpu', path.join(REPO_ROOT, 'results'));
  assert.deepEqual(now, committed.verdicts, 'rerun `npm run reproduce -- --verdicts-only` after changing a study or its records');
  assert.ok(now.length >= 10, `one verdict per tested claim; got ${now.length}`);
  for (const id of ['A.mae-sweep', 'A.mae-clutter', 'A.rank', 'A.diffusion', 'B.linear-theory', 'B.ancre-lm', 'B.ancre-lm.routing', 'B.resnet-depth', 'B.diffusion']) {
    assert.ok(now.some((v) => v.id === id), `${id} is tested`);
  }
});

test("the README's findings table is generated from results/verdicts.json", () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const a = readme.indexOf(README_VERDICTS_START);
  const b = readme.indexOf(README_VERDICTS_END);
  assert.ok(a >= 0 && b > a, 'README.md has the verdicts block');
  assert.equal(readme.slice(a + README_VERDICTS_START.length, b).trim(), verdictsTable(committed.verdicts));
  assert.equal(readmeWithVerdicts(readme, committed.verdicts), readme);
  assert.throws(() => readmeWithVerdicts('# no block', committed.verdicts), /README.md has no verdicts block/);
});

test('the cluttered MAE that barely trained is "not tested", whatever its kNN says', () => {
  const v = committed.verdicts.find((x) => x.id === 'A.mae-clutter')!;
  assert.equal(v.word, 'not tested');
  assert.match(v.reason, /did not learn enough to test the claim: the training loss fell \d+ % below its first logged value/);
});

test('wordOf: detected → reproduced / not reproduced; undetected → not reproduced only where the seeds could see a meaningful difference', () => {
  const better = compare([2, 3, 4], [0, 1, 2.1], { lowerIsBetter: false });
  assert.equal(better.word, 'better');
  assert.equal(wordOf(better, 1).word, 'reproduced');
  assert.equal(wordOf(compare([0, 1, 2.1], [2, 3, 4], { lowerIsBetter: false }), 1).word, 'not reproduced');
  const none = compare([1, 2.2, 2.9], [1.1, 2, 3], { lowerIsBetter: false }); // differences −0.1, +0.2, −0.1
  assert.equal(none.word, 'no detectable difference');
  assert.equal(wordOf(none, 10).word, 'not reproduced', 'these seeds detect ~0.6, far below 10');
  assert.equal(wordOf(none, 0.01).word, 'not tested', 'a difference of 0.01 is below what they detect');
  assert.equal(wordOf(compare([1], [0], { lowerIsBetter: false }), 1).word, 'not tested', 'one seed');
  assert.match(wordOf(compare([1], [0], { lowerIsBetter: false }), 1).why, /^one seed/);
});

test('maeLossDrop: the mean fall of the training loss from its first logged value', () => {
  const rec = (loss: number[]) => ({ history: { loss } }) as never;
  assert.equal(maeLossDrop([rec([1, 0.5]), rec([2, 1.6])]), (0.5 + 0.2) / 2);
  assert.equal(maeLossDrop([rec([1])]), null);
});

test('checkVerdict names the bad field', () => {
  const ok: ClaimVerdict = { id: 'A.x', paper: 'A', claim: 'c', word: 'reproduced', effect: 'e', n: 3, reason: 'r', scale: 's', notebook: '01' };
  assert.equal(checkVerdict(ok), ok);
  assert.throws(() => checkVerdict({ ...ok, word: 'confirmed' as never }), /verdict A.x: word must be one of reproduced, not reproduced, partly, not tested; got 'confirmed'/);
  assert.throws(() => checkVerdict({ ...ok, id: 'x' }), /verdict id must look like 'A.mae-sweep'; got 'x'/);
  assert.throws(() => checkVerdict({ ...ok, n: -1 }), /n must be an integer ≥ 0; got -1/);
  assert.throws(() => checkVerdict({ ...ok, effect: '' }), /effect must be a non-empty string/);
});
