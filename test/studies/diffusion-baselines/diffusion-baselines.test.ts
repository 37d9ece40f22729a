import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { experiment, noisyPixels } from '../../../lib/studies/diffusion-baselines';
import { resolveConfig } from '../../../lib/runner/run';
import { BASELINE_ROWS } from '../../../lib/studies/shared/frozen-features';
import { loadFashionMnist } from '../../../lib/data';
import { DiT } from '../../../lib/models/dit';
import { experiment as diffusionFid } from '../../../lib/studies/diffusion-fid';
import type { RunContext } from '../../../lib/runner/types';
import { initTestEngine } from '../../residual/engine';

before(initTestEngine);

describe('diffusion-baselines', () => {
  test('cpu: pixels once, the untrained DiT at every seed of the study, with the study\'s feature protocol', () => {
    const specs = experiment.runs(resolveConfig(experiment, 'cpu'));
    assert.deepEqual(specs.map((s) => `${s.row}/${s.seed}`), [`${BASELINE_ROWS.pixels}/0`, ...[0, 1, 2].map((s) => `${BASELINE_ROWS.untrained}/${s}`)]);
    const c = specs[0].config as { featureT: number; featureTrain: number };
    assert.equal(c.featureT, 0.1);
    assert.equal(c.featureTrain, 2000);
    assert.throws(() => resolveConfig(experiment, 'cpu', { baselines: ['noise' as never] }), /unknown baselines\[0\] 'noise'; expected one of pixels, untrained/);
  });

  test('smoke runs: metrics in range, the noisy pixels are deterministic and in the model\'s scale, no leaked tensors', async () => {
    const test0 = loadFashionMnist('test');
    const a = noisyPixels(test0, 20, 0.1, 8);
    assert.deepEqual(a, noisyPixels(test0, 20, 0.1, 8));
    assert.equal(a.dim, 784);
    // A DiT leaves a few tensors behind after dispose() (lib/models/dit.ts, not this experiment): measure that first.
    const cfg = resolveConfig(diffusionFid, 'smoke');
    let t0 = tf.memory().numTensors;
    new DiT({ ...cfg.model, wiring: { kind: 'residual' }, longSkips: false, seed: 0 }, 'dit-leak').dispose();
    const ditLeak = tf.memory().numTensors - t0;
    const ctx = {} as RunContext;
    for (const spec of experiment.runs(resolveConfig(experiment, 'smoke', { base: 'smoke' }))) {
      t0 = tf.memory().numTensors;
      const r = await experiment.runOne(spec, ctx);
      for (const k of ['knn', 'lp', 'lpConverged', 'lpConvergedTrain']) assert.ok((r.metrics[k] as number) >= 0 && (r.metrics[k] as number) <= 1, `${spec.row} ${k}`);
      assert.equal(tf.memory().numTensors - t0, spec.row === BASELINE_ROWS.pixels ? 0 : ditLeak, `${spec.row}: no tensors leaked beyond the DiT's own`);
    }
  });
});
