import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { frechetDistance, fidFromFeatures, gaussianStats, sqrtPsd, type GaussianStats } from '../../lib/metrics/fid';
import { Rng } from '../../lib/data';

/** A Gaussian with the given mean and covariance (row-major d×d). */
function stats(mean: number[], cov: number[][]): GaussianStats {
  const d = mean.length;
  return { n: 1000, d, mean: Float64Array.from(mean), cov: Float64Array.from(cov.flat()) };
}

function diag(v: number[]): number[][] {
  return v.map((x, i) => v.map((_, j) => (i === j ? x : 0)));
}

/** Q diag(v) Qᵀ with Q a rotation by θ in the (0, 1) plane and the identity elsewhere. */
function rotated(v: number[], theta: number): number[][] {
  const d = v.length;
  const Q = diag(new Array(d).fill(1));
  Q[0][0] = Math.cos(theta);
  Q[0][1] = -Math.sin(theta);
  Q[1][0] = Math.sin(theta);
  Q[1][1] = Math.cos(theta);
  const out = Array.from({ length: d }, () => new Array(d).fill(0));
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) out[i][j] += Q[i][k] * v[k] * Q[j][k];
  return out;
}

describe('Fréchet distance against closed forms', () => {
  test('one dimension: (μ₁ − μ₂)² + (σ₁ − σ₂)²', () => {
    const d = frechetDistance(stats([1], [[4]]), stats([-2], [[9]]));
    assert.ok(Math.abs(d - (9 + 1)) < 1e-12, `got ${d}`);
  });

  test('diagonal covariances: ‖Δμ‖² + Σ (√a_i − √b_i)²', () => {
    const a = [1, 4, 0.25, 9, 2];
    const b = [9, 1, 1, 0.5, 2];
    const mu1 = [0, 1, 2, 3, 4];
    const mu2 = [1, 1, 0, 3, 5];
    let expected = 0;
    for (let i = 0; i < 5; i++) expected += (mu1[i] - mu2[i]) ** 2 + (Math.sqrt(a[i]) - Math.sqrt(b[i])) ** 2;
    const got = frechetDistance(stats(mu1, diag(a)), stats(mu2, diag(b)));
    assert.ok(Math.abs(got - expected) < 1e-10, `got ${got}, expected ${expected}`);
  });

  test('commuting covariances (same eigenvectors, rotated basis): same formula as diagonal', () => {
    const a = [3, 0.5, 2, 1];
    const b = [0.1, 4, 2, 7];
    let expected = 2; // ‖Δμ‖² below
    for (let i = 0; i < 4; i++) expected += (Math.sqrt(a[i]) - Math.sqrt(b[i])) ** 2;
    const got = frechetDistance(stats([1, 0, 0, 0], rotated(a, 0.7)), stats([0, 1, 0, 0], rotated(b, 0.7)));
    assert.ok(Math.abs(got - expected) < 1e-10, `got ${got}, expected ${expected}`);
  });

  test('non-commuting 2×2: tr√M = √(tr Σ₁Σ₂ + 2√(det Σ₁ det Σ₂))', () => {
    const S1 = rotated([4, 1], 0);
    const S2 = rotated([2, 0.5], 0.9); // different eigenvectors: Σ₁Σ₂ ≠ Σ₂Σ₁
    const tr12 = S1[0][0] * S2[0][0] + S1[0][1] * S2[1][0] + S1[1][0] * S2[0][1] + S1[1][1] * S2[1][1];
    const det = (S: number[][]) => S[0][0] * S[1][1] - S[0][1] * S[1][0];
    const trSqrt = Math.sqrt(tr12 + 2 * Math.sqrt(det(S1) * det(S2)));
    const expected = 0.5 ** 2 + 5 + 2.5 - 2 * trSqrt;
    const got = frechetDistance(stats([0.5, 0], S1), stats([0, 0], S2));
    assert.ok(Math.abs(got - expected) < 1e-10, `got ${got}, expected ${expected}`);
    // and a wrong formula (treating them as commuting) would differ: the test can fail
    const commuting = 0.25 + (2 - Math.sqrt(2)) ** 2 + (1 - Math.sqrt(0.5)) ** 2;
    assert.ok(Math.abs(got - commuting) > 1e-3);
  });

  test('symmetric, zero on identical inputs, never negative', () => {
    const S1 = rotated([4, 1, 0.3], 0.4);
    const S2 = rotated([1, 2, 0.7], 1.3);
    const a = stats([1, 2, 3], S1);
    const b = stats([0, 2, 1], S2);
    assert.ok(Math.abs(frechetDistance(a, b) - frechetDistance(b, a)) < 1e-10);
    assert.equal(frechetDistance(a, a) < 1e-10, true);
    assert.ok(frechetDistance(a, a) >= 0);
  });

  test('rejects feature widths that differ', () => {
    assert.throws(() => frechetDistance(stats([0], [[1]]), stats([0, 0], diag([1, 1]))), /feature widths differ \(1 vs 2\)/);
  });
});

describe('Gaussian statistics and the PSD square root', () => {
  test('mean and unbiased covariance of a small set, exactly', () => {
    // rows (1, 2), (3, 6), (5, 4): mean (3, 4); cov = [[4, 2], [2, 4]]
    const s = gaussianStats([1, 2, 3, 6, 5, 4], 3, 2);
    assert.deepEqual(Array.from(s.mean), [3, 4]);
    assert.deepEqual(Array.from(s.cov), [4, 2, 2, 4]);
  });

  test('sqrtPsd squares back to the matrix', () => {
    const S = rotated([5, 0.2, 3], 0.3).flat();
    const R = sqrtPsd(Float64Array.from(S), 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let v = 0;
        for (let k = 0; k < 3; k++) v += R[i * 3 + k] * R[k * 3 + j];
        assert.ok(Math.abs(v - S[i * 3 + j]) < 1e-10);
      }
    }
  });

  test('sampled Gaussians: FID of two large samples of N(μ, I) vs N(μ + δ, I) is close to ‖δ‖²', () => {
    const rng = new Rng(5);
    const n = 4000;
    const d = 4;
    const a = new Float64Array(n * d).map(() => rng.normal());
    const b = new Float64Array(n * d).map((_, i) => rng.normal() + (i % d === 0 ? 2 : 0));
    const f = fidFromFeatures(a, n, b, n, d);
    assert.ok(Math.abs(f - 4) < 0.15, `FID ${f}, expected ≈ 4`);
  });

  test('bad inputs are named', () => {
    assert.throws(() => gaussianStats([1, 2], 1, 2), /at least 2 samples; got n = 1/);
    assert.throws(() => gaussianStats([1, 2, 3], 2, 2), /expected 2×2 = 4 values; got 3/);
    assert.throws(() => gaussianStats([1, NaN, 3, 4], 2, 2), /feature \[0, 1\] is NaN/);
  });
});
