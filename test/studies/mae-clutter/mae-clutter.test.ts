import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { experiment, alphaEffOf, matchedAlphaMin, VIT_B_ALPHA_EFF, type MaeClutterConfig, type MaeClutterRunConfig } from '../../../lib/studies/mae-clutter';
import { clutterVerdict, clutterTable } from '../../../lib/studies/mae-clutter/verdict';
import { gainOver, BASELINE_ROWS } from '../../../lib/studies/shared/frozen-features';
import { resolveConfig } from '../../../lib/runner/run';
import { ConfigError } from '../../../lib/errors';
import type { RunContext } from '../../../lib/runner/types';
import type { RunRecord } from '../../../lib/report';
import { initTestEngine } from '../../residual/engine';

before(initTestEngine);

const cfg = (p: 'smoke' | 'cpu' | 'paper', over: object = {}): MaeClutterConfig => resolveConfig(experiment, p, over as never);
const ctx = (): RunContext => ({ preset: 'smoke', runId: 'test', checkpointDir: fs.mkdtempSync(path.join(os.tmpdir(), 'clutter-')), progress: () => {}, log: () => {} });

describe('mae-clutter experiment', () => {
  test('α_eff matching: ViT-B at 0.6 is ≈ 3.6e-3; 24 sub-layers match at 0.6, 16 need a smaller α_min', () => {
    assert.ok(Math.abs(VIT_B_ALPHA_EFF - 3.6e-3) < 1e-4, `${VIT_B_ALPHA_EFF}`);
    assert.ok(Math.abs(matchedAlphaMin(24) - 0.6) < 1e-9);
    const m16 = matchedAlphaMin(16);
    assert.ok(m16 < 0.6 && Math.abs(alphaEffOf(16, m16) / VIT_B_ALPHA_EFF - 1) < 1e-6, `${m16}`);
  });

  test('cpu preset: 12 × 96 encoder, 36 tokens, official recipe by the MAE lr rule, most informative runs first', () => {
    const c = cfg('cpu');
    assert.equal(c.model.encoder.depth, 12);
    assert.ok(c.model.encoder.width >= 96);
    assert.ok((c.model.encoder.image / c.model.encoder.patch) ** 2 >= 36);
    const specs = experiment.runs(c);
    // 17 rows; the matched row equals α_min=0.6 at 12 blocks and is left out; pixels run once; lr-sweep rows one seed.
    assert.equal(specs.length, 1 + 3 + 8 * 3 + 6);
    assert.ok(!specs.some((s) => s.row === 'α_min matched to ViT-B α_eff'));
    assert.deepEqual(specs.slice(0, 12).map((s) => `${s.row}/${s.seed}`), [
      `${BASELINE_ROWS.pixels}/0`, `${BASELINE_ROWS.untrained}/0`, `${BASELINE_ROWS.untrained}/1`, `${BASELINE_ROWS.untrained}/2`,
      'α_min=1.0 (standard)/0', 'α_min=0.6/0', 'standard, lr ×20/0', 'α_min=0.6, lr ×20/0',
      'α_min=1.0 (standard)/1', 'α_min=0.6/1', 'α_min=1.0 (standard)/2', 'α_min=0.6/2',
    ]);
    const run = (row: string) => specs.find((s) => s.row === row)!.config as unknown as MaeClutterRunConfig;
    const std = run('α_min=1.0 (standard)');
    assert.equal(std.train.schedule.lr, (1.5e-4 * 128) / 256);
    assert.equal(std.train.optimizer.clipNorm, 0);
    assert.deepEqual(std.augment?.scale, [0.2, 1]);
    assert.equal(std.model.encoder.recipe, 'official');
    assert.equal(run('standard, lr ×2').train.schedule.lr, 1.5e-4);
    assert.equal(run('α_min=0.6, lr ×0.5').train.schedule.lr, 3.75e-5);
    const project = experiment.runs(cfg('cpu', { recipe: 'project' })).find((s) => s.row === 'α_min=1.0 (standard)')!.config as unknown as MaeClutterRunConfig;
    assert.equal(project.train.schedule.lr, 1.5e-3);
    assert.equal(project.train.optimizer.clipNorm, 1);
    assert.equal(project.augment, null);
    // At depth 8 the matched row is its own α_min.
    const d8 = experiment.runs(cfg('cpu', { model: { encoder: { depth: 8 } } }));
    const m = d8.find((s) => s.row === 'α_min matched to ViT-B α_eff')!.config as unknown as MaeClutterRunConfig;
    assert.equal(m.model.encoder.wiring.alphaMin, Number(matchedAlphaMin(16).toFixed(4)));
  });

  test('bad input is a ConfigError before any work: small canvas, negative clutter, patch not dividing, unknown recipe', () => {
    const bad = (over: object, re: RegExp) => assert.throws(() => cfg('smoke', over), (e: Error) => e instanceof ConfigError && re.test(e.message), JSON.stringify(over));
    bad({ data: { canvas: 20 } }, /data.canvas must be an integer >= the item side 28 .*got 20/);
    bad({ data: { clutter: -2 } }, /data.clutter must be an integer >= 0 .*got -2/);
    bad({ model: { encoder: { patch: 7 } } }, /model.encoder.patch must divide data.canvas 32 \(one of 2, 4, 8, 16, 32\); got 7/);
    bad({ recipe: 'paper' }, /unknown recipe 'paper'; expected one of official, project/);
    bad({ model: { encoder: { image: 28 } } }, /model.encoder.image must equal data.canvas 32/);
  });

  test('smoke runOne: pixels (with the plain value beside), untrained, and a trained row; metrics in range, no leaked tensors', async () => {
    const c = cfg('smoke', { evalTrain: 60, evalTest: 40, rankExamples: 20, probe: { epochs: 10 } });
    const specs = experiment.runs(c);
    const before = tf.memory().numTensors;
    const px = await experiment.runOne(specs.find((s) => s.row === BASELINE_ROWS.pixels)!, ctx());
    for (const k of ['knn', 'lpConverged', 'plainKnn', 'plainLpConverged']) assert.ok((px.metrics[k] as number) >= 0 && (px.metrics[k] as number) <= 1, k);
    const un = await experiment.runOne(specs.find((s) => s.row === BASELINE_ROWS.untrained)!, ctx());
    assert.equal(un.metrics.trainSeconds, 0);
    const tr = await experiment.runOne(specs.find((s) => s.row === 'α_min=0.6')!, ctx());
    assert.equal(tf.memory().numTensors, before, 'runOne leaks no tensors');
    const m = tr.metrics as Record<string, number>;
    assert.ok(m.alphaEff > 0 && m.alphaEff < 1 && Number.isFinite(m.finalLoss) && m.lpConvergedTrain >= 0);
    assert.equal((tr.extra!.blockErank as number[]).length, 4);
    assert.deepEqual(tr.history!.step, [2, 4, 6]);
    const rec = tr.extra!.reconstructions as { n: number; images: number[] };
    assert.equal(rec.images.length, rec.n * 32 * 32);
  });

  test('verdict from records: gains over standard and both baselines with spread, clutter cost, lr-sweep order, missing runs', () => {
    const rec = (row: string, seed: number, knn: number, lp: number, extra: object = {}, baseline?: string): RunRecord => ({
      experiment: 'mae-clutter', preset: 'cpu', runId: `${row}${seed}`, row, seed, config: { baseline: baseline ?? null },
      metrics: { knn, lpConverged: lp, ...extra }, wallTimeSec: 1, engine: null, commit: null, host: 'h', finishedAt: '',
    });
    const records = [
      rec(BASELINE_ROWS.pixels, 0, 0.3, 0.17, { plainKnn: 0.78, plainLpConverged: 0.795 }, 'pixels'),
      ...[0, 1, 2].flatMap((s) => [
        rec(BASELINE_ROWS.untrained, s, 0.25 + 0.01 * s, 0.2, {}, 'untrained'),
        rec('α_min=1.0 (standard)', s, 0.4 + 0.01 * s, 0.45),
        rec('α_min=0.6', s, 0.5 + 0.01 * s, 0.5 + 0.01 * s),
      ]),
      rec('standard, lr ×2', 0, 0.42, 0.4),
      rec('α_min=0.6, lr ×2', 0, 0.41, 0.4),
    ];
    const g = gainOver(records, 'α_min=0.6', BASELINE_ROWS.pixels, 'knn')!;
    // paired by seed: 50, 51, 52 against the one pixel value 30 → differences 20, 21, 22 (sd 1), t(0.975, 2) = 4.302652729911275
    assert.ok(Math.abs(g.delta - 21) < 1e-9 && Math.abs((g.hi! - g.lo!) / 2 - 4.302652729911275 / Math.sqrt(3)) < 1e-9 && g.judged === 'better' && g.n === 3);
    const v = clutterVerdict(records, { total: 20, missing: [{ row: 'α_min=0.8', seed: 0 }] });
    assert.match(v, /19 of 20 planned runs finished; missing: α_min=0.8 \(seed 0\)/);
    assert.match(v, /kNN 78.0 → 30.0, converged LP 79.5 → 17.0/);
    assert.match(v, /α_min=0.6, kNN: 51.0 ± 1.0 \(3 seeds\); vs standard \+10.0 \[\+10.0, \+10.0\] \(better, 3 seeds\); vs raw pixels \+21.0 \[\+18.5, \+23.5\] \(better, 3 seeds\); vs untrained encoder \+25.0 \[\+25.0, \+25.0\] \(better, 3 seeds\)/);
    assert.match(v, /\*\*kNN\*\*: best decayed row α_min=0.6 vs standard \+10.0 \[\+10.0, \+10.0\] \(better, 3 seeds\) — decayed shortcuts beat standard residuals here, as paper A reports; and it beats both baselines/);
    assert.match(v, /At lr ×2 each row has one seed: there the order is an observation, not a finding/);
    assert.match(v, /The order of the two rows CHANGES with the lr/);
    assert.equal(clutterTable(records).numRows(), 6);
  });
});

describe('mae-clutter: the lr search of issue 28 (lib/studies/mae-clutter/search.ts)', () => {
  test("standard and α_min = 0.6 at ×10 … ×50 of the rule, the official 8-block decoder with every skip, 1500 steps, one seed", async () => {
    const { LR_SEARCH, LR_SEARCH_SCALES, lrSearchRows } = await import('../../../lib/studies/mae-clutter');
    const { resolveConfig } = await import('../../../lib/runner/run');
    const { experiment } = await import('../../../lib/studies/mae-clutter');
    const c = resolveConfig(experiment, 'cpu', LR_SEARCH);
    const runs = experiment.runs(c);
    assert.equal(runs.length, 2 * LR_SEARCH_SCALES.length);
    for (const r of runs) {
      const m = (r.config as { model: { decoderDepth: number; skipLayout: string } }).model;
      assert.equal(m.decoderDepth, 8);
      assert.equal(m.skipLayout, 'paper');
    }
    assert.deepEqual([...new Set(runs.map((r) => (r.config as { lrScale: number }).lrScale))], [...LR_SEARCH_SCALES]);
    // paper's skips on the 4-block decoder of the earlier study: refused before any work
    assert.throws(() => resolveConfig(experiment, 'cpu', { model: { skipLayout: 'paper' } }), /decoderDepth 4 cannot take the 6 skips of a 12-block encoder/);
    const row = lrSearchRows([{ row: 'x', config: { lrScale: 10 }, metrics: { knn: 0.3, lpConverged: 0.4, peakLr: 7.5e-4 }, history: { loss: [0.66, 0.33] } }])[0];
    assert.deepEqual(row, { row: 'x', lrScale: 10, peakLr: 7.5e-4, firstLoss: 0.66, finalLoss: 0.33, drop: 0.5, knn: 30, lpConverged: 40, worstRise: 0.5, stable: true, vsSmallerLr: null });
  });

  test('the pick: the largest multiple at which both rows finished and trained stably (a spike or too small a drop disqualifies)', async () => {
    const { lrSearchPick, worstRise } = await import('../../../lib/studies/mae-clutter');
    assert.equal(worstRise([1, 0.8, 0.9, 0.7]), 0.9 / 0.8);
    assert.equal(worstRise([1, 0.8, null, 0.7]), Infinity, 'a non-finite loss is the worst rise');
    const rec = (row: string, lrScale: number, loss: number[]) => ({ row: `${row}, dec 8, lr ×${lrScale}`, config: { lrScale }, metrics: {}, history: { loss } });
    const good = [0.66, 0.6, 0.55, 0.5];
    const rs = [rec('standard', 10, good), rec('α_min=0.6', 10, good), rec('standard', 20, good), rec('α_min=0.6', 20, good), rec('standard', 50, good), rec('α_min=0.6', 50, [0.66, 0.5, 0.6, 0.5])];
    const p = lrSearchPick(rs);
    assert.equal(p.scale, 20);
    assert.match(p.why, /^×20 is the largest multiple .*; past that: ×50$/);
    // stable, but its loss ended higher than at the smaller lr: past the useful range (what α_min = 0.6 did at ×50)
    const worse = [rec('standard', 10, good), rec('α_min=0.6', 10, good), rec('standard', 20, good), rec('α_min=0.6', 20, [0.66, 0.6, 0.55, 0.51])];
    assert.equal(lrSearchPick(worse).scale, 10);
    assert.equal(lrSearchPick([rec('standard', 10, [0.66, 0.65, 0.64])]).scale, null);
    assert.equal(lrSearchPick([rec('standard', 10, [0.66, 0.65, 0.64]), rec('α_min=0.6', 10, [0.66, 0.65, 0.64])]).scale, null, 'a 3 % drop is not learning');
  });
});
