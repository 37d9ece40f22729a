import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { experiment, alphaMinOf, skipsOf, maskSeed, sweepVerdict, alphaSweep, type MaeSweepConfig } from '../../../lib/studies/mae-sweep';
import { mergeChecked } from '../../../lib/config';
import { BASELINE_ROWS } from '../../../lib/studies/shared/frozen-features';
import type { RunContext } from '../../../lib/runner/types';
import type { RunRecord } from '../../../lib/report';
import { initTestEngine } from '../../residual/engine';

before(initTestEngine);

const resolved = (p: 'smoke' | 'cpu' | 'paper', over: object = {}): MaeSweepConfig => {
  const c = mergeChecked(mergeChecked(experiment.defaults, experiment.presets[p], p), over, 'test overrides');
  experiment.validate(c);
  return c;
};

function ctx(): RunContext {
  return { preset: 'smoke', runId: 'test', checkpointDir: fs.mkdtempSync(path.join(os.tmpdir(), 'mae-')), progress: () => {}, log: () => {} };
}

describe('mae-sweep experiment', () => {
  test('presets validate; cpu is 11 trained rows × 3 seeds + untrained × 3 + pixels once, seed-major, reconstructions kept with the first seed only', () => {
    for (const p of ['smoke', 'cpu', 'paper'] as const) resolved(p);
    const c = resolved('cpu');
    const specs = experiment.runs(c);
    assert.equal(specs.length, 37);
    assert.deepEqual(specs.slice(0, 13).map((s) => s.seed), new Array(13).fill(0));
    assert.equal(specs.filter((s) => s.row === BASELINE_ROWS.pixels).length, 1);
    assert.equal(alphaMinOf(specs.find((s) => s.row === BASELINE_ROWS.untrained)!.config), null, 'a baseline is not the standard row');
    // Trained rows carry no baseline key: their run ids are those of the committed records.
    assert.ok(specs.filter((s) => !s.row.startsWith('baseline')).every((s) => !('baseline' in s.config)));
    assert.deepEqual(specs.map((s) => (s.config as { keepReconstructions: boolean }).keepReconstructions).filter(Boolean).length, 11);
    assert.ok(c.model.encoder.depth >= 8, 'the cpu preset keeps depth ≥ 8');
    const byRow = Object.fromEntries(specs.filter((s) => s.seed === 0).map((s) => [s.row, s.config]));
    assert.equal(alphaMinOf(byRow['α_min=1.0 (standard)']), 1);
    assert.equal(alphaMinOf(byRow['α_min=0.6']), 0.6);
    assert.equal(alphaMinOf(byRow['ancre (τ=0.01)']), null);
    assert.equal(skipsOf(byRow['α_min=0.6, no skips']), false);
    assert.equal(maskSeed(2, 7), 2 * 100003 + 7);
  });

  test('bad configs are rejected with the field and the value', () => {
    assert.throws(() => resolved('smoke', { rows: [] }), /rows must be a non-empty list/);
    assert.throws(() => resolved('smoke', { rows: [{ name: 'x', wiring: { kind: 'decay' }, skips: true }] }), /unknown wiring 'decay'|expected one of/);
    assert.throws(() => resolved('smoke', { rows: [{ name: 'x', wiring: { kind: 'residual' }, skips: true }, { name: 'x', wiring: { kind: 'residual' }, skips: false }] }), /'x' appears twice/);
    assert.throws(() => resolved('smoke', { evalTest: 20000 }), /evalTest/);
    assert.throws(() => resolved('smoke', { model: { maskRatio: 1.5 } }), /model.maskRatio/);
    assert.throws(() => resolved('smoke', { model: { encoder: { image: 56 } } }), /Fashion-MNIST images are 28×28×1/);
    assert.throws(() => resolved('smoke', { seeds: [] }), /seeds must be a non-empty list/);
  });

  test('smoke runOne: metrics in range, curves, per-block erank, reconstructions; the paper preset says what it needs', async () => {
    const c = resolved('smoke', { train: { steps: 6, logEvery: 2, checkpointEvery: 2 }, rankCheckpoints: 2, evalTrain: 100, evalTest: 60, rankExamples: 40, probe: { epochs: 20 } });
    const spec = experiment.runs(c).find((s) => s.row === 'α_min=0.6')!;
    const before = tf.memory().numTensors;
    const r = await experiment.runOne(spec, ctx());
    assert.equal(tf.memory().numTensors, before, 'runOne leaks no tensors');
    const m = r.metrics as Record<string, number>;
    for (const k of ['knn', 'linearProbe']) assert.ok(m[k] >= 0 && m[k] <= 1, `${k} ${m[k]}`);
    assert.ok(m.alphaEff > 0 && m.alphaEff < 1);
    assert.ok(m.erank >= 1 && m.erank <= 32, `erank ${m.erank}`);
    assert.ok(Number.isFinite(m.finalLoss));
    assert.deepEqual(r.history!.step, [2, 4, 6]);
    assert.deepEqual(r.history!.rankStep, [3, 6]);
    assert.equal((r.extra!.blockErank as number[]).length, 4);
    assert.equal((r.extra!.rankHistory as { blocks: number[][] }).blocks.length, 2);
    const rec = r.extra!.reconstructions as { n: number; images: number[]; mask: number[] };
    assert.equal(rec.images.length, rec.n * 784);
    assert.equal(rec.mask.filter((v) => v === 0).length, rec.n * 4);
    for (const k of ['lpConverged', 'lpConvergedTrain']) assert.ok(m[k] >= 0 && m[k] <= 1, `${k} ${m[k]}`);
    const base = await experiment.runOne(experiment.runs(c).find((s) => s.row === BASELINE_ROWS.untrained)!, ctx());
    assert.equal(base.metrics.trainSeconds, 0);
    assert.equal((base.extra!.blockErank as number[]).length, 4);
    const px = await experiment.runOne(experiment.runs(c).find((s) => s.row === BASELINE_ROWS.pixels)!, ctx());
    assert.ok((px.metrics.knn as number) > 0.3, `raw-pixel kNN ${px.metrics.knn}`);
    assert.equal(tf.memory().numTensors, before, 'baselines leak no tensors');
    const paper = resolved('paper');
    await assert.rejects(experiment.runOne(experiment.runs(paper)[0], ctx()), /mae-sweep preset 'smoke' reads an ImageNet folder: set data\.dir \(or \$REPRO_IMAGENET\) to a folder holding train\/<class>\/\*\.JPEG and val\/<class>\/\*/);
  });

  test('verdict and α_min curve from records', () => {
    const rec = (row: string, wiring: { [k: string]: string | number }, seed: number, knn: number, lp: number): RunRecord => ({
      experiment: 'mae-sweep', preset: 'cpu', runId: `${row}${seed}`, row, seed,
      config: { model: { encoder: { wiring }, skips: true } }, metrics: { knn, linearProbe: lp, erank: 5 },
      wallTimeSec: 1, engine: null, commit: null, host: 'h', finishedAt: '',
    });
    const records = [0, 1, 2].flatMap((s) => [
      rec('α_min=1.0 (standard)', { kind: 'residual' }, s, 0.6 + 0.001 * s, 0.7),
      rec('α_min=0.6', { kind: 'decayed', alphaMin: 0.6 }, s, 0.7 + 0.001 * s, 0.7 + 0.0001 * s),
    ]);
    const curve = alphaSweep(records, 'knn');
    assert.deepEqual(curve.alphaMin, [1, 0.6]);
    assert.ok(Math.abs(curve.mean[1] - 70.1) < 1e-9);
    const v = sweepVerdict(records);
    // paired by seed: α_min=0.6 − standard is +10 at every seed (an interval of one point), so 'better'
    assert.match(v, /\*\*kNN\*\* — best decayed row α_min=0.6: better \(α_min=0.6 − α_min=1.0 \(standard\) = 10\.000, 95% CI \[10\.000, 10\.000\] over 3 seeds/);
    const withBase = [
      ...records,
      { ...records[0], runId: 'px', row: BASELINE_ROWS.pixels, seed: 0, config: { baseline: 'pixels' }, metrics: { knn: 0.78, linearProbe: 0.8, lpConverged: 0.795 } },
      ...[0, 1, 2].map((s) => ({ ...records[0], runId: `u${s}`, row: BASELINE_ROWS.untrained, seed: s, config: { baseline: 'untrained', model: { encoder: { wiring: { kind: 'residual' } }, skips: true } }, metrics: { knn: 0.5 + 0.01 * s, linearProbe: 0.5, lpConverged: 0.55 } })),
    ];
    const vb = sweepVerdict(withBase);
    // raw pixels (no seed) pair with every seed: 70.0, 70.1, 70.2 − 78 → −7.9 ± 4.303·0.1/√3; the untrained encoder by seed: 20, 19.1, 18.2 → +19.1 ± 4.303·0.9/√3
    assert.match(vb, /- α_min=0.6, kNN: 70.1 ± 0.1 \(3 seeds\); vs standard \+10.0 \[\+10.0, \+10.0\] \(better, 3 seeds\); vs raw pixels −7.9 \[−8.1, −7.7\] \(worse, 3 seeds\); vs untrained encoder \+19.1 \[\+16.9, \+21.3\] \(better, 3 seeds\)/);
    assert.match(vb, /baseline: raw pixels, LP \(converged\): 79.5 \(1 seed\); [^\n]*vs untrained encoder \+24.5 \[\+24.5, \+24.5\] \(better, 3 seeds\)/);
    assert.match(vb, /best decayed row α_min=0.6: better/, "baselines are not decayed rows");
    assert.match(v, /\*\*linear probe\*\* — best decayed row α_min=0.6: no detectable difference \(α_min=0.6 − α_min=1.0 \(standard\) = 0\.0100, 95% CI \[−0\.0148, 0\.0348\] over 3 seeds \(paired t, p = 0\.23\): it contains 0; with the observed sd of the differences \(0\.01000\), 3 seeds detect a true difference of 0\.0326 or more/);
  });
});
