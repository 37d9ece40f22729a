import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { experiment, depthRows, depthVerdict, type ResnetDepthConfig } from '../../lib/experiments/resnet-depth';
import { mergeChecked } from '../../lib/config';
import { ConfigError } from '../../lib/errors';
import type { RunContext } from '../../lib/experiments/types';
import type { RunRecord } from '../../lib/report/runs';
import { initTestEngine } from '../residual/engine';

before(initTestEngine);

const preset = (p: 'smoke' | 'cpu' | 'paper'): ResnetDepthConfig => mergeChecked(experiment.defaults, experiment.presets[p], p);

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
    const cpu = experiment.runs(preset('cpu')).map((s) => s.row);
    assert.ok(cpu.includes('ancre τ=0.01 · 16 blocks') && cpu.includes('residual · 64 blocks'), cpu.join(', '));
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
    assert.throws(() => mergeChecked(c, { depth: 3 }, 'overrides'), /depth/);
  });

  test('smoke runOne trains an ANCRe net above chance and returns its routing matrix', async () => {
    const c = preset('smoke');
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
    const c = preset('smoke');
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
    assert.match(v.text, /^No: ancre τ=0\.01 with 16 blocks reaches 87\.00% ± 1\.41 .* residual with 64 blocks 90\.00% ± 0\.00 \(difference -3\.00 points, outside/);
    const yes = depthVerdict(depthRows([rec('ancre τ=0.01', 16, 0, 0.91), rec('residual', 64, 0, 0.90)]), 16, 64)!;
    assert.equal(yes.matches, true);
    assert.match(yes.text, /^Yes/);
    assert.equal(depthVerdict(rows, 8, 64), null);
    assert.equal(depthVerdict(rows, 16, 64, 'ancre τ=0.1'), null);
  });
});
