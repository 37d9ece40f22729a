/**
 * Perplexity of a language model on held-out text: exp(mean next-token cross-entropy in nats), the metric of
 * paper B's C4 table (ANCRe, arXiv 2602.09009).
 *
 * Protocol: the held-out token stream is cut into non-overlapping windows of T+1 tokens starting at
 * 0, T, 2T, … (the same windows as lib/data SequenceSampler); each window predicts its last T tokens from
 * the ones before, inside the window only (no context carried across windows). `windows` picks that many
 * windows evenly spaced over the stream (all when null), so every model and every evaluation step scores
 * exactly the same tokens. The mean is over tokens, not over windows.
 *
 * Shape letters: B windows per batch, T sequence length, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, DataError, checkPositiveInt } from '../errors';

/**
 * Sum over all positions of −log softmax(logits)[target]. logits [B, T, V] (or [N, V]), targets [B, T]
 * (or [N]) int32 -> scalar. Call inside tf.tidy.
 *
 * Written with its analytic gradient, ∂/∂logits = softmax(logits) − onehot(target): the softmax is computed
 * once and reused, where tf.logSoftmax's autodiff evaluates exp over the [N, V] logits twice and multiplies
 * by a one-hot matrix — on the wasm engine that was ~30% of a small LM's training step.
 * The softmax is the engine's own kernel (XNNPACK's on wasm: ~7 ms for [1024, 4096] where the
 * wasm Exp kernel alone takes ~50 ms); log z comes from it too: the largest softmax entry is
 * exp(0)/z, so log p[target] = logit[target] − max − log z = logit[target] − max + log(max p),
 * with max p ≥ 1/V (no underflow).
 */
export function tokenCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  const V = logits.shape[logits.shape.length - 1];
  const N = logits.size / V;
  if (targets.size !== N) throw new ConfigError(`logits hold ${N} positions but targets ${targets.size}`);
  // The targets enter as an input of the custom op (tf.customGrad passes inputs as float32, exact for ids
  // below 2^24) and are saved for the backward pass: a closure would see them disposed by then.
  const t1 = targets.reshape([N]).toFloat(); // [N]
  const ce = tf.customGrad(((l: tf.Tensor, tIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const t = tf.cast(tIn, 'int32'); // [N]
    const l2 = l.reshape([N, V]); // [N, V]
    const m = tf.max(l2, -1); // [N]
    const p = tf.softmax(l2); // [N, V]
    const logZ = tf.neg(tf.log(tf.max(p, -1))); // [N]: max p = exp(0) / z
    const flat = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), t); // index of each target in p
    const lpT = tf.sub(tf.sub(tf.gather(l2.reshape([N * V]), flat), m), logZ); // log p[target] [N]
    save([p, t]);
    return {
      value: tf.neg(tf.sum(lpT)) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(tf.sub(saved[0], tf.oneHot(saved[1], V)), dy).reshape(l.shape), tf.zerosLike(tIn)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return ce(logits, t1) as tf.Scalar;
}

/** Start offsets of `count` windows of T+1 tokens spread evenly over `n` tokens (all windows when count is null). */
export function evalWindowStarts(n: number, T: number, count: number | null): number[] {
  checkPositiveInt('seqLen', T);
  const total = Math.floor((n - 1) / T);
  if (total < 1) throw new DataError(`the held-out text has ${n} tokens: too short for one window of ${T}+1`);
  const k = count === null ? total : Math.min(count, total);
  if (count !== null) checkPositiveInt('windows', count);
  return Array.from({ length: k }, (_, i) => Math.floor((i * total) / k) * T);
}

export interface PerplexityResult {
  /** Mean next-token cross-entropy in nats. */
  loss: number;
  /** exp(loss). */
  perplexity: number;
  /** Tokens scored. */
  tokens: number;
}

export interface PerplexityOptions {
  /** Sequence length T of each window. */
  seqLen: number;
  /** Windows scored, evenly spaced (null = all). */
  windows: number | null;
  /** Windows per forward pass. */
  batch: number;
}

/**
 * Perplexity of `logitsFn` (tokens [B, T] int32 -> logits [B, T, V]) on `tokens`. Batched; the sum of
 * cross-entropies is accumulated in float64 on the host, so the mean is exact up to float32 per-batch sums.
 */
export function perplexity(logitsFn: (tokens: tf.Tensor2D) => tf.Tensor, tokens: Int32Array, opts: PerplexityOptions): PerplexityResult {
  let sum = 0;
  let count = 0;
  for (const b of crossEntropyBatches(logitsFn, tokens, opts)) {
    sum += b.ce.dataSync()[0];
    count += b.tokens;
  }
  return perplexityOf(sum, count);
}

/** `perplexity` reading each batch's sum with await (every engine; webgpu cannot read synchronously). Same sums, same order. */
export async function perplexityAsync(logitsFn: (tokens: tf.Tensor2D) => tf.Tensor, tokens: Int32Array, opts: PerplexityOptions): Promise<PerplexityResult> {
  let sum = 0;
  let count = 0;
  for (const b of crossEntropyBatches(logitsFn, tokens, opts)) {
    sum += (await b.ce.data())[0];
    count += b.tokens;
  }
  return perplexityOf(sum, count);
}

function perplexityOf(sum: number, count: number): PerplexityResult {
  const loss = sum / count;
  return { loss, perplexity: Math.exp(loss), tokens: count };
}

/** The batches of windows: each batch's summed cross-entropy (a scalar, disposed when the next is asked for) and its token count. */
function* crossEntropyBatches(logitsFn: (tokens: tf.Tensor2D) => tf.Tensor, tokens: Int32Array, opts: PerplexityOptions): Generator<{ ce: tf.Tensor; tokens: number }> {
  const { starts, T, batch } = windowsOf(tokens, opts);
  for (let i = 0; i < starts.length; i += batch) {
    const ce = batchCrossEntropy(logitsFn, tokens, starts.slice(i, i + batch), T);
    try {
      yield { ce, tokens: Math.min(batch, starts.length - i) * T };
    } finally {
      ce.dispose();
    }
  }
}

function windowsOf(tokens: Int32Array, opts: PerplexityOptions): { starts: number[]; T: number; batch: number } {
  checkPositiveInt('batch', opts.batch);
  return { starts: Array.from(evalWindowStarts(tokens.length, opts.seqLen, opts.windows)), T: opts.seqLen, batch: opts.batch };
}

/** The summed cross-entropy of the windows starting at `group` (inputs [B, T], next tokens [B, T]). */
function batchCrossEntropy(logitsFn: (tokens: tf.Tensor2D) => tf.Tensor, tokens: Int32Array, group: number[], T: number): tf.Tensor {
  const B = group.length;
  const x = new Int32Array(B * T);
  const y = new Int32Array(B * T);
  group.forEach((s, b) => {
    x.set(tokens.subarray(s, s + T), b * T);
    y.set(tokens.subarray(s + 1, s + T + 1), b * T);
  });
  return tf.tidy(() => tokenCrossEntropy(logitsFn(tf.tensor2d(x, [B, T], 'int32')), tf.tensor2d(y, [B, T], 'int32')));
}

/**
 * Σ_n mask_n · (−log softmax(logits_n)[target_n]): the summed cross-entropy over the positions with mask 1
 * (padded positions of document rows carry mask 0 and no gradient). logits [..., V], targets and mask with
 * one entry per position -> scalar. Call inside tf.tidy.
 */
export function maskedTokenCrossEntropy(logits: tf.Tensor, targets: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  const V = logits.shape[logits.shape.length - 1];
  const N = logits.size / V;
  if (targets.size !== N || mask.size !== N) throw new ConfigError(`logits hold ${N} positions but targets ${targets.size} and mask ${mask.size}`);
  const t1 = targets.reshape([N]).toFloat(); // [N]
  const m1 = mask.reshape([N]).toFloat(); // [N]
  const ce = tf.customGrad(((l: tf.Tensor, tIn: tf.Tensor, mIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const t = tf.cast(tIn, 'int32'); // [N]
    const l2 = l.reshape([N, V]); // [N, V]
    const mx = tf.max(l2, -1, true); // [N, 1]
    const e = tf.exp(tf.sub(l2, mx)); // [N, V]
    const z = tf.sum(e, -1, true); // [N, 1]
    const p = tf.div(e, z); // softmax [N, V]
    const flat = tf.add(tf.mul(tf.range(0, N, 1, 'int32'), tf.scalar(V, 'int32')), t);
    const lpT = tf.sub(tf.sub(tf.gather(l2.reshape([N * V]), flat), mx.reshape([N])), tf.log(z.reshape([N]))); // [N]
    save([p, t, mIn]);
    return {
      value: tf.neg(tf.sum(tf.mul(lpT, mIn))) as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.mul(tf.mul(tf.sub(saved[0], tf.oneHot(saved[1], V)), saved[2].reshape([N, 1])), dy).reshape(l.shape),
        tf.zerosLike(tIn),
        tf.zerosLike(mIn),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return ce(logits, t1, m1) as tf.Scalar;
}
