import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import {
  experiment, atLoss, atStep, commonLossLevels, heldOutDrop, LONG_LR_SCALE, matchedLossTable, matchedStepTable, runCurves, valueAtLoss, longCurvesFigure, accuracyVsLossFigure,
  type MaeLongConfig, type RunCurve,
} from '../../../lib/studies/mae-long';
import type { MaeClutterRunConfig } from '../../../lib/studies/mae-clutter';
import { BASELINE_ROWS } from '../../../lib/studies/shared/frozen-features';
import { resolveConfig } from '../../../lib/runner/run';
import { runExperiment } from '../../../lib/runner';
import { runIdOf } from '../../../lib/runner/execute';
import { collectVerdicts } from '../../../lib/studies/verdicts';
import { ConfigError } from '../../../lib/errors';
import type { RunRecord } from '../../../lib/report';
import { initTestEngine } from '../../residual/engine';

before(initTestEngine);

const cfg = (p: 'smoke' | 'cpu' | 'paper', over: object = {}): MaeLongConfig => resolveConfig(experiment, p, over as never);
const STD = 'α_min=1.0 (standard)';

describe('mae-long: the design', () => {
  test('cpu: paper A decoder (8 blocks, every skip), 5,000 steps (10.7 epochs), evaluation points, baselines then seed-major rows then controls', () => {
    const c = cfg('cpu');
    assert.equal(c.model.decoderDepth, 8);
    assert.equal(c.model.skipLayout, 'paper');
    assert.equal(c.train.steps, 5000);
    assert.equal(((c.train.steps * c.batch) / 60000).toFixed(1), '10.7');
    const specs = experiment.runs(c);
    assert.deepEqual(specs.map((s) => `${s.row}/${s.seed}`), [
      `${BASELINE_ROWS.pixels}/0`, `${BASELINE_ROWS.untrained}/0`, `${BASELINE_ROWS.untrained}/1`, `${BASELINE_ROWS.untrained}/2`,
      `${STD}/0`, 'α_min=0.6/0', 'α_min=0.7/0', `${STD}/1`, 'α_min=0.6/1', 'α_min=0.7/1', `${STD}/2`, 'α_min=0.6/2', 'α_min=0.7/2',
      'standard, no skips/0', 'α_min=0.6, no skips/0',
    ]);
    const run = (row: string) => specs.find((s) => s.row === row)!.config as unknown as MaeClutterRunConfig;
    assert.equal(run(STD).train.schedule.lr, Number((((1.5e-4 * 128) / 256) * LONG_LR_SCALE).toPrecision(6)));
    assert.deepEqual(run(STD).evalSteps, [250, 500, 1000, 2000, 3000, 4000]);
    assert.deepEqual(run('α_min=0.7').model.encoder.wiring, { kind: 'decayed', alphaMin: 0.7 });
    assert.equal(run('standard, no skips').model.skips, false);
    // every row of one seed starts from the same weights and sees the same batches
    assert.equal(run(STD).model.encoder.seed, run('α_min=0.6').model.encoder.seed);
  });

  test('the long study runs at the lr the committed search picked', () => {
    const { studyRecords } = require('../../../lib/studies/verdicts') as typeof import('../../../lib/studies/verdicts');
    const clutter = require('../../../lib/studies/mae-clutter') as typeof import('../../../lib/studies/mae-clutter');
    const { REPO_ROOT } = require('../../../lib/paths') as typeof import('../../../lib/paths');
    const search = studyRecords(clutter.experiment, 'cpu', path.join(REPO_ROOT, 'results'), clutter.LR_SEARCH);
    assert.equal(search.records.length, search.planned, 'every run of the search is committed');
    const pick = clutter.lrSearchPick(search.records);
    assert.equal(pick.scale, LONG_LR_SCALE, pick.why);
  });

  test('bad input is a ConfigError naming the value, before any work', () => {
    assert.throws(() => cfg('cpu', { evalSteps: [250, 6000] }), (e: Error) => e instanceof ConfigError && /evalSteps\[1\] must be an integer step in \[1, 5000\] \(the run's steps\); got 6000/.test(e.message));
    assert.throws(() => cfg('cpu', { evalSteps: [500, 250] }), /evalSteps must be ascending without repeats; evalSteps\[1\] = 250 follows 500/);
    assert.throws(() => cfg('cpu', { train: { steps: 800 } }), /evalSteps\[2\] must be an integer step in \[1, 800\].*got 1000/);
    assert.throws(() => cfg('cpu', { model: { decoderDepth: 4 } }), (e: Error) => e instanceof ConfigError && /decoderDepth/.test(e.message) && /6/.test(e.message));
    assert.throws(() => cfg('cpu', { rows: [{ name: 'x', wiring: { kind: 'residual' }, skips: true, lrScale: -2 }] }), /rows\[0\]\.lrScale must be .*got -2/);
    assert.throws(() => cfg('cpu', { rows: [{ name: BASELINE_ROWS.pixels, baseline: 'pixels', wiring: { kind: 'residual' }, skips: true, lrScale: 1 }] }), /at least one trained row/);
  });
});

/** A curve with the given steps and values (accuracies in %). */
function curve(row: string, seed: number, step: number[], evalLoss: number[], knn: number[]): RunCurve {
  const z = step.map(() => 0);
  return { row, seed, step, values: { knn, lpConverged: knn.map((v) => v + 10), linearProbe: z, erank: z, evalLoss } };
}

describe('mae-long: matched step and matched loss', () => {
  test('valueAtLoss interpolates between the evaluation points around the first crossing', () => {
    const c = curve('a', 0, [100, 200, 300], [0.6, 0.5, 0.4], [20, 30, 50]);
    const near = (x: number | null, y: number) => assert.ok(x !== null && Math.abs(x - y) < 1e-9, `${x} ≠ ${y}`);
    near(valueAtLoss(c, 'knn', 0.55), 25);
    near(valueAtLoss(c, 'knn', 0.45), 40);
    assert.equal(valueAtLoss(c, 'knn', 0.6), 20);
    assert.equal(valueAtLoss(c, 'knn', 0.4), 50);
    assert.equal(valueAtLoss(c, 'knn', 0.39), null, 'never that low');
    assert.equal(valueAtLoss(c, 'knn', 0.7), null, 'started below the level');
    // a curve that goes back up: the first crossing counts
    near(valueAtLoss(curve('b', 0, [1, 2, 3], [0.6, 0.4, 0.5], [10, 30, 99]), 'knn', 0.5), 20);
  });

  test('common loss levels lie inside every compared curve: from the highest final loss up', () => {
    const cs = [curve('a', 0, [1, 2], [0.6, 0.4], [0, 0]), curve('b', 0, [1, 2], [0.55, 0.45], [0, 0]), curve('c', 0, [1, 2], [0.9, 0.1], [0, 0])];
    assert.deepEqual(commonLossLevels(cs, ['a', 'b']).map((x) => Number(x.toFixed(6))), [0.45, 0.5]);
    assert.deepEqual(commonLossLevels(cs, ['a', 'b'], 1), [0.45]);
    assert.deepEqual(commonLossLevels([curve('a', 0, [1], [0.3], [0]), curve('b', 0, [1], [0.5], [0])], ['a', 'b']), [], 'no shared range');
    const at = atLoss(cs, 0.5);
    assert.deepEqual(at.map((r) => [r.row, r.metrics.knn]), [['a', 0], ['b', 0], ['c', 0]]);
    assert.deepEqual(atStep(cs, 2).map((r) => r.metrics.evalLoss), [0.4, 0.45, 0.1]);
  });

  /** Records of a study where α_min = 0.6 is 3 kNN points worse at every step but learns as fast (equal loss). */
  function records(): RunRecord[] {
    const out: RunRecord[] = [];
    const rec = (row: string, seed: number, metrics: RunRecord['metrics'], extra?: object, config: object = {}): RunRecord =>
      ({ experiment: 'mae-long', preset: 'cpu', runId: `${row}-${seed}`, row, seed, config, metrics, extra } as unknown as RunRecord);
    for (const seed of [0, 1, 2]) {
      out.push(rec(BASELINE_ROWS.untrained, seed, { knn: 0.25, lpConverged: 0.3, evalLoss: 0.66 }, undefined, { baseline: 'untrained' }));
      const noise = [0.2, -0.3, 0.1][seed];
      for (const [row, shift] of [[STD, 0], ['α_min=0.6', -3]] as const) {
        const knn = [28, 32, 35].map((v) => (v + shift + noise + (row === STD ? 0 : 0.05 * seed)) / 100);
        const loss = [0.6, 0.5, 0.45 + 0.001 * seed];
        out.push(rec(row, seed, { knn: knn[2], lpConverged: knn[2] + 0.1, evalLoss: loss[2] }, { curve: { step: [100, 200, 300], knn, lpConverged: knn.map((v) => v + 0.1), linearProbe: [0, 0, 0], erank: [10, 9, 8], evalLoss: loss } }));
      }
    }
    return out;
  }

  test('tables: the decayed row is worse at every step and at every common loss, paired by seed, with intervals', () => {
    const rs = records();
    assert.equal(runCurves(rs).length, 6);
    const step = matchedStepTable(rs).objects() as Record<string, unknown>[];
    const knn300 = step.find((r) => r.step === 300 && r.metric === 'kNN %')!;
    assert.equal(knn300.row, 'α_min=0.6');
    assert.equal(knn300.seeds, 3);
    assert.equal(knn300.word, 'worse');
    assert.match(String(knn300[`vs ${STD}`]), /^−3\.0 \[−3\.\d, −2\.\d\]$/);
    const loss = matchedLossTable(rs).objects() as Record<string, unknown>[];
    assert.ok(loss.length >= 3);
    assert.ok(loss.filter((r) => r.metric === 'kNN %').every((r) => r.word === 'worse'), JSON.stringify(loss));
    assert.ok(Math.abs(heldOutDrop(rs, STD)! - (1 - 0.451 / 0.66)) < 1e-9);
    assert.equal(heldOutDrop(rs, 'no such row'), null);
    assert.ok(longCurvesFigure(rs) && accuracyVsLossFigure(rs));
    assert.equal(longCurvesFigure([]), null);
  });
});

describe('mae-long: a smoke study end to end', () => {
  test('every trained run records its curve at the evaluation steps and the last; the untrained encoder its held-out loss', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mae-long-'));
    const old = process.env.REPRO_RESULTS;
    process.env.REPRO_RESULTS = dir;
    try {
      const before = tf.memory().numTensors;
      const r = await runExperiment(experiment, { preset: 'smoke', workers: 1, verbose: false });
      assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
      const c = cfg('smoke');
      assert.equal(r.records.length, experiment.runs(c).length);
      const trained = r.records.filter((x) => !(x.config as { baseline?: unknown }).baseline);
      assert.ok(trained.length >= 6);
      for (const t of trained) {
        const cur = (t.extra as { curve: { step: number[]; knn: number[]; evalLoss: number[]; lpConverged: number[]; erank: number[]; alphaEff: number[] } }).curve;
        assert.deepEqual(cur.step, [2, 4, 6]);
        for (const k of ['knn', 'evalLoss', 'lpConverged', 'erank', 'alphaEff'] as const) assert.equal(cur[k].length, 3, k);
        assert.equal(cur.knn[2], t.metrics.knn, 'the last point is the record');
        assert.ok(cur.evalLoss.every((v) => v > 0 && v < 2));
      }
      const untrained = r.records.filter((x) => x.row === BASELINE_ROWS.untrained);
      assert.equal(untrained.length, 2);
      assert.ok(untrained.every((u) => typeof u.metrics.evalLoss === 'number'));
      // with a zero prediction head, the first evaluation's held-out loss is (nearly) the untrained encoder's
      const std0 = trained.find((x) => x.row === STD && x.seed === 0)!;
      const zero = untrained.find((u) => u.seed === 0)!.metrics.evalLoss as number;
      assert.ok(Math.abs((std0.extra as { curve: { evalLoss: number[] } }).curve.evalLoss[0] - zero) < 0.05 * zero);
    } finally {
      if (old === undefined) delete process.env.REPRO_RESULTS;
      else process.env.REPRO_RESULTS = old;
    }
  });
});

describe('mae-long: the verdict (lib/studies/verdicts.ts)', () => {
  /** Records under the smoke plan's run ids: an MAE that learned (or not), standard above both baselines, α_min = 0.6 `shift` kNN points away. */
  function writeStudy(dir: string, opts: { shift: number; finalLoss: number }): void {
    const c = cfg('smoke');
    const lines = experiment.runs(c).map((spec) => {
      const base = (spec.config as { baseline?: string | null }).baseline;
      const noise = [0.4, -0.5, 0.2][spec.seed] ?? 0;
      const shift = spec.row === 'α_min=0.6' ? opts.shift + 0.3 * spec.seed : spec.row === 'α_min=0.7' ? -1 : 0;
      const knn = base === 'pixels' ? [20] : base === 'untrained' ? [22] : [30, 34, 38].map((v) => v + shift + noise);
      const loss = [0.6, 0.55, opts.finalLoss];
      const m = (k: number) => k / 100;
      const metrics = base ? { knn: m(knn[0]), lpConverged: m(knn[0] + 5), evalLoss: base === 'untrained' ? 0.66 : null } : { knn: m(knn[2]), lpConverged: m(knn[2] + 5), evalLoss: loss[2] };
      const extra = base ? {} : { curve: { step: [2, 4, 6], knn: knn.map(m), lpConverged: knn.map((v) => m(v + 5)), linearProbe: [0, 0, 0], erank: [3, 2, 1], evalLoss: loss } };
      return JSON.stringify({ experiment: 'mae-long', preset: 'smoke', runId: runIdOf('mae-long', spec), row: spec.row, seed: spec.seed, config: spec.config, metrics, extra, wallTimeSec: 1, engine: 'test', commit: null, host: 'test', finishedAt: new Date(0).toISOString() });
    });
    fs.mkdirSync(path.join(dir, 'mae-long', 'smoke'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'mae-long', 'smoke', 'runs.jsonl'), lines.join('\n') + '\n');
  }
  const verdict = (dir: string) => collectVerdicts('smoke', dir).find((v) => v.id === 'A.mae-long')!;

  test('a learned MAE with a healthy baseline: the detected opposite is "not reproduced", the paper\'s direction "reproduced"', () => {
    const worse = fs.mkdtempSync(path.join(os.tmpdir(), 'long-v-'));
    writeStudy(worse, { shift: -4, finalLoss: 0.45 });
    const v = verdict(worse);
    assert.equal(v.word, 'not reproduced', v.reason);
    assert.equal(v.notebook, '01 §5');
    assert.match(v.reason, /held-out reconstruction loss fell 32 % \(standard\) and 32 % \(α_min = 0\.6\) below predicting zero/);
    assert.match(v.reason, /At equal held-out loss \(0\.4500/);
    assert.match(v.reason, /α_min = 0\.7 − standard kNN −1\.0/);
    const better = fs.mkdtempSync(path.join(os.tmpdir(), 'long-v-'));
    writeStudy(better, { shift: 4, finalLoss: 0.45 });
    assert.equal(verdict(better).word, 'reproduced');
  });

  test('before standard and α_min = 0.6 share two seeds the verdict says the study is in progress', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'long-v-'));
    writeStudy(dir, { shift: 4, finalLoss: 0.45 });
    const file = path.join(dir, 'mae-long', 'smoke', 'runs.jsonl');
    // keep the baselines and the standard row only
    const kept = fs.readFileSync(file, 'utf8').trim().split('\n').filter((l) => !/"row":"α_min=0\.[67]"/.test(l));
    fs.writeFileSync(file, kept.join('\n') + '\n');
    const v = verdict(dir);
    assert.equal(v.word, 'not tested');
    assert.equal(v.n, 0);
    assert.match(v.reason, /^In progress: 2 of 6 trained runs finished; the comparison needs at least 2 seeds with both standard and α_min = 0\.6\. So far: standard's held-out loss fell 32 % below predicting zero\.$/);
  });

  test('an MAE that did not learn is "not tested", whatever the difference', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'long-v-'));
    writeStudy(dir, { shift: 4, finalLoss: 0.63 });
    const v = verdict(dir);
    assert.equal(v.word, 'not tested');
    assert.match(v.reason, /did not learn enough.*fell 5 % \(standard\)/);
  });
});

