/**
 * Batches as tf.js tensors. Kept apart from batches.ts so the samplers and readers load without
 * tf.js (scripts, workers, the fuzz test). Callers own the returned tensors (dispose them, or
 * create them inside tf.tidy).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from './image-set';
import { gatherImages, gatherLabels, SequenceBatch } from './batches';

/** Images at `indices` as a float32 tensor. // [B, H, W, 1] (channels last, tf.js's default) */
export function imageBatch(set: ImageSet, indices: ArrayLike<number>): tf.Tensor4D {
  return tf.tensor4d(gatherImages(set, indices), [indices.length, set.height, set.width, 1], 'float32');
}

/** Labels at `indices` as an int32 tensor. // [B] */
export function labelBatch(set: ImageSet, indices: ArrayLike<number>): tf.Tensor1D {
  return tf.tensor1d(gatherLabels(set, indices), 'int32');
}

/** A [B, T+1] window batch as next-token pairs: inputs = w[:, :T], targets = w[:, 1:]. // [B, T] each */
export function sequenceBatchTensors(batch: SequenceBatch): { inputs: tf.Tensor2D; targets: tf.Tensor2D } {
  const { batchSize: B, seqLen: T, data } = batch;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    inputs.set(data.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    targets.set(data.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  return { inputs: tf.tensor2d(inputs, [B, T], 'int32'), targets: tf.tensor2d(targets, [B, T], 'int32') };
}
