/**
 * The fused LayerNorm / RMSNorm (lib/backend/fused-ops.ts) and the sigmoid-form GELU against the
 * unfused TF.js ops on random inputs: values and the gradients of x, g and b, for affine and
 * plain norms, rank 2 to 4, widths 1 to 130; the fallback on an engine without the fused path;
 * no leaked tensors. Runs on every engine pass of `npm test`.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/backend';
import { layerNorm, layerNormOps, rmsNorm, rmsNormOps, scaledSoftmax, scaledSoftmaxOps, setFusedNorms } from '../../lib/backend/fused-ops';
import { gelu, geluOps, geluExact, geluExactOps, geluTanh, silu, siluOps, swiGlu } from '../../lib/models/transformer';
import { assertClose, randTensor, readAll } from './compare';

before(async () => {
  await initEngine({ quiet: true });
});

/** Values and gradients (w.r.t. every input) of sum(f(...) · w) for a fixed random w. */
async function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number): Promise<Float32Array[]> {
  return readAll(
    tf.tidy(() => {
      const y = f(...xs);
      const w = randTensor(y.shape, seed);
      const gs = tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(f(...ins), w)))(xs);
      return [y, ...gs];
    }),
  );
}

const SHAPES: number[][] = [[5, 8], [3, 4, 16], [2, 3, 2, 130], [7, 1], [64, 50, 32]];

describe('fused norms against the TF.js ops', () => {
  for (const shape of SHAPES) {
    const D = shape[shape.length - 1];
    test(`LayerNorm and RMSNorm ${JSON.stringify(shape)}: values and gradients of x, g, b`, async () => {
      const before = tf.memory().numTensors;
      const x = tf.tidy(() => tf.add(tf.mul(randTensor(shape, 1), 3), 0.5)); // off-centre, so LayerNorm's mean matters
      const g = tf.tidy(() => tf.add(randTensor([D], 2), 1));
      const b = randTensor([D], 3);
      const cases: [string, (...a: tf.Tensor[]) => tf.Tensor, (...a: tf.Tensor[]) => tf.Tensor, tf.Tensor[]][] = [
        ['layerNorm affine', (a, c, d) => layerNorm(a, c, d, 1e-6), (a, c, d) => layerNormOps(a, c, d, 1e-6), [x, g, b]],
        ['layerNorm plain', (a) => layerNorm(a, null, null, 1e-5), (a) => layerNormOps(a, null, null, 1e-5), [x]],
        ['rmsNorm affine', (a, c) => rmsNorm(a, c, 1e-6), (a, c) => rmsNormOps(a, c, 1e-6), [x, g]],
        ['rmsNorm plain', (a) => rmsNorm(a, null, 1e-6), (a) => rmsNormOps(a, null, 1e-6), [x]],
      ];
      for (const [what, fused, ops, ins] of cases) {
        const a = await valueAndGrads(fused, ins, 9);
        const r = await valueAndGrads(ops, ins, 9);
        // width 1: LayerNorm is 0 and its gradient pure rounding noise, compared in absolute terms
        assertClose(a, r, D === 1 ? 1e-3 : 2e-5, `${what} ${JSON.stringify(shape)}`);
      }
      tf.dispose([x, g, b]);
      assert.equal(tf.memory().numTensors, before, 'leaked tensors');
    });
  }

  test('the fused path runs on wasm and cpu (one kernel call), and switching it off gives the ops back', async () => {
    const x = randTensor([4, 6], 5);
    const calls = async () =>
      (
        await tf.profile(async () => {
          const y = layerNorm(x, null, null, 1e-6);
          await y.data();
          y.dispose();
        })
      ).kernels.length;
    setFusedNorms(false);
    const off = await calls();
    setFusedNorms(true);
    const on = await calls();
    if (['wasm', 'cpu'].includes(tf.getBackend())) assert.ok(on === 1 && off >= 6, `kernel calls: fused ${on}, ops ${off}`);
    else assert.equal(on, off);
    x.dispose();
  });
});

describe('GELU as x·σ(2u)', () => {
  test('equals 0.5·x·(1 + tanh(u)) with its gradient, tails included', async () => {
    const x = tf.tidy(() => tf.mul(randTensor([6, 50], 11), 4)); // |x| up to ~8
    const a = await valueAndGrads(gelu, [x], 12);
    const r = await valueAndGrads(geluTanh, [x], 12);
    assertClose(a, r, 1e-5, 'gelu');
    x.dispose();
  });
});

describe('fused activations (GELU tanh form and exact, SiLU, SwiGLU) against the TF.js ops', () => {
  const shapes: number[][] = [[6, 50], [2, 3, 7], [1], [16, 128, 176]];
  for (const shape of shapes) {
    test(`${JSON.stringify(shape)}: values and gradients, tails included`, async () => {
      const before = tf.memory().numTensors;
      const x = tf.tidy(() => tf.mul(randTensor(shape, 31), 4)); // |x| up to ~15: both saturated tails
      const b = randTensor(shape, 32);
      const cases: [string, (...a: tf.Tensor[]) => tf.Tensor, (...a: tf.Tensor[]) => tf.Tensor, tf.Tensor[]][] = [
        ['gelu', gelu, geluOps, [x]],
        ['gelu exact', geluExact, geluExactOps, [x]],
        ['silu', silu, siluOps, [x]],
        ['swiglu', swiGlu, (a, c) => tf.mul(siluOps(a), c), [x, b]],
      ];
      for (const [what, fused, ops, ins] of cases) {
        const a = await valueAndGrads(fused, ins, 33);
        const r = await valueAndGrads(ops, ins, 33);
        assertClose(a, r, 2e-5, `${what} ${JSON.stringify(shape)}`);
      }
      tf.dispose([x, b]);
      assert.equal(tf.memory().numTensors, before, 'leaked tensors');
    });
  }

  test('one kernel call each way on cpu and on wasm with the native addon; the ops elsewhere', async () => {
    const x = randTensor([4, 6], 5);
    const b = randTensor([4, 6], 6);
    const calls = async (f: () => tf.Tensor) => (await tf.profile(async () => { const y = f(); await y.data(); y.dispose(); })).kernels.length;
    const grads = async (f: (a: tf.Tensor) => tf.Tensor) => (await tf.profile(async () => { const g = tf.grad(f)(x); await g.data(); g.dispose(); })).kernels.length;
    const fused = tf.getBackend() === 'cpu' || (tf.getBackend() === 'wasm' && process.env.REPRO_NATIVE_MATMUL !== '0');
    for (const [what, f] of [['gelu', () => gelu(x)], ['gelu exact', () => geluExact(x)], ['silu', () => silu(x)], ['swiglu', () => swiGlu(x, b)]] as const) {
      const n = await calls(f);
      if (fused) assert.equal(n, 1, `${what} kernel calls: ${n}`);
      else assert.ok(n >= 2, `${what} kernel calls: ${n}`);
    }
    // forward + backward of the fused GELU: its kernel, the gradient's kernel, and the seed dy (ones)
    if (fused) assert.ok((await grads((a) => gelu(a))) <= 3);
    else assert.ok((await grads((a) => geluOps(a))) >= 8);
    setFusedNorms(false); // the switch turns the fused activations off too
    assert.ok((await calls(() => gelu(x))) >= 5);
    setFusedNorms(true);
    tf.dispose([x, b]);
  });
});

describe('fused scaled softmax (attention) against the TF.js ops', () => {
  const cases: [number[], boolean][] = [[[2, 3, 5, 5], true], [[2, 3, 5, 5], false], [[1, 2, 1, 1], true], [[4, 7, 9], true], [[16, 2, 64, 64], true], [[3, 17], false]];
  for (const [shape, causal] of cases) {
    test(`${JSON.stringify(shape)} ${causal ? 'causal' : 'full'}: values and gradient`, async () => {
      const before = tf.memory().numTensors;
      const s = tf.tidy(() => tf.mul(randTensor(shape, 21), 6)); // large logits: the max subtraction matters
      const scale = 1 / Math.sqrt(8);
      const a = await valueAndGrads((x) => scaledSoftmax(x, scale, causal), [s], 22);
      const r = await valueAndGrads((x) => scaledSoftmaxOps(x, scale, causal), [s], 22);
      assertClose(a, r, 2e-5, `softmax ${JSON.stringify(shape)}`);
      // rows sum to 1 and nothing above the diagonal
      const y = tf.tidy(() => scaledSoftmax(s, scale, causal));
      const v = await y.data(); // webgpu reads asynchronously only
      const T = shape[shape.length - 1];
      for (let n = 0; n < v.length / T; n++) {
        let sum = 0;
        for (let j = 0; j < T; j++) sum += v[n * T + j];
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${n} sums to ${sum}`);
        if (causal) for (let j = (n % shape[shape.length - 2]) + 1; j < T; j++) assert.equal(v[n * T + j], 0, `row ${n} col ${j} above the diagonal`);
      }
      tf.dispose([s, y]);
      assert.equal(tf.memory().numTensors, before, 'leaked tensors');
    });
  }

  test('one kernel call on cpu and on wasm with the native addon; the ops elsewhere', async () => {
    const s = randTensor([2, 2, 6, 6], 5);
    const calls = async () =>
      (
        await tf.profile(async () => {
          const y = scaledSoftmax(s, 0.5, true);
          await y.data();
          y.dispose();
        })
      ).kernels.length;
    const n = await calls();
    const fused = tf.getBackend() === 'cpu' || (tf.getBackend() === 'wasm' && process.env.REPRO_NATIVE_MATMUL !== '0');
    if (fused) assert.equal(n, 1, `kernel calls: ${n}`);
    else assert.ok(n >= 3, `kernel calls: ${n}`);
    s.dispose();
  });
});
