/**
 * Fréchet distance between Gaussian fits of two feature sets (Heusel et al., "GANs Trained by a Two
 * Time-Scale Update Rule Converge to a Local Nash Equilibrium", arXiv 1706.08500, Eq. 6 — "FID"):
 *
 *   d² = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}
 *
 * (tr (Σ₁Σ₂)^{1/2} equals tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}: the two matrices are similar; the second is
 * symmetric PSD, so both square roots come from symmetric eigendecompositions.) Everything is float64;
 * the eigendecompositions are ml-matrix's (a maintained package), not a hand-written solver. Eigenvalues
 * that round-off pushes slightly below 0 are clipped to 0.
 *
 * In this project the features come from a Fashion-MNIST classifier trained here
 * (lib/models/fid-classifier.ts), NOT from Inception-v3: the numbers are not comparable with the
 * Inception FIDs of the papers, only with each other (same classifier, same sample counts).
 * FID is biased upwards at small sample counts, so every comparison uses a fixed number of samples,
 * and the real-vs-real FID at that count is the floor.
 *
 * Letters: n samples, d feature width.
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { ConfigError } from '../errors';

/** Mean and covariance of a feature set, float64. cov is d×d row-major, unbiased (n − 1). */
export interface GaussianStats {
  n: number;
  d: number;
  mean: Float64Array; // [d]
  cov: Float64Array; // [d, d]
}

/** Gaussian fit of n feature rows of width d (row-major [n, d]); needs n ≥ 2. */
export function gaussianStats(features: ArrayLike<number>, n: number, d: number): GaussianStats {
  if (!Number.isInteger(n) || n < 2) throw new ConfigError(`gaussianStats needs at least 2 samples; got n = ${n}`);
  if (!Number.isInteger(d) || d < 1) throw new ConfigError(`gaussianStats: d must be an integer >= 1; got ${d}`);
  if (features.length !== n * d) throw new ConfigError(`gaussianStats: expected ${n}×${d} = ${n * d} values; got ${features.length}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += features[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const centred = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = features[i * d + j];
      if (!Number.isFinite(v)) throw new ConfigError(`gaussianStats: feature [${i}, ${j}] is ${v}`);
      centred[i * d + j] = v - mean[j];
    }
  }
  // Σ = Xcᵀ Xc / (n − 1), via ml-matrix's float64 product.
  const X = Matrix.from1DArray(n, d, centred);
  const S = X.transpose().mmul(X).div(n - 1);
  const cov = Float64Array.from(S.to1DArray());
  // Exact symmetry (the product is symmetric up to summation order).
  for (let a = 0; a < d; a++) {
    for (let b = a + 1; b < d; b++) {
      const m = (cov[a * d + b] + cov[b * d + a]) / 2;
      cov[a * d + b] = cov[b * d + a] = m;
    }
  }
  return { n, d, mean, cov };
}

/** Symmetric matrix → its eigenvalues and eigenvectors (columns), via ml-matrix. */
function symmetricEig(m: Float64Array, d: number): { values: number[]; vectors: Matrix } {
  const evd = new EigenvalueDecomposition(Matrix.from1DArray(d, d, m), { assumeSymmetric: true });
  return { values: evd.realEigenvalues, vectors: evd.eigenvectorMatrix };
}

/** The PSD square root of a symmetric PSD matrix: V diag(√max(λ, 0)) Vᵀ. */
export function sqrtPsd(m: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEig(m, d);
  const scaled = vectors.clone();
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(Math.max(values[j], 0));
    for (let i = 0; i < d; i++) scaled.set(i, j, scaled.get(i, j) * s);
  }
  return Float64Array.from(scaled.mmul(vectors.transpose()).to1DArray());
}

/** The Fréchet distance d² between two Gaussians (see the header). */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  if (a.d !== b.d) throw new ConfigError(`frechetDistance: feature widths differ (${a.d} vs ${b.d})`);
  const d = a.d;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) meanTerm += (a.mean[j] - b.mean[j]) ** 2;
  let trA = 0;
  let trB = 0;
  for (let j = 0; j < d; j++) {
    trA += a.cov[j * d + j];
    trB += b.cov[j * d + j];
  }
  const rootA = Matrix.from1DArray(d, d, sqrtPsd(a.cov, d));
  const M = rootA.mmul(Matrix.from1DArray(d, d, b.cov)).mmul(rootA); // Σ₁^{1/2} Σ₂ Σ₁^{1/2}, symmetric PSD
  const m = Float64Array.from(M.to1DArray());
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) m[i * d + j] = m[j * d + i] = (m[i * d + j] + m[j * d + i]) / 2;
  }
  const { values } = symmetricEig(m, d);
  const trSqrt = values.reduce((s, v) => s + Math.sqrt(Math.max(v, 0)), 0);
  // Round-off can make d² a hair negative for identical inputs.
  return Math.max(0, meanTerm + trA + trB - 2 * trSqrt);
}

/** FID of two feature sets (row-major [n, d] each). */
export function fidFromFeatures(a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number, d: number): number {
  return frechetDistance(gaussianStats(a, na, d), gaussianStats(b, nb, d));
}
