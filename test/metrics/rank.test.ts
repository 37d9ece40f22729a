import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveRank, erankFromSingularValues, singularValues } from '../../lib/metrics/rank';
import { Rng } from '../../lib/data';

function gaussian(rng: Rng): number {
  return rng.normal();
}

describe('effective rank exp(H(σ/Σσ)) of the centred feature matrix', () => {
  test('exact on a matrix with known singular values', () => {
    // Rows ±s_i e_i: already centred, singular values √2·s_i.
    const s = [5, 3, 1, 0.5];
    const d = s.length;
    const x: number[] = [];
    for (let i = 0; i < d; i++) for (const sign of [1, -1]) for (let j = 0; j < d; j++) x.push(j === i ? sign * s[i] : 0);
    const sigma = singularValues(x, 2 * d, d);
    const want = s.map((v) => Math.SQRT2 * v);
    sigma.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-9, `σ_${i} = ${v}, want ${want[i]}`));
    const p = s.map((v) => v / s.reduce((a, b) => a + b));
    const erank = Math.exp(-p.reduce((h, pi) => h + pi * Math.log(pi), 0));
    assert.ok(Math.abs(effectiveRank(x, 2 * d, d) - erank) < 1e-9);
    // Equal singular values: erank = their number exactly.
    assert.ok(Math.abs(erankFromSingularValues([2, 2, 2, 0]) - 3) < 1e-12);
    // The n < d branch (Gram XXᵀ) gives the same answer on the transpose.
    const xt: number[] = [];
    for (let j = 0; j < d; j++) for (let i = 0; i < 2 * d; i++) xt.push(x[i * d + j]);
    assert.ok(Math.abs(effectiveRank(xt, d, 2 * d, { center: false }) - erank) < 1e-9);
  });

  test('a rank-r matrix has erank ≤ r; an isotropic Gaussian is near full rank', () => {
    const rng = new Rng(1);
    const [n, d, r] = [300, 20, 3];
    const a = Array.from({ length: n * r }, () => gaussian(rng));
    const b = Array.from({ length: r * d }, () => gaussian(rng));
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) for (let k = 0; k < r; k++) x[i * d + j] += a[i * r + k] * b[k * d + j];
    const er = effectiveRank(x, n, d);
    assert.ok(er <= r + 1e-6 && er > 1.5, `erank ${er}`);
    assert.ok(singularValues(x, n, d)[r] < 1e-6 * singularValues(x, n, d)[0]);
    const g = Float32Array.from({ length: 4000 * 16 }, () => gaussian(rng));
    const eg = effectiveRank(g, 4000, 16);
    assert.ok(eg > 15.5 && eg <= 16, `isotropic erank ${eg}`);
  });

  test('centring removes a shared offset; constant rows give 0; bad input is rejected', () => {
    const rows = [1, 2, 3, 1, 2, 3, 1, 2, 3];
    assert.equal(effectiveRank(rows, 3, 3), 0);
    assert.ok(Math.abs(effectiveRank(rows, 3, 3, { center: false }) - 1) < 1e-12);
    assert.throws(() => effectiveRank([1, 2, 3], 2, 2), /a 2×2 matrix needs 4 values; got 3/);
    assert.throws(() => effectiveRank([1, NaN, 3, 4], 2, 2), /non-finite entry: NaN at row 0, column 1/);
  });
});
