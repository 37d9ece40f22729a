/**
 * Linear probe on frozen features (paper A, arXiv 2404.10947, reports it beside kNN): features are
 * standardised with the TRAIN set's per-dimension mean and std, then a linear classifier
 * softmax(x W + b) is trained on the whole train set at once (full batch) with Adam for a fixed number
 * of epochs and a fixed learning rate, a small L2 penalty on W, and evaluated on the test set.
 *
 * Why full batch with Adam: the feature sets here are a few thousand rows of ≤ 1k dims, so one step is
 * one small matmul; a fixed, deterministic recipe (no minibatch noise, W and b start at 0) makes the probe a
 * function of the features alone. The official code uses AdamW lr 1e-2, 200 epochs, batch 256 on raw
 * features; standardising makes one lr suit every wiring, whose feature scales differ by orders of magnitude.
 *
 * Shape letters: N train rows, M test rows, D feature width, C classes.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, checkNumber, checkPositiveInt } from '../errors';
import type { Features } from './knn';

export interface ProbeConfig {
  /** Full-batch Adam steps. */
  epochs: number;
  /** Adam learning rate. */
  lr: number;
  /** L2 penalty λ·‖W‖² added to the cross-entropy. */
  l2: number;
}

export const PROBE_DEFAULTS: ProbeConfig = { epochs: 300, lr: 0.01, l2: 1e-4 };

export function validateProbe(c: ProbeConfig, where = 'probe'): void {
  checkPositiveInt(`${where}.epochs`, c.epochs);
  checkNumber(`${where}.lr`, c.lr, { lo: 0, loOpen: true });
  checkNumber(`${where}.l2`, c.l2, { lo: 0 });
}

export interface ProbeResult {
  /** Test accuracy in [0, 1]. */
  testAccuracy: number;
  /** Train accuracy in [0, 1]. */
  trainAccuracy: number;
  /** Final train cross-entropy. */
  trainLoss: number;
}

function check(what: string, f: Features, labels: ArrayLike<number>): void {
  if (f.data.length !== f.n * f.dim) throw new ConfigError(`${what}: ${f.n}×${f.dim} features need ${f.n * f.dim} values; got ${f.data.length}`);
  if (labels.length !== f.n) throw new ConfigError(`${what}: ${f.n} feature rows but ${labels.length} labels`);
}

export function linearProbe(
  train: Features,
  trainLabels: ArrayLike<number>,
  test: Features,
  testLabels: ArrayLike<number>,
  config: Partial<ProbeConfig> & { classes?: number } = {},
): ProbeResult {
  const c = { ...PROBE_DEFAULTS, ...config };
  validateProbe(c);
  check('train', train, trainLabels);
  check('test', test, testLabels);
  if (train.dim !== test.dim) throw new ConfigError(`train features have width ${train.dim} but test features ${test.dim}`);
  const C = config.classes ?? Math.max(...Array.from(trainLabels), ...Array.from(testLabels)) + 1;
  const D = train.dim;
  const W = tf.tidy(() => tf.variable(tf.zeros([D, C]), true)); // [D, C] (in tidy: a variable keeps its init tensor otherwise)
  const b = tf.tidy(() => tf.variable(tf.zeros([C]), true)); // [C]
  const opt = tf.train.adam(c.lr);
  const [xTr, xTe, yTr, yTrIdx, yTe] = tf.tidy(() => {
    const a = tf.tensor2d(train.data, [train.n, D]);
    const { mean, variance } = tf.moments(a, 0); // [D] each: train statistics only
    const std = tf.add(tf.sqrt(variance), 1e-6);
    const z = (x: tf.Tensor) => tf.div(tf.sub(x, mean), std);
    return [
      z(a) as tf.Tensor2D,
      z(tf.tensor2d(test.data, [test.n, D])) as tf.Tensor2D,
      tf.oneHot(tf.tensor1d(Int32Array.from(trainLabels), 'int32'), C) as tf.Tensor2D,
      tf.tensor1d(Int32Array.from(trainLabels), 'int32'),
      tf.tensor1d(Int32Array.from(testLabels), 'int32'),
    ];
  });
  const lossFn = () =>
    tf.tidy(() => tf.add(tf.losses.softmaxCrossEntropy(yTr, tf.add(tf.matMul(xTr, W), b)), tf.mul(c.l2, tf.sum(tf.square(W)))) as tf.Scalar);
  try {
    for (let e = 0; e < c.epochs; e++) {
      const l = opt.minimize(lossFn, false, [W, b]);
      l?.dispose();
    }
    const acc = (x: tf.Tensor2D, y: tf.Tensor) =>
      tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(tf.add(tf.matMul(x, W), b), 1), y), 'float32')).dataSync()[0]);
    const trainLoss = tf.tidy(() => lossFn().dataSync()[0]);
    return { testAccuracy: acc(xTe, yTe), trainAccuracy: acc(xTr, yTrIdx), trainLoss };
  } finally {
    opt.dispose();
    tf.dispose([W, b, xTr, xTe, yTr, yTrIdx, yTe]);
  }
}
