import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { convergedProbe, lbfgs, standardise } from '../../lib/metrics/probe-converged';
import { linearProbe } from '../../lib/metrics/probe';
import { Rng } from '../../lib/data';
import { initTestEngine } from '../residual/engine';

before(initTestEngine);

/** Overlapping Gaussian classes: not separable, so the optimum is finite and unique. */
function blobs(n: number, dim: number, classes: number, seed: number) {
  const rng = new Rng(seed);
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let j = 0; j < dim; j++) data[i * dim + j] = (j === c % dim ? 1.5 : 0) + rng.normal() * (1 + j);
  }
  return { data, labels, n, dim };
}

/** Solves A x = b by Gaussian elimination with partial pivoting (A is small, dense, float64). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]]);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i][k]) > Math.abs(M[p][k])) p = i;
    [M[k], M[p]] = [M[p], M[k]];
    for (let i = k + 1; i < n; i++) {
      const f = M[i][k] / M[k][k];
      for (let j = k; j <= n; j++) M[i][j] -= f * M[k][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i][n];
    for (let j = i + 1; j < n; j++) s -= M[i][j] * x[j];
    x[i] = s / M[i][i];
  }
  return x;
}

/**
 * The probe's objective solved by Newton's method in float64 (the multinomial IRLS step with the full
 * Hessian). θ = [W (D×C row-major); b (C)]; the direction b + c·1 leaves f unchanged, so a 1e-9 ridge
 * keeps the Newton system solvable without moving the optimum of f.
 */
function newtonOptimum(z: Float32Array, y: Int32Array, D: number, C: number, l2: number): number {
  const N = y.length;
  const P = D * C + C;
  let th = new Array<number>(P).fill(0);
  let f = 0;
  for (let it = 0; it < 50; it++) {
    const g = new Array<number>(P).fill(0);
    const H = Array.from({ length: P }, () => new Array<number>(P).fill(0));
    f = 0;
    for (let i = 0; i < N; i++) {
      const x = [...Array.from(z.subarray(i * D, (i + 1) * D)), 1]; // [D + 1]: the bias as a constant input
      const logit = Array.from({ length: C }, (_, c) => th[D * C + c] + x.slice(0, D).reduce((s, v, d) => s + v * th[d * C + c], 0));
      const mx = Math.max(...logit);
      const e = logit.map((v) => Math.exp(v - mx));
      const se = e.reduce((a, b) => a + b, 0);
      const p = e.map((v) => v / se);
      f += (mx + Math.log(se) - logit[y[i]]) / N;
      const idx = (d: number, c: number) => (d < D ? d * C + c : D * C + c);
      for (let c = 0; c < C; c++) {
        const r = (p[c] - (c === y[i] ? 1 : 0)) / N;
        for (let d = 0; d <= D; d++) g[idx(d, c)] += r * x[d];
        for (let c2 = 0; c2 < C; c2++) {
          const w = ((c === c2 ? p[c] : 0) - p[c] * p[c2]) / N;
          for (let d = 0; d <= D; d++) for (let d2 = 0; d2 <= D; d2++) H[idx(d, c)][idx(d2, c2)] += w * x[d] * x[d2];
        }
      }
    }
    for (let k = 0; k < D * C; k++) {
      f += l2 * th[k] ** 2;
      g[k] += 2 * l2 * th[k];
      H[k][k] += 2 * l2;
    }
    if (Math.max(...g.map(Math.abs)) < 1e-13) break;
    for (let k = 0; k < P; k++) H[k][k] += 1e-9;
    const step = solve(H, g.map((v) => -v));
    th = th.map((v, k) => v + step[k]);
  }
  return f;
}

describe('converged linear probe (L-BFGS to tolerance)', () => {
  test('reaches the optimum Newton/IRLS finds on a small multinomial logistic regression; no leaked tensors', () => {
    const tr = blobs(90, 3, 3, 1);
    const te = blobs(45, 3, 3, 2);
    const l2 = 1e-3;
    const before = tf.memory().numTensors;
    const r = convergedProbe(tr, tr.labels, te, te.labels, { l2, gradTol: 1e-7, lossTol: 0 });
    assert.equal(tf.memory().numTensors, before);
    assert.ok(r.converged, `converged after ${r.iterations} iterations, gradient ${r.gradNorm}`);
    const z = standardise(tr, te).train;
    const fStar = newtonOptimum(z, tr.labels, 3, 3, l2);
    // float32 logits: agreement to ~1e-6 of a loss near 0.9.
    assert.ok(Math.abs(r.trainLoss - fStar) < 2e-6, `L-BFGS ${r.trainLoss} vs Newton ${fStar}`);
    assert.ok(r.trainAccuracy > 0.5 && r.trainAccuracy <= 1 && r.testAccuracy > 0.4, JSON.stringify(r));
  });

  test('the 300-step Adam probe stops above the optimum of the same objective', () => {
    const tr = blobs(400, 12, 4, 3);
    const te = blobs(200, 12, 4, 4);
    const adam = linearProbe(tr, tr.labels, te, te.labels, { epochs: 20, lr: 0.01, l2: 1e-4 });
    const conv = convergedProbe(tr, tr.labels, te, te.labels, { l2: 1e-4 });
    assert.ok(conv.converged);
    assert.ok(conv.trainLoss < adam.trainLoss - 1e-3, `converged ${conv.trainLoss} vs Adam ${adam.trainLoss}`);
  });

  test('lbfgs minimises a quadratic exactly; deterministic; bad settings name the field', () => {
    // f(x) = Σ_i (i + 1)(x_i − i)²: minimum 0 at x_i = i.
    const fg = (x: Float64Array) => ({ f: x.reduce((s, v, i) => s + (i + 1) * (v - i) ** 2, 0), g: x.map((v, i) => 2 * (i + 1) * (v - i)) });
    const r = lbfgs(fg, new Float64Array(6), { gradTol: 1e-10, lossTol: 0, maxIter: 200, memory: 5 });
    assert.ok(r.converged);
    r.x.forEach((v, i) => assert.ok(Math.abs(v - i) < 1e-9, `x[${i}] = ${v}`));
    const tr = blobs(60, 4, 3, 5);
    assert.deepEqual(convergedProbe(tr, tr.labels, tr, tr.labels), convergedProbe(tr, tr.labels, tr, tr.labels));
    assert.throws(() => convergedProbe(tr, tr.labels, tr, tr.labels, { gradTol: 0 }), /convergedProbe.gradTol/);
    assert.throws(() => convergedProbe(tr, tr.labels, tr, tr.labels, { maxIter: 0 }), /convergedProbe.maxIter/);
    assert.throws(() => convergedProbe(tr, tr.labels.subarray(1), tr, tr.labels), /60 feature rows but 59 labels/);
    const capped = convergedProbe(tr, tr.labels, tr, tr.labels, { maxIter: 1, gradTol: 1e-12, lossTol: 0 });
    assert.equal(capped.iterations, 1);
    assert.equal(capped.converged, false);
  });
});
