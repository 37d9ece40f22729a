/**
 * k-nearest-neighbour accuracy on frozen features, the protocol of InstDisc (Wu et al., arXiv 1805.01978)
 * that paper A ("Residual Connections Harm Generative Representation Learning", arXiv 2404.10947) reports:
 *
 *   s_ij = cos(q_i, b_j)                              q: test features (queries), b: train features (bank)
 *   N_i  = the k bank items of largest s_ij           k = 20
 *   vote_i(c) = Σ_{j ∈ N_i, y_j = c} exp(s_ij / T)    T = 0.07
 *   ŷ_i = argmax_c vote_i(c)
 *
 * Queries run in batches so the [batch, N] similarity matrix stays small.
 * Shape letters: N bank size, M queries, D feature width, C classes, k neighbours.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, checkNumber, checkPositiveInt } from '../errors';

export interface KnnOptions {
  /** Neighbours k (capped at the bank size). Default 20. */
  k?: number;
  /** Temperature T of the vote weights exp(s / T). Default 0.07. */
  temperature?: number;
  /** Number of classes C; default 1 + the largest label. */
  classes?: number;
  /** Queries per batch. Default 512. */
  batch?: number;
}

export const KNN_DEFAULTS = { k: 20, temperature: 0.07, batch: 512 } as const;

/** A feature matrix: `n` rows of `dim` values, row-major. */
export interface Features {
  data: Float32Array;
  n: number;
  dim: number;
}

function checkFeatures(what: string, f: Features, labels: ArrayLike<number>): void {
  checkPositiveInt(`${what}.n`, f.n);
  checkPositiveInt(`${what}.dim`, f.dim);
  if (f.data.length !== f.n * f.dim) throw new ConfigError(`${what}: ${f.n}×${f.dim} features need ${f.n * f.dim} values; got ${f.data.length}`);
  if (labels.length !== f.n) throw new ConfigError(`${what}: ${f.n} feature rows but ${labels.length} labels`);
}

/** Predicted labels of the queries. // [M] */
export function knnPredict(bank: Features, bankLabels: ArrayLike<number>, queries: Features, opts: KnnOptions = {}): Int32Array {
  checkFeatures('bank', bank, bankLabels);
  if (queries.dim !== bank.dim) throw new ConfigError(`queries have width ${queries.dim} but the bank has ${bank.dim}`);
  if (queries.data.length !== queries.n * queries.dim) throw new ConfigError(`queries: ${queries.n}×${queries.dim} features need ${queries.n * queries.dim} values; got ${queries.data.length}`);
  const k = Math.min(checkPositiveInt('k', opts.k ?? KNN_DEFAULTS.k), bank.n);
  const T = checkNumber('temperature', opts.temperature ?? KNN_DEFAULTS.temperature, { lo: 0, loOpen: true });
  const batch = checkPositiveInt('batch', opts.batch ?? KNN_DEFAULTS.batch);
  let maxLabel = 0;
  for (let i = 0; i < bankLabels.length; i++) {
    const y = bankLabels[i];
    if (!Number.isInteger(y) || y < 0) throw new ConfigError(`labels must be integers >= 0; got ${y} at ${i}`);
    if (y > maxLabel) maxLabel = y;
  }
  const C = opts.classes ?? maxLabel + 1;
  if (maxLabel >= C) throw new ConfigError(`label ${maxLabel} is outside [0, ${C}) classes`);
  const unit = (x: tf.Tensor2D) => tf.div(x, tf.maximum(tf.norm(x, 2, 1, true), 1e-12)); // cosine: rows on the unit sphere
  // The bank transposed once: [D, N], so each batch is a plain (untransposed) matmul.
  const bankT = tf.tidy(() => unit(tf.tensor2d(bank.data, [bank.n, bank.dim])).transpose());
  const labels = tf.tensor1d(Int32Array.from(bankLabels), 'int32'); // [N]
  const out = new Int32Array(queries.n);
  try {
    for (let i = 0; i < queries.n; i += batch) {
      const m = Math.min(batch, queries.n - i);
      const pred = tf.tidy(() => {
        const q = unit(tf.tensor2d(queries.data.subarray(i * bank.dim, (i + m) * bank.dim), [m, bank.dim]));
        const sim = tf.matMul(q, bankT); // [m, N]
        const { values, indices } = tf.topk(sim, k); // [m, k]
        const w = tf.exp(tf.div(values, T)); // [m, k]
        const onehot = tf.oneHot(tf.gather(labels, indices.reshape([m * k])), C).reshape([m, k, C]); // [m, k, C]
        const votes = tf.sum(tf.mul(onehot, w.expandDims(-1)), 1); // [m, C]
        return tf.argMax(votes, 1);
      });
      out.set(pred.dataSync() as Int32Array, i);
      pred.dispose();
    }
  } finally {
    tf.dispose([bankT, labels]);
  }
  return out;
}

/** Fraction of queries whose kNN vote equals their label (in [0, 1]). */
export function knnAccuracy(
  bank: Features,
  bankLabels: ArrayLike<number>,
  queries: Features,
  queryLabels: ArrayLike<number>,
  opts: KnnOptions = {},
): number {
  checkFeatures('queries', queries, queryLabels);
  const pred = knnPredict(bank, bankLabels, queries, opts);
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === queryLabels[i]) hit++;
  return hit / pred.length;
}
