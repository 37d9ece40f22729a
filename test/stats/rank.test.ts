/** lib/stats/rank.ts: Spearman's ρ against scipy.stats.spearmanr (ties: average ranks), null where undefined, bad inputs. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { averageRanks, spearman } from '../../lib/stats';
import { ConfigError } from '../../lib/errors';
import { REPO_ROOT } from '../../lib/paths';
import { close } from './close';

// [x, y, scipy.stats.spearmanr(x, y).statistic]
const SPEARMAN = [
  [[1, 2, 3, 4, 5], [2, 1, 4, 3, 5], 0.7999999999999999],
  [[5, 1, 5, 3, 2, 8], [0.3, 0.1, 0.2, 0.2, 0.9, 0.4], 0.3676470588235294],
  [[9, 8, 5, 4], [60, 62, 70, 72], -1.0],
  [[1, 2, 2, 3, 3, 3, 4], [7, 6, 6, 5, 9, 1, 2], -0.5475598112357867],
] as const;

describe('spearman', () => {
  test('matches scipy.stats.spearmanr, ties included', () => {
    for (const [x, y, want] of SPEARMAN) close(spearman(x, y), want, 1e-12, `spearman(${x}; ${y})`);
    assert.deepEqual(averageRanks([5, 1, 5, 3]), [3.5, 1, 3.5, 2]);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  });

  test('null (not NaN) with fewer than 3 pairs or a constant side', () => {
    assert.equal(spearman([1, 2], [1, 2]), null);
    assert.equal(spearman([], []), null);
    assert.equal(spearman([1, 1, 1], [1, 2, 3]), null);
    assert.equal(spearman([1, 2, 3], [4, 4, 4]), null);
  });

  test('bad inputs: ConfigErrors naming the lengths or the index and value', () => {
    assert.throws(() => spearman([1, 2, 3], [1, 2]), (e: unknown) => e instanceof ConfigError && /^spearman: 3 x values but 2 y values; it needs one y per x$/.test(e.message));
    assert.throws(() => spearman([1, NaN, 3], [1, 2, 3]), (e: unknown) => e instanceof ConfigError && /^x\[1\] must be a finite number; got NaN$/.test(e.message));
    assert.throws(() => spearman([1, 2, 3], [1, 2, -Infinity]), (e: unknown) => e instanceof ConfigError && /^y\[2\] must be a finite number; got -Infinity$/.test(e.message));
  });
});

test('lib/stats imports nothing in lib/ but errors.ts (and its own files)', () => {
  const dir = path.join(REPO_ROOT, 'lib', 'stats');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/from\s+['"](\.{1,2}\/[^'"]*)['"]/g)) {
      assert.ok(m[1] === '../errors' || m[1].startsWith('./'), `lib/stats/${f} imports '${m[1]}'`);
    }
  }
});
