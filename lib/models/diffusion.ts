/**
 * The diffusion objective and sampler: SiT's linear interpolant with velocity prediction
 * (Ma et al., "SiT", arXiv 2401.08740; = rectified flow / flow matching, Liu et al. arXiv 2209.03003,
 * Lipman et al. arXiv 2210.02747), sampled by a deterministic ODE solver (Euler or Heun).
 *
 *   x_t = (1 − t)·x_0 + t·ε,   ε ~ N(0, I),  t ~ U(0, 1)       (t = 0 data, t = 1 noise)
 *   v*  = dx_t/dt = ε − x_0
 *   L   = E ‖v_θ(x_t, t, y) − v*‖²                             (mean over pixels)
 *   sampling: dx/dt = v_θ(x, t, y) from t = 1 (x ~ N(0, I)) down to t = 0
 *
 * Why velocity rather than DDPM ε-prediction: paper A's diffusion headline (SiT-XL/2, FID 17.2 → 11.8)
 * is a SiT, and the probability-flow ODE of the linear interpolant gives usable samples in 10–20
 * deterministic steps, which a CPU budget needs. Paper B's DiT rows use ε-prediction with a 1000-step
 * linear schedule; the network is the same, only the target and the sampler differ.
 *
 * Classifier-free guidance (Ho & Salimans, arXiv 2207.12598): training drops labels to the null class with
 * probability `classDropout`; sampling with cfgScale w uses v = v_uncond + w·(v_cond − v_uncond) (w = 1: off).
 *
 * All randomness comes from an explicit integer seed (training: the run seed and the step), so a resumed run
 * continues exactly, and a sampler call with the same seed returns the same images.
 *
 * Letters: B batch, S image side, C channels, N samples.
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkOneOf, checkPositiveInt, ConfigError } from '../errors';
import type { DiT } from './dit';

/** A seed for tf.random* from a run seed, a step and a stream id (distinct streams never collide in practice). */
export function stepSeed(seed: number, step: number, stream: number): number {
  return (((seed + 1) * 1000003 + step * 7919 + stream * 104729) % 2147483647) >>> 0;
}

/**
 * The flow-matching loss of one batch. x0 [B, S, S, C] (data scaled to about [−1, 1]), y [B] int32.
 * `seed`: one integer per training step (see stepSeed). Returns a scalar.
 */
export function flowMatchingLoss(model: DiT, x0: tf.Tensor4D, y: tf.Tensor1D, seed: number): tf.Scalar {
  return tf.tidy(() => {
    const B = x0.shape[0];
    const t = tf.randomUniform([B], 0, 1, 'float32', stepSeed(seed, 0, 1)) as tf.Tensor1D; // [B]
    const eps = tf.randomNormal(x0.shape, 0, 1, 'float32', stepSeed(seed, 0, 2)); // [B, S, S, C]
    const tb = t.reshape([B, 1, 1, 1]);
    const xt = tf.add(tf.mul(tf.sub(1, tb), x0), tf.mul(tb, eps));
    const target = tf.sub(eps, x0);
    let yIn = y;
    const p = model.config.classDropout;
    if (p > 0) {
      const drop = tf.less(tf.randomUniform([B], 0, 1, 'float32', stepSeed(seed, 0, 3)), p);
      yIn = tf.where(drop, tf.fill([B], model.nullClass, 'int32'), y) as tf.Tensor1D;
    }
    const v = model.forward(xt, t, yIn).out;
    return tf.mean(tf.square(tf.sub(v, target))) as tf.Scalar;
  });
}

export type Solver = 'euler' | 'heun';
export const SOLVERS: readonly Solver[] = ['euler', 'heun'];

export interface SamplerConfig {
  /** ODE solver: 'euler' (1 evaluation per step) or 'heun' (2 per step, Euler on the last step). */
  solver: Solver;
  /** Number of time steps from t = 1 to t = 0 (uniform grid). */
  steps: number;
  /** Classifier-free guidance scale w (1 = plain conditional sampling; needs classDropout > 0 otherwise). */
  cfgScale: number;
  /** Images per forward batch (memory, not results: the output does not depend on it). */
  batch: number;
}

export const SAMPLER_DEFAULTS: SamplerConfig = { solver: 'heun', steps: 10, cfgScale: 1, batch: 250 };

export function validateSampler(c: SamplerConfig, where = 'sampler'): void {
  checkOneOf(`${where}.solver`, c.solver, SOLVERS);
  checkPositiveInt(`${where}.steps`, c.steps);
  checkNumber(`${where}.cfgScale`, c.cfgScale, { lo: 0 });
  checkPositiveInt(`${where}.batch`, c.batch);
}

/** Network evaluations per sample: Euler `steps`, Heun 2·steps − 1 (×2 with guidance). */
export function samplerNfe(c: SamplerConfig): number {
  return (c.solver === 'euler' ? c.steps : 2 * c.steps - 1) * (c.cfgScale === 1 ? 1 : 2);
}

/** v_θ with optional guidance. x [B, S, S, C], t scalar time, y [B]. */
function velocity(model: DiT, x: tf.Tensor4D, t: number, y: tf.Tensor1D, cfgScale: number): tf.Tensor4D {
  return tf.tidy(() => {
    const B = x.shape[0];
    const tv = tf.fill([B], t) as tf.Tensor1D;
    if (cfgScale === 1) return model.forward(x, tv, y).out;
    // One batch of 2B: conditional then unconditional.
    const out = model.forward(tf.concat([x, x], 0), tf.concat([tv, tv]) as tf.Tensor1D, tf.concat([y, tf.fill([B], model.nullClass, 'int32')]) as tf.Tensor1D).out;
    const [vc, vu] = tf.split(out, 2, 0);
    return tf.add(vu, tf.mul(tf.sub(vc, vu), cfgScale)) as tf.Tensor4D;
  });
}

/**
 * Deterministic ODE sampling of one image per label. labels [N] class ids; seed fixes the initial noise.
 * Sample i's noise depends only on (seed, i), so the result does not depend on `batch`.
 * Returns the images [N, S, S, C] in the model's data scale (training used 2·pixel − 1).
 */
export async function sampleImages(model: DiT, labels: ArrayLike<number>, sampler: SamplerConfig, seed: number): Promise<Float32Array> {
  validateSampler(sampler);
  if (sampler.cfgScale !== 1 && model.nullClass < 0) {
    throw new ConfigError(`cfgScale ${sampler.cfgScale} needs a model trained with classDropout > 0 (it has no null class)`);
  }
  const { imageSize: S, channels: C } = model.config;
  const N = labels.length;
  const per = S * S * C;
  const out = new Float32Array(N * per);
  const ts = Array.from({ length: sampler.steps + 1 }, (_, k) => 1 - k / sampler.steps); // 1 … 0
  for (let i0 = 0; i0 < N; i0 += sampler.batch) {
    const B = Math.min(sampler.batch, N - i0);
    const y = tf.tensor1d(Array.from({ length: B }, (_, j) => labels[i0 + j]), 'int32');
    // One noise draw per sample index: batching does not change the samples.
    const noise = new Float32Array(B * per);
    for (let j = 0; j < B; j++) {
      const z = tf.randomNormal([per], 0, 1, 'float32', stepSeed(seed, i0 + j, 11));
      noise.set((await z.data()) as Float32Array, j * per);
      z.dispose();
    }
    let x = tf.tensor4d(noise, [B, S, S, C]);
    for (let k = 0; k < sampler.steps; k++) {
      const [t0, t1] = [ts[k], ts[k + 1]];
      const dt = t1 - t0; // negative
      const next = tf.tidy(() => {
        const v0 = velocity(model, x, t0, y, sampler.cfgScale);
        const euler = tf.add(x, tf.mul(v0, dt)) as tf.Tensor4D;
        if (sampler.solver === 'euler' || k === sampler.steps - 1) return euler;
        const v1 = velocity(model, euler, t1, y, sampler.cfgScale);
        return tf.add(x, tf.mul(tf.add(v0, v1), dt / 2)) as tf.Tensor4D;
      });
      x.dispose();
      x = next;
    }
    out.set((await x.data()) as Float32Array, i0 * per);
    tf.dispose([x, y]);
  }
  return out;
}

/** Model scale (≈[−1, 1]) to pixels in [0, 1], clipped: what the FID classifier sees. */
export function toPixels(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.min(1, Math.max(0, (x[i] + 1) / 2));
  return out;
}
