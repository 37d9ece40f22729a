import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spearman, averageRanks, rankPoints, rankCorrelations, blockErankByRow, rankVerdict } from '../../../lib/studies/rank/analysis';
import type { RunRecord } from '../../../lib/report';

const rec = (row: string, wiring: { [k: string]: string | number }, seed: number, erank: number, knn: number, lp: number, blocks: number[]): RunRecord => ({
  experiment: 'mae-sweep', preset: 'cpu', runId: `${row}${seed}`, row, seed,
  config: { model: { encoder: { wiring }, skips: true } }, metrics: { knn, linearProbe: lp, erank },
  extra: { blockErank: blocks }, wallTimeSec: 1, engine: null, commit: null, host: 'h', finishedAt: '',
});

describe('rank analysis', () => {
  test('Spearman: ±1 for monotone relations, ties get average ranks, known value', () => {
    assert.equal(spearman([1, 2, 3, 4], [10, 20, 35, 100]), 1);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    assert.deepEqual(averageRanks([5, 1, 5, 3]), [3.5, 1, 3.5, 2]);
    // x = 1..5, y = [2, 1, 4, 3, 5]: Σd² = 4, ρ = 1 − 6·4 / (5·24) = 0.8.
    assert.ok(Math.abs(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])! - 0.8) < 1e-12);
    assert.equal(spearman([1, 2], [1, 2]), null);
    assert.equal(spearman([1, 1, 1], [1, 2, 3]), null);
    assert.throws(() => spearman([1, 2, 3], [1, 2]), /3 x values but 2 y values/);
  });

  test('points, correlations, per-block means and the verdict from records', () => {
    const records = [
      rec('α_min=1.0 (standard)', { kind: 'residual' }, 0, 9, 0.60, 0.70, [12, 10, 9]),
      rec('α_min=1.0 (standard)', { kind: 'residual' }, 1, 8, 0.62, 0.71, [14, 10, 8]),
      rec('α_min=0.6', { kind: 'decayed', alphaMin: 0.6 }, 0, 5, 0.70, 0.74, [12, 8, 5]),
      rec('α_min=0.6', { kind: 'decayed', alphaMin: 0.6 }, 1, 4, 0.72, 0.75, [12, 6, 4]),
    ];
    const pts = rankPoints(records);
    assert.deepEqual(pts.map((p) => p.knn), [60, 62, 70, 72]);
    const c = rankCorrelations(pts);
    assert.equal(c.n, 4);
    assert.equal(c.knn, -1);
    assert.equal(c.linearProbe, -1);
    const b = blockErankByRow(records);
    assert.deepEqual(b.rows, ['α_min=1.0 (standard)', 'α_min=0.6']);
    assert.deepEqual(b.erank, [[13, 10, 8.5], [12, 7, 4.5]]);
    const v = rankVerdict(records);
    assert.match(v, /Across all 4 runs: Spearman ρ\(erank, kNN\) = -1.00 \(lower rank went with better features\)/);
    assert.match(v, /standard 8.50 vs α_min = 0.6 4.50 \(decayed shortcuts lowered the rank, as the paper reports\)/);
    // Baselines stay out of the correlations and the per-block table; pixels have no blocks.
    const withBase: RunRecord[] = [
      ...records,
      { ...rec('baseline: raw pixels', { kind: 'residual' }, 0, 300, 0.78, 0.8, [300]), config: { baseline: 'pixels' } },
      { ...rec('baseline: untrained encoder', { kind: 'residual' }, 0, 19, 0.55, 0.55, [20, 20, 19]), config: { baseline: 'untrained', model: { encoder: { wiring: { kind: 'residual' } }, skips: true } } },
    ];
    assert.equal(rankCorrelations(rankPoints(withBase)).knn, -1);
    assert.deepEqual(blockErankByRow(withBase).rows, ['α_min=1.0 (standard)', 'α_min=0.6', 'baseline: untrained encoder']);
    assert.match(rankVerdict(withBase), /Baselines \(not in the correlations\): raw pixels erank 300.00, untrained encoder 19.00/);
  });
});
