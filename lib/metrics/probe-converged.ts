/**
 * A linear probe trained to convergence: multinomial logistic regression on standardised frozen features,
 * minimised by L-BFGS (Nocedal 1980; Nocedal & Wright, "Numerical Optimization", Alg. 7.4 and 7.5) until
 * the gradient or the loss stops moving, so the reported accuracy is that of the optimum of a fixed,
 * convex problem rather than of a fixed step budget.
 *
 *   z = (x − μ_train) / (σ_train + 1e-6)                 per dimension, train statistics only
 *   f(W, b) = (1/N) Σ_i −log softmax(z_i W + b)_{y_i} + λ‖W‖²
 *   ∇_W f = (1/N) Zᵀ(P − Y) + 2λW,  ∇_b f = (1/N) Σ_i (p_i − y_i)
 *   stop:   ‖∇f‖_∞ ≤ gradTol, or |f_{k−1} − f_k| ≤ lossTol · max(1, |f_k|), or maxIter (then converged = false)
 *
 * The two matmuls per evaluation run on the engine (float32, one BLAS call each); softmax, loss, the
 * L-BFGS two-loop recursion and the Armijo backtracking line search run in float64. The project's older
 * probe (./probe.ts: 300 full-batch Adam steps) stops before the optimum; its numbers are kept as
 * `linearProbe` in earlier records, this one's as `lpConverged`, never mixed.
 *
 * Shape letters: N train rows, M test rows, D feature width, C classes, m L-BFGS memory.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, checkNumber, checkPositiveInt } from '../errors';
import type { Features } from './knn';

export interface ConvergedProbeConfig {
  /** L2 penalty λ·‖W‖² (the Adam probe's default, so the two optimise the same objective). */
  l2: number;
  /** Stop when the largest gradient entry is at most this. */
  gradTol: number;
  /** Stop when one iteration lowers the loss by at most lossTol·max(1, |f|). */
  lossTol: number;
  /** Give up after this many iterations (the result then says converged: false). */
  maxIter: number;
  /** L-BFGS memory m (pairs of steps and gradient changes kept). */
  memory: number;
}

export const CONVERGED_PROBE_DEFAULTS: ConvergedProbeConfig = { l2: 1e-4, gradTol: 1e-5, lossTol: 1e-10, maxIter: 1000, memory: 10 };

export function validateConvergedProbe(c: ConvergedProbeConfig, where = 'convergedProbe'): void {
  checkNumber(`${where}.l2`, c.l2, { lo: 0 });
  checkNumber(`${where}.gradTol`, c.gradTol, { lo: 0, loOpen: true });
  checkNumber(`${where}.lossTol`, c.lossTol, { lo: 0 });
  checkPositiveInt(`${where}.maxIter`, c.maxIter);
  checkPositiveInt(`${where}.memory`, c.memory);
}

export interface ConvergedProbeResult {
  /** Test accuracy in [0, 1]. */
  testAccuracy: number;
  /** Train accuracy in [0, 1] (at the optimum: how far the probe fits, beside how far it generalises). */
  trainAccuracy: number;
  /** The objective f at the end (cross-entropy + penalty). */
  trainLoss: number;
  /** L-BFGS iterations taken. */
  iterations: number;
  /** Largest gradient entry at the end. */
  gradNorm: number;
  /** Whether a tolerance was met (false: maxIter or a failed line search). */
  converged: boolean;
}

/** Standardised copies of train and test features with the train statistics. // [N, D], [M, D] */
export function standardise(train: Features, test: Features): { train: Float32Array; test: Float32Array } {
  const D = train.dim;
  const mean = new Float64Array(D);
  const sq = new Float64Array(D);
  for (let i = 0; i < train.n; i++) for (let d = 0; d < D; d++) mean[d] += train.data[i * D + d] / train.n;
  for (let i = 0; i < train.n; i++) for (let d = 0; d < D; d++) sq[d] += (train.data[i * D + d] - mean[d]) ** 2 / train.n;
  const std = Float64Array.from(sq, (v) => Math.sqrt(v) + 1e-6);
  const z = (f: Features) => Float32Array.from(f.data, (v, k) => (v - mean[k % D]) / std[k % D]);
  return { train: z(train), test: z(test) };
}

function checkPair(what: string, f: Features, labels: ArrayLike<number>): void {
  if (f.data.length !== f.n * f.dim) throw new ConfigError(`${what}: ${f.n}×${f.dim} features need ${f.n * f.dim} values; got ${f.data.length}`);
  if (labels.length !== f.n) throw new ConfigError(`${what}: ${f.n} feature rows but ${labels.length} labels`);
}

/** The values of the tensor `fn` builds (inside tidy), the tensor itself disposed. */
function values(fn: () => tf.Tensor): Float32Array {
  const t = tf.tidy(fn);
  const v = t.dataSync() as Float32Array;
  t.dispose();
  return v;
}

/** The probe's objective on standardised rows `z` (a kept [N, D] tensor): value and gradient (float64). */
function objective(z: tf.Tensor2D, y: Int32Array, D: number, C: number, l2: number) {
  const N = y.length;
  return (theta: Float64Array): { f: number; g: Float64Array; logits: Float32Array } => {
    // theta = [W (D×C, row-major); b (C)]
    const logits = values(() => tf.add(tf.matMul(z, tf.tensor2d(Float32Array.from(theta.subarray(0, D * C)), [D, C])), tf.tensor1d(Float32Array.from(theta.subarray(D * C))))); // [N, C]
    let f = 0;
    const r = new Float32Array(N * C); // (P − Y)/N
    const gb = new Float64Array(C);
    for (let i = 0; i < N; i++) {
      let mx = -Infinity;
      for (let c = 0; c < C; c++) mx = Math.max(mx, logits[i * C + c]);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(logits[i * C + c] - mx);
      const lse = mx + Math.log(s);
      f += (lse - logits[i * C + y[i]]) / N;
      for (let c = 0; c < C; c++) {
        const v = (Math.exp(logits[i * C + c] - lse) - (c === y[i] ? 1 : 0)) / N;
        r[i * C + c] = v;
        gb[c] += v;
      }
    }
    const gw = values(() => tf.matMul(z, tf.tensor2d(r, [N, C]), true, false)); // [D, C]
    const g = new Float64Array(D * C + C);
    for (let k = 0; k < D * C; k++) {
      f += l2 * theta[k] ** 2;
      g[k] = gw[k] + 2 * l2 * theta[k];
    }
    g.set(gb, D * C);
    return { f, g, logits };
  };
}

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/**
 * Minimises a smooth function of a vector by L-BFGS with an Armijo backtracking line search.
 * Exported for the test that compares it with Newton's method.
 */
export function lbfgs(
  fg: (x: Float64Array) => { f: number; g: Float64Array },
  x0: Float64Array,
  c: Pick<ConvergedProbeConfig, 'gradTol' | 'lossTol' | 'maxIter' | 'memory'>,
): { x: Float64Array; f: number; gradNorm: number; iterations: number; converged: boolean } {
  let x = Float64Array.from(x0);
  let { f, g } = fg(x);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  let it = 0;
  let converged = maxAbs(g) <= c.gradTol;
  while (!converged && it < c.maxIter) {
    // Two-loop recursion: d = −H g.
    const q = Float64Array.from(g);
    const alpha: number[] = [];
    for (let k = S.length - 1; k >= 0; k--) {
      const a = dot(S[k], q) / dot(Y[k], S[k]);
      alpha[k] = a;
      for (let i = 0; i < q.length; i++) q[i] -= a * Y[k][i];
    }
    const gamma = S.length ? dot(S[S.length - 1], Y[S.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(1, Math.sqrt(dot(g, g)));
    for (let i = 0; i < q.length; i++) q[i] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const b = dot(Y[k], q) / dot(Y[k], S[k]);
      for (let i = 0; i < q.length; i++) q[i] += S[k][i] * (alpha[k] - b);
    }
    const d = q.map((v) => -v);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (lost curvature information): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      for (let i = 0; i < d.length; i++) d[i] = -g[i] / Math.max(1, Math.sqrt(dot(g, g)));
      slope = dot(g, d);
    }
    let step = 1;
    let next: { f: number; g: Float64Array } | null = null;
    let xn = x;
    for (let ls = 0; ls < 40; ls++) {
      xn = x.map((v, i) => v + step * d[i]);
      const t = fg(xn);
      if (Number.isFinite(t.f) && t.f <= f + 1e-4 * step * slope) {
        next = t;
        break;
      }
      step /= 2;
    }
    it += 1;
    if (!next) break; // the line search failed: at the floating-point floor of f
    const s = xn.map((v, i) => v - x[i]);
    const yv = next.g.map((v, i) => v - g[i]);
    if (dot(s, yv) > 1e-12) {
      S.push(s);
      Y.push(yv);
      if (S.length > c.memory) {
        S.shift();
        Y.shift();
      }
    }
    const drop = f - next.f;
    x = xn;
    f = next.f;
    g = next.g;
    converged = maxAbs(g) <= c.gradTol || drop <= c.lossTol * Math.max(1, Math.abs(f));
  }
  return { x, f, gradNorm: maxAbs(g), iterations: it, converged: converged || maxAbs(g) <= c.gradTol };
}

export function convergedProbe(
  train: Features,
  trainLabels: ArrayLike<number>,
  test: Features,
  testLabels: ArrayLike<number>,
  config: Partial<ConvergedProbeConfig> & { classes?: number } = {},
): ConvergedProbeResult {
  const c = { ...CONVERGED_PROBE_DEFAULTS, ...config };
  validateConvergedProbe(c);
  checkPair('train', train, trainLabels);
  checkPair('test', test, testLabels);
  if (train.dim !== test.dim) throw new ConfigError(`train features have width ${train.dim} but test features ${test.dim}`);
  const C = config.classes ?? Math.max(...Array.from(trainLabels), ...Array.from(testLabels)) + 1;
  const D = train.dim;
  const z = standardise(train, test);
  const zTr = tf.tensor2d(z.train, [train.n, D]);
  const zTe = tf.tensor2d(z.test, [test.n, D]);
  try {
    const yTr = Int32Array.from(trainLabels);
    const fg = objective(zTr, yTr, D, C, c.l2);
    const res = lbfgs((x) => fg(x), new Float64Array(D * C + C), c);
    const accuracy = (logits: ArrayLike<number>, y: ArrayLike<number>) => {
      let hit = 0;
      for (let i = 0; i < y.length; i++) {
        let best = 0;
        for (let k = 1; k < C; k++) if (logits[i * C + k] > logits[i * C + best]) best = k;
        if (best === y[i]) hit++;
      }
      return hit / y.length;
    };
    const trainLogits = fg(res.x).logits;
    const testLogits = values(() => tf.add(tf.matMul(zTe, tf.tensor2d(Float32Array.from(res.x.subarray(0, D * C)), [D, C])), tf.tensor1d(Float32Array.from(res.x.subarray(D * C)))));
    return {
      testAccuracy: accuracy(testLogits, testLabels),
      trainAccuracy: accuracy(trainLogits, yTr),
      trainLoss: res.f,
      iterations: res.iterations,
      gradNorm: res.gradNorm,
      converged: res.converged,
    };
  } finally {
    tf.dispose([zTr, zTe]);
  }
}
