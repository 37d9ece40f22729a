import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { linearProbe } from '../../lib/metrics/probe';
import { Rng } from '../../lib/data';
import { initTestEngine } from '../residual/engine';

before(initTestEngine);

function blobs(n: number, dim: number, seed: number, scale = 1) {
  const rng = new Rng(seed);
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    // Classes differ along dims 0 and 1 only; the rest is noise at a very different scale.
    for (let j = 0; j < dim; j++) data[i * dim + j] = scale * ((j === 0 ? 4 * (c - 1) : j === 1 ? 3 * (c === 1 ? 1 : -1) : 0) + (rng.uniform() - 0.5) * (j < 2 ? 1 : 50));
  }
  return { data, labels, n, dim };
}

describe('linear probe (standardised features, full-batch Adam)', () => {
  test('linearly separable classes: 100% test accuracy, whatever the feature scale; no leaked tensors', () => {
    for (const scale of [1e-3, 1e3]) {
      const tr = blobs(150, 5, 1, scale);
      const te = blobs(60, 5, 2, scale);
      const before = tf.memory().numTensors;
      const r = linearProbe(tr, tr.labels, te, te.labels, { epochs: 200, lr: 0.05 });
      assert.equal(r.testAccuracy, 1, `scale ${scale}`);
      assert.equal(r.trainAccuracy, 1);
      assert.ok(r.trainLoss < 0.2, `loss ${r.trainLoss}`);
      assert.equal(tf.memory().numTensors, before);
    }
  });

  test('random labels: chance on held-out data', () => {
    const tr = blobs(300, 8, 3);
    const te = blobs(300, 8, 4);
    const rng = new Rng(9);
    const shuffled = Int32Array.from(te.labels, () => Math.floor(rng.uniform() * 3));
    const r = linearProbe(tr, tr.labels.map(() => Math.floor(rng.uniform() * 3)), te, shuffled, { epochs: 100 });
    assert.ok(r.testAccuracy > 0.2 && r.testAccuracy < 0.47, `accuracy ${r.testAccuracy}`);
  });

  test('deterministic, and bad settings are rejected with the value', () => {
    const tr = blobs(60, 4, 5);
    const a = linearProbe(tr, tr.labels, tr, tr.labels, { epochs: 20 });
    const b = linearProbe(tr, tr.labels, tr, tr.labels, { epochs: 20 });
    assert.deepEqual(a, b);
    assert.throws(() => linearProbe(tr, tr.labels, tr, tr.labels, { epochs: 0 }), /probe.epochs/);
    assert.throws(() => linearProbe(tr, tr.labels, tr, tr.labels, { lr: -1 }), /probe.lr/);
    assert.throws(() => linearProbe(tr, tr.labels.subarray(1), tr, tr.labels), /60 feature rows but 59 labels/);
  });
});
