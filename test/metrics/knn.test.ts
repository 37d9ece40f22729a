import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { knnAccuracy, knnPredict } from '../../lib/metrics/knn';
import { Rng } from '../../lib/data';
import { initTestEngine } from '../residual/engine';

before(initTestEngine);

/** n points per class around well-separated centres (class c at 10·e_c) with small noise. */
function clusters(nPerClass: number, classes: number, dim: number, seed: number): { data: Float32Array; labels: Int32Array; n: number } {
  const rng = new Rng(seed);
  const n = nPerClass * classes;
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let j = 0; j < dim; j++) data[i * dim + j] = (j === c ? 10 : 0) + 0.5 * (rng.uniform() - 0.5);
  }
  return { data, labels, n };
}

describe('kNN (cosine, k = 20, T = 0.07)', () => {
  test('separable clusters give 100%, in any batch size, without leaking tensors', () => {
    const tr = clusters(30, 4, 6, 1);
    const te = clusters(10, 4, 6, 2);
    const before = tf.memory().numTensors;
    const acc = knnAccuracy({ data: tr.data, n: tr.n, dim: 6 }, tr.labels, { data: te.data, n: te.n, dim: 6 }, te.labels);
    assert.equal(acc, 1);
    const p1 = knnPredict({ data: tr.data, n: tr.n, dim: 6 }, tr.labels, { data: te.data, n: te.n, dim: 6 }, { batch: 7 });
    assert.deepEqual(Array.from(p1), Array.from(te.labels));
    assert.equal(tf.memory().numTensors, before);
  });

  test('votes are temperature-weighted, not a majority: one close neighbour outvotes two far ones', () => {
    // Query along e0. Bank: class 0 at cos 1; class 1 twice at cos 0.5. exp(1/0.07) > 2·exp(0.5/0.07).
    const s = Math.sqrt(3) / 2;
    const bank = { data: Float32Array.from([1, 0, 0.5, s, 0.5, -s]), n: 3, dim: 2 };
    const q = { data: Float32Array.from([1, 0]), n: 1, dim: 2 };
    assert.deepEqual(Array.from(knnPredict(bank, [0, 1, 1], q, { k: 3 })), [0]);
    // At a high temperature the weights are nearly equal and the majority wins.
    assert.deepEqual(Array.from(knnPredict(bank, [0, 1, 1], q, { k: 3, temperature: 100 })), [1]);
    // Cosine ignores the scale of the features.
    const scaled = { data: bank.data.map((v) => v * 1000), n: 3, dim: 2 };
    assert.deepEqual(Array.from(knnPredict(scaled, [0, 1, 1], q, { k: 3 })), [0]);
  });

  test('k = 1 is the nearest neighbour; k larger than the bank is capped', () => {
    const bank = { data: Float32Array.from([1, 0, 0, 1]), n: 2, dim: 2 };
    const q = { data: Float32Array.from([0.9, 0.1, 0.1, 0.9]), n: 2, dim: 2 };
    assert.deepEqual(Array.from(knnPredict(bank, [3, 5], q, { k: 1 })), [3, 5]);
    assert.deepEqual(Array.from(knnPredict(bank, [3, 5], q, { k: 50 })), [3, 5]);
  });

  test('bad inputs name the problem', () => {
    const bank = { data: new Float32Array(6), n: 3, dim: 2 };
    assert.throws(() => knnPredict(bank, [0, 1], { data: new Float32Array(2), n: 1, dim: 2 }), /3 feature rows but 2 labels/);
    assert.throws(() => knnPredict(bank, [0, 1, 1], { data: new Float32Array(3), n: 1, dim: 3 }), /width 3 but the bank has 2/);
    assert.throws(() => knnPredict(bank, [0, 1, 1], { data: new Float32Array(2), n: 1, dim: 2 }, { k: 0 }), /k/);
    assert.throws(() => knnPredict(bank, [0, -1, 1], { data: new Float32Array(2), n: 1, dim: 2 }), /labels must be integers >= 0; got -1/);
  });
});
