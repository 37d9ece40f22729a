/** Exponential moving average of weights (DiT/SiT sample from EMA weights). */
import * as tf from '@tensorflow/tfjs';
import type { Param } from './params';

export class Ema {
  readonly shadow: tf.Variable[];
  constructor(readonly params: readonly Param[], readonly decay: number) {
    this.shadow = params.map((p) => tf.tidy(() => tf.variable(p.variable.clone(), false)));
  }

  update(): void {
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        this.shadow[i].assign(tf.add(tf.mul(this.shadow[i], this.decay), tf.mul(p.variable, 1 - this.decay)));
      });
    });
  }

  /** Runs `fn` with the EMA weights swapped in, then restores the live weights. */
  async withEmaWeights<T>(fn: () => Promise<T> | T): Promise<T> {
    const saved = this.params.map((p) => p.variable.clone());
    this.params.forEach((p, i) => p.variable.assign(this.shadow[i]));
    try {
      return await fn();
    } finally {
      this.params.forEach((p, i) => p.variable.assign(saved[i]));
      saved.forEach((t) => t.dispose());
    }
  }

  dispose(): void {
    this.shadow.forEach((s) => s.dispose());
  }
}
