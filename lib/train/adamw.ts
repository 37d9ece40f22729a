/**
 * AdamW (Loshchilov & Hutter, arXiv 1711.05101) with decoupled weight decay, applied only to
 * parameters flagged `decay`, and gradient clipping by global norm. The moments are plain
 * tf.Variables so the checkpoint can save and restore them exactly.
 *
 * On the wasm and cpu engines `step` updates every parameter in one fused pass (adamw-fused.ts);
 * elsewhere, and in `stepPerTensor`, ~12 TF.js ops per tensor do the same arithmetic.
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber } from '../errors';
import { fusedAdamWFor, fusedAdamWUpdate, sumOfSquares } from './adamw-fused';
import type { Param } from './params';

export interface AdamWConfig {
  /** Exponential decay of the first moment. */
  beta1: number;
  /** Exponential decay of the second moment (MAE uses 0.95). */
  beta2: number;
  /** Added to the denominator for stability. */
  eps: number;
  /** Decoupled weight decay λ: p ← p − lr·λ·p for parameters flagged `decay`. */
  weightDecay: number;
  /** Clip the global gradient norm to this value; 0 disables clipping. */
  clipNorm: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.05, clipNorm: 1.0 };

export function validateAdamW(c: AdamWConfig, where = 'optimizer'): void {
  checkNumber(`${where}.beta1`, c.beta1, { lo: 0, hi: 1, hiOpen: true });
  checkNumber(`${where}.beta2`, c.beta2, { lo: 0, hi: 1, hiOpen: true });
  checkNumber(`${where}.eps`, c.eps, { lo: 0, loOpen: true });
  checkNumber(`${where}.weightDecay`, c.weightDecay, { lo: 0 });
  checkNumber(`${where}.clipNorm`, c.clipNorm, { lo: 0 });
}

export class AdamW {
  /** Number of updates applied so far (bias correction uses it). */
  t = 0;
  readonly m: tf.Variable[];
  readonly v: tf.Variable[];

  constructor(readonly params: readonly Param[], readonly config: AdamWConfig) {
    // tidy disposes the initial values (a variable keeps its own copy); variables survive tidy.
    this.m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
    this.v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
  }

  /**
   * Applies one update with learning rate `lr` from `grads` (keyed by variable name, as
   * tf.variableGrads returns them). Returns the global gradient norm before clipping;
   * when it is not finite, nothing is updated and the non-finite norm is returned.
   */
  step(grads: tf.NamedTensorMap, lr: number): number {
    const gs = this.params.map((p) => grads[p.variable.name]).filter((g) => g != null);
    const all = [...this.params.map((p) => p.variable), ...gs, ...this.m, ...this.v];
    return fusedAdamWFor(all) != null ? this.stepFused(grads, lr) : this.stepPerTensor(grads, lr);
  }

  /**
   * `step` for engines that cannot read GPU memory synchronously (webgpu in Node): the global norm
   * is read with `await`, then the same per-tensor update runs. Elsewhere exactly `step`.
   */
  async stepAsync(grads: tf.NamedTensorMap, lr: number): Promise<number> {
    if (tf.getBackend() !== 'webgpu') return this.step(grads, lr);
    const norm = tf.tidy(() => tf.sqrt(tf.addN(this.gradsInOrder(grads).map((g) => tf.sum(tf.square(g))))));
    const normValue = (await norm.data())[0];
    norm.dispose();
    return this.stepPerTensor(grads, lr, normValue);
  }

  private gradsInOrder(grads: tf.NamedTensorMap): tf.Tensor[] {
    return this.params.map((p) => {
      const g = grads[p.variable.name];
      if (!g) throw new Error(`no gradient for parameter '${p.name}' (is it used by the loss?)`);
      return g;
    });
  }

  /** `step` in one pass over all parameters (wasm and cpu engines; adamw-fused.ts). */
  stepFused(grads: tf.NamedTensorMap, lr: number): number {
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.config;
    const gs = this.gradsInOrder(grads);
    const normValue = Math.fround(Math.sqrt(sumOfSquares(gs)));
    if (!Number.isFinite(normValue)) return normValue;
    this.t += 1;
    const scale = clipNorm > 0 && normValue > clipNorm ? clipNorm / (normValue + 1e-6) : 1;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    const vars = this.params.map((p) => p.variable);
    const out = fusedAdamWUpdate(vars, gs, this.m, this.v, this.params.map((p) => p.decay), { beta1, beta2, eps, lr, weightDecay, bc1, bc2, scale });
    this.params.forEach((p, i) => {
      p.variable.assign(out.p[i]);
      this.m[i].assign(out.m[i]);
      this.v[i].assign(out.v[i]);
    });
    tf.dispose([...out.p, ...out.m, ...out.v]);
    return normValue;
  }

  /** `step` with TF.js ops, tensor by tensor (every engine). */
  stepPerTensor(grads: tf.NamedTensorMap, lr: number, knownNorm?: number): number {
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.config;
    this.t += 1;
    const bc1 = 1 - Math.pow(beta1, this.t);
    const bc2 = 1 - Math.pow(beta2, this.t);
    return tf.tidy(() => {
      const gs = this.gradsInOrder(grads);
      // knownNorm: the caller read the norm asynchronously (stepAsync), with these very ops.
      const normValue = knownNorm ?? tf.sqrt(tf.addN(gs.map((g) => tf.sum(tf.square(g))))).dataSync()[0];
      // A non-finite gradient must not reach the weights: the caller stops the run instead.
      if (!Number.isFinite(normValue)) {
        this.t -= 1;
        return normValue;
      }
      const scale = clipNorm > 0 && normValue > clipNorm ? clipNorm / (normValue + 1e-6) : 1;
      this.params.forEach((p, i) => {
        const g = scale === 1 ? gs[i] : tf.mul(gs[i], scale);
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i].assign(m);
        this.v[i].assign(v);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        let next = tf.sub(p.variable, tf.mul(update, lr));
        if (p.decay && weightDecay > 0) next = tf.sub(next, tf.mul(p.variable, lr * weightDecay));
        p.variable.assign(next);
      });
      return normValue;
    });
  }

  dispose(): void {
    for (const x of [...this.m, ...this.v]) x.dispose();
  }
}
