import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { experiment, lengthGaps, lengthRecords, lengthTable, lengthVerdict } from '../../../lib/studies/mae-length';
import { experiment as maeSweep } from '../../../lib/studies/mae-sweep';
import { resolveConfig } from '../../../lib/runner/run';
import { runIdOf } from '../../../lib/runner/execute';
import type { RunRecord } from '../../../lib/report';

describe('mae-length experiment', () => {
  test('runs copy the sweep config of the base preset and change only the step count', () => {
    const c = resolveConfig(experiment, 'cpu');
    const sweep = resolveConfig(maeSweep, 'cpu');
    const specs = experiment.runs(c);
    assert.equal(specs.length, c.rows.length * c.steps.length * c.seeds.length);
    assert.deepEqual([...new Set(specs.map((s) => (s.config as any).train.steps))], [...c.steps].sort((a, b) => a - b), 'shortest length first');
    const sweepSpecs = maeSweep.runs(sweep);
    for (const s of specs) {
      const twin = sweepSpecs.find((t) => t.row === s.row && t.seed === s.seed)!;
      const a = s.config as any;
      const b = twin.config as any;
      assert.deepEqual({ ...a, train: { ...a.train, steps: 0 }, keepReconstructions: false }, { ...b, train: { ...b.train, steps: 0 }, keepReconstructions: false });
      assert.equal(a.keepReconstructions, false);
    }
    // Same row, seed and steps as the sweep gives the same config, so the two experiments agree on what a run is.
    const same = resolveConfig(experiment, 'cpu', { steps: [sweep.train.steps] });
    const s0 = experiment.runs(same)[0];
    const t0 = sweepSpecs.find((t) => t.row === s0.row && t.seed === s0.seed)!;
    assert.equal(runIdOf('mae-sweep', { ...s0, config: { ...s0.config, keepReconstructions: (t0.config as any).keepReconstructions } }), runIdOf('mae-sweep', t0));
    for (const p of ['smoke', 'paper'] as const) assert.ok(experiment.runs(resolveConfig(experiment, p)).length > 0);
  });

  test('bad configs are rejected naming the value', () => {
    assert.throws(() => resolveConfig(experiment, 'cpu', { rows: ['α_min=0.65'] }), /rows\[0\] 'α_min=0.65' is not a row of mae-sweep preset 'cpu'/);
    assert.throws(() => resolveConfig(experiment, 'cpu', { rows: [] }), /rows must be a non-empty list/);
    assert.throws(() => resolveConfig(experiment, 'cpu', { steps: [0] }), /steps\[0\]/);
    assert.throws(() => resolveConfig(experiment, 'cpu', { steps: [400, 400] }), /twice/);
    assert.throws(() => resolveConfig(experiment, 'cpu', { base: 'gpu' as never }), /base/);
    assert.throws(() => resolveConfig(experiment, 'cpu', { seeds: [] }), /seeds must be a non-empty list/);
  });

  const rec = (row: string, steps: number, seed: number, knn: number, lp: number): RunRecord => ({
    experiment: 'mae-length', preset: 'cpu', runId: `${row}${steps}${seed}`, row, seed,
    config: { train: { steps } } as never, metrics: { knn, linearProbe: lp, erank: 5, finalLoss: 0.5, trainSeconds: 10 },
    wallTimeSec: 1, engine: {} as never, commit: 'x', host: 'h', finishedAt: '',
  } as RunRecord);

  test('gaps, table and reading on records with known values', () => {
    const study = [
      rec('std', 400, 0, 0.60, 0.60), rec('std', 400, 1, 0.62, 0.62), rec('dec', 400, 0, 0.50, 0.52), rec('dec', 400, 1, 0.52, 0.54),
      rec('std', 4000, 0, 0.80, 0.80), rec('std', 4000, 1, 0.82, 0.82), rec('dec', 4000, 0, 0.83, 0.79), rec('dec', 4000, 1, 0.85, 0.81),
    ];
    const sweep = [rec('std', 1000, 0, 0.70, 0.70), rec('std', 1000, 1, 0.72, 0.72), rec('dec', 1000, 0, 0.66, 0.66), rec('dec', 1000, 1, 0.68, 0.68), rec('other', 1000, 0, 0.1, 0.1)];
    const all = lengthRecords(study, sweep, ['std', 'dec']);
    assert.equal(all.length, 12, 'rows outside the study are left out');
    const gaps = lengthGaps(all, 'std', 'dec');
    const knn = gaps.filter((g) => g.metric === 'knn');
    assert.deepEqual(knn.map((g) => g.steps), [400, 1000, 4000]);
    assert.deepEqual(knn.map((g) => Math.round(g.gap * 10) / 10), [-10, -4, 3]);
    // Paired by seed: dec − std is −10 at both seeds, so the interval is the point −10 and the word 'worse'.
    assert.equal(knn[0].paired.word, 'worse');
    assert.ok(Math.abs(knn[0].paired.diff!.mean + 10) < 1e-9 && knn[0].paired.diff!.sd < 1e-9);
    const t = lengthTable(all).objects() as any[];
    assert.deepEqual(t.map((r) => `${r.row}@${r.steps}`), ['std@400', 'dec@400', 'std@1000', 'dec@1000', 'std@4000', 'dec@4000']);
    assert.equal(t[0].knn_mean, 61);
    const v = lengthVerdict(all, 'std', 'dec', 128, 60000);
    assert.match(v, /\*\*kNN\*\*, dec − std \(points; 95 % CI of the difference paired by seed\): 400 steps \(0\.9 epochs\): −10\.0 \[−10\.0, −10\.0\], worse/);
    assert.match(v, /kNN[^]*the deficit closed with training/);
    assert.match(v, /linear probe[^]*the deficit narrowed at every length but did not close/);
    assert.match(lengthVerdict([], 'std', 'dec', 128, 60000), /No length has runs/);
    // The sweep's baselines join the study: the untrained encoder at 0 steps, pixels without a length.
    const base = (row: string, b: string, seed: number, knn: number): RunRecord => ({ ...rec(row, 1000, seed, knn, knn), config: { baseline: b, train: { steps: 1000 } } as never });
    const withBase = lengthRecords(study, [...sweep, base('baseline: raw pixels', 'pixels', 0, 0.78), base('baseline: untrained encoder', 'untrained', 0, 0.5), base('baseline: untrained encoder', 'untrained', 1, 0.52)], ['std', 'dec']);
    assert.equal(withBase.length, 15);
    assert.deepEqual(lengthGaps(withBase, 'std', 'dec').filter((g) => g.metric === 'knn').map((g) => g.steps), [400, 1000, 4000], 'baselines are not a length');
    const tb = lengthTable(withBase).objects() as any[];
    assert.deepEqual(tb.slice(0, 2).map((r) => `${r.row}@${r.steps}`), ['baseline: raw pixels@null', 'baseline: untrained encoder@0']);
    const vb = lengthVerdict(withBase, 'std', 'dec', 128, 60000);
    // dec at 4000 steps: 83, 85 against pixels 78 (no seed) → +6 ± 12.706·√2/√2 → [−6.7, +18.7]; against the untrained encoder 50, 52 → +33 at both seeds
    assert.match(vb, /4000 steps, dec: vs raw pixels \+6\.0 \[−6\.7, \+18\.7\] \(no detectable difference, 2 seeds\), vs untrained \+33\.0 \[\+33\.0, \+33\.0\] \(better, 2 seeds\)/);
  });
});
