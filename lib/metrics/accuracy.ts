/** Top-1 classification accuracy of a logits function over a whole set, evaluated in batches. */
import * as tf from '@tensorflow/tfjs';

/**
 * `logits`: [m, P] -> [m, C]; `images`: [N·P] row-major; `labels`: [N].
 * Runs in batches of `batch` inside tf.tidy; returns the fraction of correct top-1 predictions.
 */
export function top1Accuracy(
  logits: (x: tf.Tensor2D) => tf.Tensor2D,
  images: Float32Array,
  labels: Int32Array,
  P: number,
  batch = 1000,
): number {
  const n = labels.length;
  let correct = 0;
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const pred = tf.tidy(() => tf.argMax(logits(tf.tensor2d(images.subarray(i * P, (i + m) * P), [m, P])), 1).dataSync());
    for (let j = 0; j < m; j++) if (pred[j] === labels[i + j]) correct++;
  }
  return correct / n;
}
