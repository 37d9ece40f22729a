import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { experiment, depthRows, depthVerdict, baselineDepthCheck, depthGapClosed, FASHION_STUDY, type ResnetDepthConfig } from '../../../lib/studies/resnet-depth';
import { Teacher, teacherInputs } from '../../../lib/data/teacher';
import { mergeChecked } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';
import type { RunContext } from '../../../lib/runner/types';
import type { RunRecord } from '../../../lib/runner/store/runs';
import { initTestEngine } from '../../residual/engine';

before(initTestEngine);

const preset = (p: 'smoke' | 'cpu' | 'paper'): ResnetDepthConfig => mergeChecked(experiment.defaults, experiment.presets[p], p);
/** The smoke preset on the Fashion-MNIST path (the first study's task). */
const fashionSmoke = (): ResnetDepthConfig => mergeChecked(preset('smoke'), { task: 'fashion-mnist' }, 'fashion smoke');

function ctx(): RunContext {
  return { preset: 'smoke', runId: 'test', checkpointDir: fs.mkdtempSync(path.join(os.tmpdir(), 'rd-')), progress: () => {}, log: () => {} };
}

function rec(wiring: string, blocks: number, seed: number, acc: number, ms = blocks): RunRecord {
  return {
    experiment: 'resnet-depth', preset: 'cpu', runId: `${wiring}${blocks}${seed}`, row: `${wiring} · ${blocks} blocks`, seed, config: {},
    metrics: { wiring, blocks, layers: blocks, testAccuracy: acc, finalLoss: 0.3, params: 1000 * blocks, msPerStep: ms, cpuMsPerStep: ms / 2 },
    wallTimeSec: 1, engine: null, commit: null, host: 'h', finishedAt: '2026-01-01T00:00:00Z',
  };
}

describe('resnet-depth experiment', () => {
  test('every preset validates; rows = wiring × depth, seed-major', () => {
    for (const p of ['smoke', 'cpu', 'paper'] as const) {
      const c = preset(p);
      experiment.validate(c);
      const specs = experiment.runs(c);
      const perSeed = c.sweep.reduce((n, e) => n + (e.blocks ?? e.layers!).length, 0);
      assert.equal(specs.length, perSeed * c.seeds.length);
      assert.deepEqual(specs.slice(0, perSeed).map((s) => s.seed), new Array(perSeed).fill(c.seeds[0]));
    }
    // cpu: the official block shape (blocks of 4 layers) at width 32 (from the depth search) on the teacher task; ANCRe at 16 layers = 4 routed blocks.
    const cpu = experiment.runs(preset('cpu'));
    assert.deepEqual(cpu.filter((s) => s.seed === 0).map((s) => s.row), [
      'residual · 16 layers', 'residual · 32 layers', 'residual · 64 layers', 'ancre τ=0.01 · 16 layers', 'ancre τ=0.1 · 16 layers',
    ]);
    assert.equal(cpu.length, 15);
    const a = cpu.find((s) => s.row === 'ancre τ=0.01 · 16 layers')!.config as { blocks: number; layersPerBlock: number; width: number; task: string };
    assert.deepEqual([a.blocks, a.layersPerBlock, a.width, a.task], [4, 4, 32, 'teacher']);
    // The Fashion-MNIST study: its run configs carry no task field (the first records keep their run ids).
    const f = experiment.runs(mergeChecked(preset('cpu'), FASHION_STUDY, 'fashion'));
    assert.ok(f.map((s) => s.row).includes('ancre τ=0.01 · 16 blocks') && f.every((s) => !('task' in s.config)));
  });

  test('teacher: deterministic in its seed, standardised outputs, not a linear function of the inputs', () => {
    const cfg = { inputs: 8, width: 32, depth: 8, gain: 1.5, outputs: 3, seed: 7 };
    const n0 = tf.memory().numTensors;
    const t = new Teacher(cfg);
    const x = teacherInputs(8, 2000, 99);
    const y = t.targets(x);
    assert.equal(tf.memory().numTensors, n0, 'the teacher leaks tensors');
    // Same seed, same function (up to float rounding of a different batch size in the matmuls).
    const again = new Teacher(cfg).targets(x.subarray(0, 80));
    assert.ok(again.every((v, i) => Math.abs(v - y[i]) < 1e-5), 'a teacher rebuilt from its seed computes the same targets');
    assert.notDeepEqual(Array.from(new Teacher({ ...cfg, seed: 8 }).targets(x.subarray(0, 80))), Array.from(y.subarray(0, 30)));
    for (let j = 0; j < 3; j++) {
      const v = Array.from({ length: 2000 }, (_, i) => y[3 * i + j]);
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
      assert.ok(Math.abs(m) < 0.1 && Math.abs(sd - 1) < 0.1, `output ${j}: mean ${m}, std ${sd}`);
    }
    // Least-squares fit of output 0 on [x, 1]: a linear model leaves much of the variance unexplained.
    const X = tf.concat([tf.tensor2d(x, [2000, 8]), tf.ones([2000, 1])], 1);
    const Y = tf.tensor2d(Array.from({ length: 2000 }, (_, i) => y[3 * i]), [2000, 1]);
    const gram = tf.matMul(X, X, true, false); // [9, 9]
    const inv = tf.tensor2d(invert(gram.arraySync() as number[][]));
    const w = tf.matMul(inv, tf.matMul(X, Y, true, false)); // [9, 1]
    const resid = tf.mean(tf.square(tf.sub(Y, tf.matMul(X, w)))).dataSync()[0];
    tf.dispose([X, Y, gram, inv, w]);
    assert.ok(resid > 0.2, `linear residual variance ${resid} should be large`);
    assert.throws(() => new Teacher({ ...cfg, gain: 0 }), (e: unknown) => e instanceof ConfigError && /teacher\.gain must be .*got 0/.test((e as Error).message));
  });

  test('teacher smoke: the regression run learns (test MSE below the target variance) and records its curve', async () => {
    const c = mergeChecked(preset('smoke'), { testExamples: 512, batch: 64, train: { schedule: { lr: 3e-3 } } }, 'teacher smoke');
    assert.equal(c.task, 'teacher');
    experiment.validate(c);
    const spec = experiment.runs(c).find((s) => s.row.startsWith('residual'))!;
    const n0 = tf.memory().numTensors;
    const r = await experiment.runOne(spec, ctx());
    assert.equal(tf.memory().numTensors, n0, 'runOne leaks tensors');
    const mse = r.metrics.testMse as number;
    assert.ok(mse < 0.8, `test MSE ${mse} should be well below 1 (the standardised target variance)`);
    assert.equal(r.history!.testMse[r.history!.testMse.length - 1], mse);
    assert.equal(r.metrics.task, 'teacher');
  });

  test('bad configs are rejected with the value', () => {
    const c = preset('smoke');
    const bad = (over: Partial<ResnetDepthConfig>, re: RegExp) =>
      assert.throws(() => experiment.validate({ ...c, ...over }), (e: unknown) => e instanceof ConfigError && re.test(e.message));
    bad({ sweep: [{ wiring: { kind: 'residual' }, blocks: [4, 0] }] }, /sweep\[0\]\.blocks\[1\] \(depth in blocks\) must be .*got 0/);
    bad({ sweep: [{ wiring: { kind: 'decay' as never }, blocks: [4] }] }, /unknown wiring 'decay'; expected one of residual/);
    bad({ sweep: [] }, /sweep must be a non-empty list/);
    bad({ width: 0 }, /width .*got 0/);
    bad({ layersPerBlock: 0 }, /layersPerBlock must be .*got 0/);
    bad({ seeds: [] }, /seeds must be a non-empty list/);
    bad({ layersPerBlock: 4, sweep: [{ wiring: { kind: 'residual' }, layers: [16, 18] }] }, /sweep\[0\]\.layers\[1\] = 18 is not a multiple of layersPerBlock 4: the block size must divide the depth/);
    bad({ sweep: [{ wiring: { kind: 'residual' }, layers: [4], blocks: [1] }] }, /exactly one of blocks .* or layers/);
    bad({ task: 'cifar' as never }, /unknown task 'cifar'; expected one of teacher, fashion-mnist/);
    bad({ task: 'teacher', teacher: { inputs: 16, width: 64, depth: 0, gain: 1.5, outputs: 4, seed: 1 } }, /teacher\.depth must be .*got 0/);
    assert.throws(() => mergeChecked(c, { depth: 3 }, 'overrides'), /depth/);
  });

  test('smoke runOne trains an ANCRe net above chance and returns its routing matrix', async () => {
    const c = fashionSmoke();
    const spec = experiment.runs(c).find((s) => s.row.startsWith('ancre'))!;
    const n0 = tf.memory().numTensors;
    const r = await experiment.runOne(spec, ctx());
    assert.equal(tf.memory().numTensors, n0, 'runOne leaks tensors');
    const acc = r.metrics.testAccuracy as number;
    assert.ok(acc > 0.5, `test accuracy ${acc} should be well above chance (0.1)`);
    const p = r.extra!.routing as number[][];
    assert.equal(p.length, 2);
    assert.equal(p[0][0], 1);
    assert.ok(Math.abs(p[1][0] + p[1][1] - 1) < 1e-5, `row 1 sums to 1: ${p[1]}`);
    for (const k of ['finalLoss', 'params', 'msPerStep', 'trainSeconds']) assert.ok(typeof r.metrics[k] === 'number' && Number.isFinite(r.metrics[k] as number), k);
  });

  test('an interrupted ANCRe run resumes from its checkpoint to exactly the uninterrupted result', async () => {
    const c = fashionSmoke();
    const base = experiment.runs(c).find((s) => s.row.startsWith('ancre'))!;
    const spec = { ...base, config: { ...base.config, train: { ...c.train, steps: 40, logEvery: 10, checkpointEvery: 20 } } } as unknown as typeof base;
    const ref = await experiment.runOne(spec, ctx());
    const dir = ctx();
    let calls = 0;
    const stopAt30 = { ...dir, progress: (done: number) => { calls++; if (done === 30) throw new Error('simulated kill at step 30'); } };
    await assert.rejects(experiment.runOne(spec, stopAt30), /simulated kill/);
    assert.equal(calls, 30);
    // It must resume (from the step-20 checkpoint), not start over: 20 steps left, not 40.
    let steps = 0;
    const resumed = await experiment.runOne(spec, { ...dir, progress: () => void steps++ });
    assert.equal(steps, 20);
    for (const k of ['testAccuracy', 'trainAccuracy', 'finalLoss', 'params']) assert.equal(resumed.metrics[k], ref.metrics[k], k);
    assert.deepEqual(resumed.extra!.routing, ref.extra!.routing);
    assert.deepEqual(resumed.history, ref.history);
  });

  test('depth table and verdict from records', () => {
    const records = [
      rec('ancre τ=0.01', 16, 0, 0.88), rec('ancre τ=0.01', 16, 1, 0.86),
      rec('residual', 64, 0, 0.90), rec('residual', 64, 1, 0.90),
      rec('residual', 4, 0, 0.80),
    ];
    const rows = depthRows(records);
    assert.deepEqual(rows.map((r) => `${r.wiring}/${r.blocks}`), ['ancre τ=0.01/16', 'residual/4', 'residual/64']);
    const a = rows[0];
    assert.ok(Math.abs(a.accMean - 0.87) < 1e-12 && Math.abs(a.accStd! - Math.SQRT2 * 0.01) < 1e-12);
    assert.equal(rows[1].accStd, null);
    const v = depthVerdict(rows, 16, 64)!;
    assert.equal(v.matches, false);
    // paired by seed: −0.02, −0.04 → −3.00 ± 12.706·1.414/√2 points → [−15.71, +9.71]: no detectable difference at 2 seeds
    assert.equal(v.word, 'no detectable difference');
    assert.match(v.text, /^No detectable difference: ancre τ=0\.01 with 16 blocks reaches test accuracy 87\.00% ± 1\.41, residual with 64 blocks 90\.00% ± 0\.00 \(paired by seed −3\.00, 95 % CI \[−15\.71, \+9\.71\], no detectable difference; 2 seeds detect [\d.]+ points or more\)/);
    const yes = depthVerdict(depthRows([rec('ancre τ=0.01', 16, 0, 0.91), rec('residual', 64, 0, 0.90)]), 16, 64)!;
    assert.equal(yes.matches, true);
    assert.match(yes.text, /^Not decided \(one seed\), ahead on the mean: .*\(one seed: no interval\)/);
    assert.equal(depthVerdict(rows, 8, 64), null);
    assert.match(baselineDepthCheck(rows)!.text, /^No, the residual baseline does not gain from depth in test accuracy by a difference these seeds can detect: 4 → 64 layers: 80\.00% → 90\.00% \(one seed: no interval\)/);
    assert.equal(depthVerdict(rows, 16, 64, 'ancre τ=0.1'), null);
    // issue 30, 8: gains at some steps but not end to end are said so, not opened with "No"
    const three = depthRows([0, 1, 2].flatMap((s) => [rec('residual', 4, s, 0.80 + 0.001 * s), rec('residual', 8, s, 0.85 + 0.002 * s), rec('residual', 16, s, [0.70, 0.95, 0.83][s])]));
    assert.match(baselineDepthCheck(three)!.text, /^The residual baseline gains from depth in test accuracy at 1 of 2 steps, but not from the shallowest to the deepest by a difference these seeds can detect: 4 → 8 layers/);
  });
});

/** Gauss–Jordan inverse of a small matrix (the least-squares check above). */
function invert(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const d = m[c][c];
    for (let j = 0; j < 2 * n; j++) m[c][j] /= d;
    for (let r = 0; r < n; r++) if (r !== c) { const f = m[r][c]; for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[c][j]; }
  }
  return m.map((row) => row.slice(n));
}

describe('resnet-depth on the teacher task: tables and verdicts from MSE records', () => {
  const mrec = (wiring: string, blocks: number, seed: number, mse: number): RunRecord => ({
    ...rec(wiring, blocks, seed, NaN), metrics: { task: 'teacher', wiring, blocks, layers: 4 * blocks, testMse: mse, finalLoss: mse, params: 1000 * blocks, msPerStep: blocks, cpuMsPerStep: null },
  });
  test('baseline depth check and the ANCRe-at-16 vs residual-at-64 verdict (lower MSE is better)', () => {
    const rows = depthRows([
      mrec('residual', 4, 0, 0.50), mrec('residual', 4, 1, 0.52), mrec('residual', 8, 0, 0.40), mrec('residual', 8, 1, 0.41),
      mrec('residual', 16, 0, 0.30), mrec('residual', 16, 1, 0.32), mrec('ancre τ=0.01', 4, 0, 0.29), mrec('ancre τ=0.01', 4, 1, 0.31),
    ]);
    const c = baselineDepthCheck(rows)!;
    assert.equal(c.gains, true);
    // 16 → 32: −0.10, −0.11 → −0.105 ± 12.706·0.00707/√2 → [−0.169, −0.0415]; 32 → 64: −0.10, −0.09 → [−0.159, −0.0315]
    assert.match(c.text, /^Yes, the residual baseline gains from depth in test MSE at every step: 16 → 32 layers: 0\.510 → 0\.405 \(paired by seed −0\.105, 95 % CI \[−0\.169, −0\.0415\], better; 2 seeds detect [\d.]+ or more\); 32 → 64 layers: 0\.405 → 0\.310 \(paired by seed −0\.0950, 95 % CI \[−0\.159, −0\.0315\], better/);
    const v = depthVerdict(rows, 4, 16)!;
    assert.equal(v.matches, true);
    // −0.01 at both seeds: a point interval, 'better' (lower MSE)
    assert.match(v.text, /^Yes, it beats it: ancre τ=0\.01 with 16 layers reaches test MSE 0\.300 ± 0\.0141, residual with 64 layers 0\.310 ± 0\.0141 \(paired by seed −0\.0100, 95 % CI \[−0\.0100, −0\.0100\], better\), with 4\.0× fewer parameters/);
    const g = depthGapClosed(rows, 'ancre τ=0.01', 16, 64)!;
    assert.ok(Math.abs(g.fraction - 1.05) < 1e-9, String(g.fraction)); // (0.51 − 0.30) / (0.51 − 0.31)
    assert.match(g.text, /^ancre τ=0\.01 at 16 layers recovers 105 % of the gain the residual network makes from 16 to 64 layers/);
    assert.equal(depthGapClosed(rows, 'ancre τ=0.1', 16, 64), null);
    assert.equal(c.endGains, true);
    assert.match(c.text, /From the shallowest to the deepest \(16 → 64 layers\): 0\.510 → 0\.310 \(paired by seed −0\.200, 95 % CI \[−0\.200, −0\.200\], better\)\.$/);
  });

  test('a depth gain that saturates: 16 → 64 detected while 32 → 64 is not (gains false, endGains true)', () => {
    const rows = depthRows([
      mrec('residual', 4, 0, 0.064), mrec('residual', 4, 1, 0.062), mrec('residual', 8, 0, 0.057), mrec('residual', 8, 1, 0.056),
      mrec('residual', 16, 0, 0.057), mrec('residual', 16, 1, 0.0545),
    ]);
    const c = baselineDepthCheck(rows)!;
    assert.equal(c.gains, false);
    assert.equal(c.endGains, true);
    // 32 → 64: 0, −0.0015 → −0.00075, CI contains 0; 16 → 64: −0.007, −0.0075 → detected
    assert.match(c.text, /32 → 64 layers: 0\.0565 → 0\.055\d \(paired by seed −0\.000750, 95 % CI \[[^\]]*\], no detectable difference/);
    // No depth gain at all: neither flag.
    const flat = baselineDepthCheck(depthRows([mrec('residual', 4, 0, 0.5), mrec('residual', 4, 1, 0.52), mrec('residual', 16, 0, 0.51), mrec('residual', 16, 1, 0.5)]))!;
    assert.equal(flat.gains, false);
    assert.equal(flat.endGains, false);
  });
});

describe('resnet-depth: the depth search (lib/studies/resnet-depth/search.ts)', () => {
  test('every pilot resolves to a valid config of residual at 16 and 64 layers, with run ids of its own', async () => {
    const { DEPTH_PILOTS } = await import('../../../lib/studies/resnet-depth/search');
    const { resolveConfig } = await import('../../../lib/runner/run');
    const { runIdOf } = await import('../../../lib/runner/execute');
    const ids = new Set<string>();
    for (const p of DEPTH_PILOTS) {
      const c = resolveConfig(experiment, 'cpu', p.overrides);
      assert.equal(c.task, 'teacher', p.name);
      const specs = experiment.runs(c);
      assert.deepEqual([...new Set(specs.map((s) => s.row))], ['residual · 16 layers', 'residual · 64 layers'], p.name);
      for (const s of specs) ids.add(runIdOf(experiment.name, s));
    }
    assert.equal(ids.size, DEPTH_PILOTS.reduce((n, p) => n + 2 * (p.overrides.seeds?.length ?? 1), 0), 'no two pilots share a run');
  });

  test('depthPilotRows: MSE at 16 and 64 layers and the relative change from the records, nulls where runs are missing', async () => {
    const { depthPilotRows, DEPTH_PILOTS } = await import('../../../lib/studies/resnet-depth/search');
    const { resolveConfig } = await import('../../../lib/runner/run');
    const { runIdOf } = await import('../../../lib/runner/execute');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rd-search-'));
    const old = process.env.REPRO_RESULTS;
    process.env.REPRO_RESULTS = dir;
    try {
      const p = DEPTH_PILOTS[0];
      const specs = experiment.runs(resolveConfig(experiment, 'cpu', p.overrides));
      const out = path.join(dir, 'resnet-depth', 'cpu');
      fs.mkdirSync(out, { recursive: true });
      const lines = specs.map((s, i) => {
        const layers = i === 0 ? 16 : 64;
        const r = rec('residual', layers / 4, s.seed, NaN);
        return JSON.stringify({ ...r, runId: runIdOf(experiment.name, s), row: s.row, config: s.config, metrics: { ...r.metrics, layers, testMse: i === 0 ? 0.5 : 0.4 } });
      });
      fs.writeFileSync(path.join(out, 'runs.jsonl'), lines.join('\n') + '\n');
      const rows = depthPilotRows('cpu', DEPTH_PILOTS.slice(0, 2));
      assert.equal(rows[0].finished, 2);
      assert.equal(rows[0].mse16, 0.5);
      assert.equal(rows[0].mse64, 0.4);
      assert.ok(Math.abs(rows[0].change! - -0.2) < 1e-12);
      assert.equal(rows[0].samples, 600 * 128);
      assert.equal(rows[1].finished, 0);
      assert.equal(rows[1].mse16, null);
      assert.equal(rows[1].change, null);
    } finally {
      if (old === undefined) delete process.env.REPRO_RESULTS;
      else process.env.REPRO_RESULTS = old;
    }
  });
});
