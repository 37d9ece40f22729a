/**
 * Effective rank (Roy & Vetterli, EUSIPCO 2007) of a centred feature matrix, the rank measure of paper A
 * ("Residual Connections Harm Generative Representation Learning", arXiv 2404.10947, Sec. 4):
 *
 *   X̃ = X − 1 μᵀ (columns centred),  σ_1 ≥ … ≥ σ_r  its singular values,
 *   p_i = σ_i / Σ_j σ_j,   erank(X) = exp(−Σ_i p_i log p_i)   ∈ [1, min(n, d)].
 *
 * σ_i² are the eigenvalues of the Gram matrix X̃ᵀX̃ (d×d) or X̃X̃ᵀ (n×n), whichever is smaller; they are
 * computed in float64 with ml-matrix's symmetric eigenvalue decomposition (tf.js has no SVD on every
 * engine). Eigenvalues below a relative tolerance (round-off of a rank-deficient Gram matrix, which can be
 * slightly negative) count as 0.
 *
 * Shape letters: n rows (examples), d columns (feature dims).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { ConfigError, checkPositiveInt } from '../errors';

export interface RankOptions {
  /** Centre the columns first (default true: the paper's centred feature matrix). */
  center?: boolean;
}

/** Singular values of the (centred) n×d matrix, descending, float64. */
export function singularValues(data: ArrayLike<number>, n: number, d: number, opts: RankOptions = {}): Float64Array {
  checkPositiveInt('n', n);
  checkPositiveInt('d', d);
  if (data.length !== n * d) throw new ConfigError(`a ${n}×${d} matrix needs ${n * d} values; got ${data.length}`);
  const x = new Float64Array(n * d);
  for (let i = 0; i < n * d; i++) {
    const v = data[i];
    if (!Number.isFinite(v)) throw new ConfigError(`effective rank of a matrix with a non-finite entry: ${v} at row ${Math.floor(i / d)}, column ${i % d}`);
    x[i] = v;
  }
  if (opts.center ?? true) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i * d + j];
      const mu = s / n;
      for (let i = 0; i < n; i++) x[i * d + j] -= mu;
    }
  }
  // Gram matrix of the smaller side: G = X̃ᵀX̃ (d ≤ n) or X̃X̃ᵀ (n < d).
  const m = Math.min(n, d);
  const g = Array.from({ length: m }, () => new Float64Array(m));
  if (d <= n) {
    for (let i = 0; i < n; i++) {
      const row = i * d;
      for (let a = 0; a < d; a++) {
        const xa = x[row + a];
        if (xa === 0) continue;
        const ga = g[a];
        for (let b = a; b < d; b++) ga[b] += xa * x[row + b];
      }
    }
  } else {
    for (let a = 0; a < n; a++) {
      for (let b = a; b < n; b++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += x[a * d + j] * x[b * d + j];
        g[a][b] = s;
      }
    }
  }
  for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) g[a][b] = g[b][a];
  const evd = new EigenvalueDecomposition(new Matrix(g.map((r) => Array.from(r))), { assumeSymmetric: true });
  const lambda = evd.realEigenvalues;
  const top = Math.max(0, ...lambda);
  const tol = top * m * 1e-13;
  const sigma = Float64Array.from(lambda, (l) => (l > tol ? Math.sqrt(l) : 0));
  return sigma.sort().reverse();
}

/** exp(entropy(σ / Σσ)) from singular values; 0 for an all-zero matrix. */
export function erankFromSingularValues(sigma: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < sigma.length; i++) total += sigma[i];
  if (!(total > 0)) return 0;
  let h = 0;
  for (let i = 0; i < sigma.length; i++) {
    const p = sigma[i] / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

/** Effective rank of an n×d feature matrix (row-major), centred by default. */
export function effectiveRank(data: ArrayLike<number>, n: number, d: number, opts: RankOptions = {}): number {
  return erankFromSingularValues(singularValues(data, n, d, opts));
}
