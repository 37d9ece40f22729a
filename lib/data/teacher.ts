/**
 * A regression task whose target is a deep random "teacher" network: the depth-efficiency test of paper B
 * ("ANCRe: Adaptive Neural Connection Reassignment for Efficient Depth Scaling", arXiv 2602.09009, Sec. 5.3)
 * needs a task on which a standard residual network measurably gains from depth (16 → 64 layers).
 *
 *     x ~ N(0, I_d)                                   fresh inputs every step (no overfitting; the error
 *     z_0 = x,  z_{k+1} = tanh(W_k z_k + b_k)          measured is approximation + optimisation)
 *     y = (z_D A − μ) / σ                              linear read-out, standardised on the test set
 *
 * with W_k ~ N(0, g²/n) (n the teacher width), b_k ~ N(0, 0.05²), A ~ N(0, 1/n). For a gain g > 1 a deep
 * tanh network is in the chaotic phase of mean-field theory (Poole et al. 2016, "Exponential expressivity in
 * deep neural networks through transient chaos", arXiv 1606.05340): the length of the image of a curve grows
 * exponentially with depth, so the map composes many folds that a shallower network of the same width needs far
 * more units to imitate (Raghu et al. 2017, arXiv 1606.05336). That argument is about representation; whether a
 * student gains from depth within a training budget is empirical, and the chaotic teachers tried (gain 1.2–1.5)
 * left ~45 % of the variance that neither a 16- nor a 64-layer student learnt (lib/studies/resnet-depth/search.ts).
 * The cpu preset uses gain 1.0 (the edge of chaos) with a 64-layer teacher and a narrow student. The teacher has its
 * own seed: every run of a study fits the same function, and the run's seed varies only the student and its batches.
 *
 * Letters: N samples, d inputs, n teacher width, D teacher depth, m outputs.
 */
import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkPositiveInt } from '../errors';
import { Rng } from './rng';

export interface TeacherConfig {
  /** Input dimension d. */
  inputs: number;
  /** Width n of every hidden tanh layer. */
  width: number;
  /** Number D of hidden tanh layers. */
  depth: number;
  /** Weight gain g: W ~ N(0, g²/fan_in); g > 1 is the chaotic (expressive) phase. */
  gain: number;
  /** Output dimension m. */
  outputs: number;
  /** Seed of the teacher's weights (the task), independent of the run's seed. */
  seed: number;
}

export function validateTeacher(c: TeacherConfig, where = 'teacher'): void {
  checkPositiveInt(`${where}.inputs`, c.inputs);
  checkPositiveInt(`${where}.width`, c.width);
  checkNumber(`${where}.depth`, c.depth, { lo: 1, hi: 1024, integer: true });
  checkNumber(`${where}.gain`, c.gain, { lo: 0, loOpen: true, hi: 100 });
  checkPositiveInt(`${where}.outputs`, c.outputs);
  checkNumber(`${where}.seed`, c.seed, { integer: true });
}

/** The teacher's weights as plain arrays (rebuilt identically from the seed in every process). */
export class Teacher {
  private readonly weights: { w: Float32Array; b: Float32Array; inDim: number }[] = [];
  private readonly readout: Float32Array; // [n, m]
  /** Mean and std of each output over the reference inputs (set by the constructor). */
  readonly mean: Float32Array;
  readonly std: Float32Array;

  constructor(readonly config: TeacherConfig) {
    validateTeacher(config);
    const { inputs, width, depth, gain, outputs, seed } = config;
    const rng = new Rng(seed);
    const normal = (len: number, sd: number) => Float32Array.from({ length: len }, () => sd * rng.normal());
    for (let k = 0; k < depth; k++) {
      const inDim = k === 0 ? inputs : width;
      this.weights.push({ w: normal(inDim * width, gain / Math.sqrt(inDim)), b: normal(width, 0.05), inDim });
    }
    this.readout = normal(width * outputs, 1 / Math.sqrt(width));
    this.mean = new Float32Array(outputs);
    this.std = new Float32Array(outputs).fill(1);
    // Standardise on 4096 reference inputs of a fixed stream (not the test set of any run).
    const ref = this.raw(teacherInputs(inputs, 4096, seed + 1));
    for (let j = 0; j < outputs; j++) {
      let s = 0, s2 = 0;
      for (let i = 0; i < 4096; i++) s += ref[i * outputs + j];
      const m = s / 4096;
      for (let i = 0; i < 4096; i++) s2 += (ref[i * outputs + j] - m) ** 2;
      this.mean[j] = m;
      this.std[j] = Math.sqrt(s2 / 4095) || 1;
    }
  }

  /** The un-standardised outputs. x: [N·d] -> [N·m] */
  private raw(x: Float32Array): Float32Array {
    const { inputs, outputs } = this.config;
    const n = x.length / inputs;
    return tf.tidy(() => {
      let z: tf.Tensor2D = tf.tensor2d(x, [n, inputs]);
      for (const { w, b, inDim } of this.weights) z = tf.tanh(tf.add(tf.matMul(z, tf.tensor2d(w, [inDim, this.config.width])), b)) as tf.Tensor2D;
      return tf.matMul(z, tf.tensor2d(this.readout, [this.config.width, outputs])).dataSync() as Float32Array;
    });
  }

  /** Standardised targets. x: [N·d] -> [N·m] */
  targets(x: Float32Array): Float32Array {
    const y = this.raw(x);
    const m = this.config.outputs;
    for (let i = 0; i < y.length; i++) y[i] = (y[i] - this.mean[i % m]) / this.std[i % m];
    return y;
  }
}

/** N standard-normal input vectors from `seed` (deterministic). -> [N·d] */
export function teacherInputs(d: number, n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * d }, () => rng.normal());
}
