/**
 * A one-hidden-layer MLP classifier on flattened images: the setup check's model, small enough to
 * train in seconds on any engine, real enough to show the loop, the data and the engine work.
 *
 * Letters: B batch, P pixels (H·W), H hidden width, C classes.
 */
import * as tf from '@tensorflow/tfjs';
import type { Param } from '../train/params';
import { top1Accuracy } from '../metrics/accuracy';

export interface MlpConfig {
  /** Input size (pixels per image). */
  inputs: number;
  /** Hidden width. */
  hidden: number;
  /** Number of classes. */
  classes: number;
}

/** Xavier/Glorot-uniform initial values, seeded. */
export function xavierUniform(shape: [number, number], seed: number): tf.Tensor2D {
  const limit = Math.sqrt(6 / (shape[0] + shape[1]));
  return tf.randomUniform(shape, -limit, limit, 'float32', seed) as tf.Tensor2D;
}

export class MlpClassifier {
  readonly params: Param[];
  private readonly w1: tf.Variable;
  private readonly b1: tf.Variable;
  private readonly w2: tf.Variable;
  private readonly b2: tf.Variable;

  constructor(readonly config: MlpConfig, seed: number) {
    const { inputs, hidden, classes } = config;
    this.w1 = tf.tidy(() => tf.variable(xavierUniform([inputs, hidden], seed), true));
    this.b1 = tf.tidy(() => tf.variable(tf.zeros([hidden]), true));
    this.w2 = tf.tidy(() => tf.variable(xavierUniform([hidden, classes], seed + 1), true));
    this.b2 = tf.tidy(() => tf.variable(tf.zeros([classes]), true));
    this.params = [
      { name: 'mlp/w1', variable: this.w1, decay: true },
      { name: 'mlp/b1', variable: this.b1, decay: false },
      { name: 'mlp/w2', variable: this.w2, decay: true },
      { name: 'mlp/b2', variable: this.b2, decay: false },
    ];
  }

  /** Class logits. // x: [B, P] -> [B, C] */
  logits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h = tf.relu(tf.add(tf.matMul(x, this.w1), this.b1)); // [B, H]
      return tf.add(tf.matMul(h, this.w2), this.b2) as tf.Tensor2D; // [B, C]
    });
  }

  /** Mean softmax cross-entropy. // x: [B, P], labels: [B] int32 */
  loss(x: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, this.config.classes), this.logits(x)) as tf.Scalar);
  }

  /** Fraction of correct top-1 predictions over a whole set, evaluated in batches. */
  accuracy(images: Float32Array, labels: Int32Array, batch = 1000): number {
    return top1Accuracy((x) => this.logits(x), images, labels, this.config.inputs, batch);
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
  }
}
