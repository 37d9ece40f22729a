/**
 * Every kernel the project's training needs, on the selected engine, against the pure-JS cpu
 * engine: forward values and gradients (relative error <= 1e-5 for matmuls, 1e-4 for chains
 * of transcendental ops whose wasm and JS implementations differ in the last bits).
 *
 * `npm test` runs this file three times: native BLAS matmul (default), the repaired wasm
 * kernels alone (REPRO_NATIVE_MATMUL=0), and the cpu engine (trivially equal, but the leak
 * checks still bite). On wasm the matmul cases also run on the repaired kernels explicitly.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, matmulPath, setMatmulPath, MatmulPath } from '../../lib/backend';
import { AdamW } from '../../lib/train/adamw';
import { assertClose, onBoth, randTensor } from './compare';

let paths: MatmulPath[] = [];

before(async () => {
  const info = await initEngine({ quiet: true });
  paths = info.engine === 'wasm' ? [...new Set<MatmulPath>([matmulPath(), 'repaired'])] : [];
});

/** Runs `body` once per matmul path available on this engine (once on non-wasm engines). */
async function forEachPath(body: (label: string) => Promise<void>): Promise<void> {
  if (!paths.length) return body(tf.getBackend());
  const start = matmulPath();
  try {
    for (const p of paths) {
      setMatmulPath(p);
      await body(`wasm/${p}`);
    }
  } finally {
    setMatmulPath(start);
  }
}

/**
 * Cases whose reductions a GPU sums in another order than the cpu engine: exact elsewhere, to
 * float32 rounding on webgpu (the bound is a few ulps of the largest value).
 */
const GPU_REDUCTION_TOL: Record<string, number> = {
  'cast to the same dtype and across dtypes, with the gradient of a product': 1e-6, // db sums over the broadcast rows
};

async function checkAgainstCpu(what: string, tol: number, f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const before = tf.memory().numTensors;
  const { engine, cpu } = await onBoth(f);
  if (tf.getBackend() === 'webgpu' && what in GPU_REDUCTION_TOL) tol = Math.max(tol, GPU_REDUCTION_TOL[what]);
  assertClose(engine, cpu, tol, what);
  assert.equal(tf.memory().numTensors, before, `${what}: leaked tensors`);
}

/** d/d(inputs) of sum(f(inputs) * w) for a fixed random w: every output gets a non-trivial upstream gradient. */
function gradsOf(f: (...xs: tf.Tensor[]) => tf.Tensor, shapes: number[][], seed: number): tf.Tensor[] {
  const xs = shapes.map((s, i) => randTensor(s, seed + i));
  const y0 = f(...xs);
  const w = randTensor(y0.shape, seed + 100);
  const g = tf.grads((...ins: tf.Tensor[]) => tf.sum(tf.mul(f(...ins), w)));
  return [y0, ...g(xs)];
}

describe('BatchMatMul / _FusedMatMul against the cpu engine', () => {
  // [aShape, bShape] before transposes; batch dims broadcast in every way TF.js allows.
  const cases: [number[], number[]][] = [
    [[17, 23], [23, 9]],
    [[1, 64, 32], [1, 32, 48]],
    [[5, 12, 7], [5, 7, 11]], // batched, equal batch (attention)
    [[4, 3, 10, 6], [3, 6, 8]], // rank 4 against rank 3
    [[2, 1, 9, 5], [4, 5, 7]], // broadcast on both sides
    [[6, 13, 8], [8, 10]], // shared weight matrix: folds into rows
    [[1, 13, 8], [3, 8, 10]], // A broadcast over B's batch
    [[2, 3, 1, 4, 5], [3, 1, 5, 2]], // rank 5, M = 1... K = 5
    [[3, 7, 0], [3, 0, 4]], // K = 0: zeros
  ];
  for (const [sa, sb] of cases) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const name = `matMul [${sa}]·[${sb}] transposeA=${ta} transposeB=${tb}`;
      test(name, async () => {
        const swap = (s: number[]) => [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]];
        const shA = ta ? swap(sa) : sa;
        const shB = tb ? swap(sb) : sb;
        await forEachPath(async (label) => {
          await checkAgainstCpu(`${label} ${name}`, 1e-5, () => {
            let a = randTensor(shA, 1);
            let b = randTensor(shB, 2);
            // The cpu engine's BatchMatMul (tfjs-backend-cpu 4.22) pairs batch elements by
            // `i % batchA`, `i % batchB` over the flattened batch: wrong when both operands
            // broadcast ([2,1]·[4]). Give the reference fully broadcast operands; the engine
            // under test gets the raw ones.
            if (tf.getBackend() === 'cpu') {
              const outer = tf.broadcast_util.assertAndGetBroadcastShape(shA.slice(0, -2), shB.slice(0, -2));
              a = tf.broadcastTo(a, [...outer, ...shA.slice(-2)]);
              b = tf.broadcastTo(b, [...outer, ...shB.slice(-2)]);
            }
            return tf.matMul(a, b, ta, tb);
          });
        });
      });
    }
  }

  test('the cpu engine broadcasts batch dims correctly (lib/backend/cpu-kernels.ts)', async () => {
    const backend = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      const before = tf.memory().numTensors;
      for (const [sa, sb] of [[[2, 1, 9, 5], [4, 5, 7]], [[2, 3, 1, 4, 5], [3, 1, 5, 2]], [[5, 1, 3, 4], [1, 6, 4, 2]]]) {
        const { raw, full } = tf.tidy(() => {
          const a = randTensor(sa, 3);
          const b = randTensor(sb, 4);
          const outer = tf.broadcast_util.assertAndGetBroadcastShape(sa.slice(0, -2), sb.slice(0, -2));
          const full = tf.matMul(tf.broadcastTo(a, [...outer, ...sa.slice(-2)]), tf.broadcastTo(b, [...outer, ...sb.slice(-2)]));
          return { raw: tf.matMul(a, b).dataSync().slice(), full: full.dataSync().slice() };
        });
        assertClose([Float32Array.from(raw)], [Float32Array.from(full)], 0, `cpu matMul [${sa}]·[${sb}]`);
      }
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await tf.setBackend(backend);
    }
  });

  test('matMul gradients (all transposes) match cpu', async () => {
    await forEachPath(async (label) => {
      for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        const sa = ta ? [3, 20, 12] : [3, 12, 20];
        for (const sb of tb ? [[16, 20], [3, 16, 20], [1, 16, 20]] : [[20, 16], [3, 20, 16], [1, 20, 16]]) {
          // broadcast weights [K, N] against [B, M, K]: needs the batch-summing gradient of lib/backend/gradients.ts
          await checkAgainstCpu(`${label} grad [${sa}]·[${sb}] ta=${ta} tb=${tb}`, 1e-5, () =>
            gradsOf((a, b) => tf.matMul(a, b, ta, tb), [sa, sb], 7),
          );
        }
      }
    });
  });

  const activations = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;
  for (const activation of activations) {
    test(`fused matMul with bias and ${activation}, and its gradient`, async () => {
      await forEachPath(async (label) => {
        await checkAgainstCpu(`${label} fused ${activation}`, 1e-5, () => {
          const prelu = activation === 'prelu' ? randTensor([10], 5) : undefined;
          const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
            tf.fused.matMul({
              a, b, bias, activation, transposeB: true, leakyreluAlpha: 0.15,
              preluActivationWeights: prelu,
            });
          // tf.fused.matMul's own gradient (tfjs-core) cannot un-broadcast a batch: equal batches
          return [...gradsOf(f, [[4, 9, 6], [4, 10, 6], [10]], 11), ...gradsOf(f, [[9, 6], [10, 6], [10]], 12)];
        });
      });
    });
  }

  test('fused matMul with a broadcast rank-2 bias', async () => {
    await forEachPath(async (label) => {
      await checkAgainstCpu(`${label} fused bias [9,1]`, 1e-5, () =>
        tf.fused.matMul({ a: randTensor([2, 9, 6], 1), b: randTensor([2, 6, 5], 2), bias: randTensor([9, 1], 3), activation: 'relu' }),
      );
    });
  });
});

describe('training kernels against the cpu engine (values and gradients)', () => {
  const ops: [string, number, () => tf.Tensor[]][] = [
    ['embedding gather (UnsortedSegmentSum)', 1e-5, () => {
      const ids = tf.tensor2d([[3, 1, 3, 0], [7, 3, 1, 1]], [2, 4], 'int32');
      return gradsOf((table) => tf.gather(table, ids), [[10, 6]], 1);
    }],
    // more inputs than one WebGPU shader stage may bind (8 storage buffers on llvmpipe): AdamW's norm sums one per parameter
    ['addN of 3, 8 and 53 tensors, with the gradient', 1e-5, () => [
      tf.addN([0, 1, 2].map((i) => randTensor([4, 5], 60 + i))),
      tf.addN(Array.from({ length: 8 }, (_, i) => randTensor([7], 70 + i))),
      ...gradsOf((...xs) => tf.addN(xs.map((x, i) => tf.mul(x, i + 1))), Array.from({ length: 53 }, () => [3, 2]), 80),
    ]],
    ['unsortedSegmentSum direct, with an out-of-range id', 1e-6, () => [
      tf.unsortedSegmentSum(randTensor([6, 3, 2], 2), tf.tensor1d([0, 4, 4, 1, 9, 0], 'int32'), 5),
    ]],
    ['softmax cross-entropy', 1e-5, () => {
      const labels = tf.oneHot(tf.tensor1d([2, 0, 4, 4, 1, 3], 'int32'), 7);
      return gradsOf((logits) => tf.losses.softmaxCrossEntropy(labels, logits), [[6, 7]], 3);
    }],
    ['log-softmax + gather cross-entropy', 1e-5, () => {
      const idx = tf.tensor1d([2, 0, 4, 4, 1, 3], 'int32');
      return gradsOf((logits) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(idx, 7)), -1))), [[6, 7]], 4);
    }],
    ['layer norm from moments', 1e-4, () =>
      gradsOf((x, g, b) => {
        const { mean, variance } = tf.moments(x, -1, true);
        return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      }, [[3, 5, 8], [8], [8]], 5)],
    ['GELU (erf)', 1e-4, () => gradsOf((x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))), [[4, 9]], 6)],
    ['GELU (tanh)', 1e-4, () =>
      gradsOf((x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))), [[4, 9]], 7)],
    ['SiLU', 1e-5, () => gradsOf((x) => tf.mul(x, tf.sigmoid(x)), [[4, 9]], 8)],
    ['tanh, erf, exp, log, abs, square', 1e-4, () =>
      gradsOf((x) => tf.addN([tf.tanh(x), tf.erf(x), tf.exp(tf.mul(x, 0.3)), tf.log(tf.add(tf.abs(x), 1)), tf.square(x)]), [[5, 6]], 9)],
    ['sqrt, rsqrt, reciprocal, pow', 1e-4, () =>
      gradsOf((x) => {
        const p = tf.add(tf.abs(x), 0.5);
        return tf.addN([tf.sqrt(p), tf.rsqrt(p), tf.reciprocal(p), tf.pow(p, 1.5)]);
      }, [[5, 6]], 10)],
    ['concat, slice, stridedSlice, pad', 1e-5, () =>
      gradsOf((a, b) => {
        const c = tf.concat([a, b], 1); // [3, 9, 4]
        const s = tf.slice(c, [0, 2, 1], [3, 5, 3]);
        const ss = tf.stridedSlice(c, [0, 1, 0], [3, 9, 4], [1, 2, 2]);
        return tf.concat([tf.pad(s, [[0, 0], [1, 2], [0, 0]]).reshape([3, -1]), ss.reshape([3, -1])], 1);
      }, [[3, 4, 4], [3, 5, 4]], 11)],
    ['concat and split on every axis, 3 parts, an empty part, RoPE rotate-half (fast run-copy kernels)', 0, () =>
      gradsOf((a, b, c) => {
        const outs = [0, 1, 2, -1].map((ax) => tf.concat([a, b, c].map((t) => (ax === 1 || ax === 2 || ax === -1 ? t : tf.slice(t, [0, 0, 0], [2, 3, 4]))), ax));
        const [p, q, r] = tf.split(a, [1, -1, 2], 2); // [2, 3, 1], [2, 3, 1], [2, 3, 2]
        const [u, v] = tf.split(tf.concat([a, tf.zeros([2, 0, 4]), b], 1), 2, 1); // empty part dropped
        const [x1, x2] = tf.split(c, 2, -1); // rotate-half: [-x2, x1]
        const rot = tf.concat([tf.neg(x2), x1], -1);
        return tf.concat([...outs, p, q, r, u, v, rot].map((t) => t.reshape([-1])), 0);
      }, [[2, 3, 4], [2, 3, 4], [2, 3, 4]], 41)],
    ['cast to the same dtype and across dtypes, with the gradient of a product', 0, () => [
      tf.cast(randTensor([3, 4], 42), 'float32'), tf.cast(tf.cast(randTensor([3, 4], 43), 'int32'), 'float32'), tf.cast(tf.cast(tf.range(-2, 3), 'bool'), 'float32'),
      ...gradsOf((a, b) => tf.mul(a, b), [[3, 4], [4]], 44),
    ]],
    ['concat and split of int32 and bool', 0, () => {
      const i = tf.reshape(tf.range(0, 24, 1, 'int32'), [2, 3, 4]);
      const b = tf.greater(tf.mod(i, 5), 1);
      const [i0, i1] = tf.split(i, [3, 1], 2);
      const [b0, b1] = tf.split(b, [1, 2], 1);
      return [tf.concat([i, i0], 2), i1, tf.concat([b, b0, b1], 1), tf.concat([b0, b], 1)].map((t) => t.cast('float32'));
    }],
    ['transpose, reshape, tile, stack/unstack, expandDims, squeeze', 1e-5, () =>
      gradsOf((x) => {
        const t = tf.transpose(x.reshape([2, 3, 4, 5]), [0, 2, 1, 3]);
        const parts = tf.unstack(t, 1);
        return tf.stack([parts[0], tf.tile(parts[1], [1, 1, 1]), tf.squeeze(tf.expandDims(parts[3], 0), [0])]);
      }, [[6, 20]], 12)],
    ['mean, sum, max, min, logSumExp', 1e-5, () =>
      gradsOf((x) => tf.concat([tf.mean(x, 1), tf.sum(x, 1), tf.max(x, 1), tf.min(x, 1), tf.logSumExp(x, 1)], 0), [[4, 7, 3]], 13)],
    ['softmax over the last axis', 1e-5, () => gradsOf((x) => tf.softmax(x), [[2, 3, 8]], 14)],
    ['cumsum (forward, reverse, exclusive)', 1e-5, () =>
      gradsOf((x) => tf.concat([tf.cumsum(x, 1), tf.cumsum(x, 1, true, true)], 0), [[3, 6]], 15)],
    ['where/select and a causal mask', 1e-5, () => {
      const mask = tf.linalg.bandPart(tf.ones([5, 5]), -1, 0).cast('bool');
      return gradsOf((s) => tf.softmax(tf.where(mask, s, tf.fill([5, 5], -1e9))), [[5, 5]], 16);
    }],
    ['maximum, minimum, clipByValue, relu', 1e-5, () =>
      gradsOf((a, b) => tf.addN([tf.maximum(a, b), tf.minimum(a, b), tf.clipByValue(a, -0.5, 0.5), tf.relu(b)]), [[4, 5], [4, 5]], 17)],
    ['random masking: topk of noise, gather kept tokens', 1e-5, () => {
      const noise = randTensor([3, 10], 18);
      const { values, indices } = tf.topk(tf.neg(noise), 4); // argsort ascending, first 4
      const keep = tf.gather(randTensor([3, 10, 5], 19), indices, 1, 1); // [3, 4, 5]
      const grads = gradsOf((x) => tf.gather(x, indices, 1, 1), [[3, 10, 5]], 20);
      return [values, indices.cast('float32'), keep, ...grads];
    }],
    ['gatherND and scatterND', 1e-5, () => {
      const idx = tf.tensor2d([[0, 1], [2, 3], [1, 0], [2, 3]], [4, 2], 'int32');
      return [
        ...gradsOf((x) => tf.gatherND(x, idx), [[3, 4, 5]], 21),
        tf.scatterND(idx, randTensor([4, 5], 22), [3, 4, 5]),
      ];
    }],
    ['conv2d forward and both gradients', 1e-4, () =>
      gradsOf((x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, [2, 2], 'same'), [[2, 9, 9, 3], [3, 3, 3, 4]], 23)],
    ['depthwise conv2d gradients', 1e-4, () =>
      gradsOf((x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid'), [[2, 6, 6, 3], [3, 3, 3, 2]], 24)],
    ['int32 and bool through stridedSlice, gather (batchDims), concat, transpose', 0, () => {
      const i = tf.reshape(tf.range(0, 24, 1, 'int32'), [2, 3, 4]);
      const b = tf.greater(i, 9);
      const idx = tf.tensor2d([[2, 0], [1, 1]], [2, 2], 'int32');
      const outs = [
        tf.stridedSlice(i, [0, 0, 1], [2, 3, 4], [1, 2, 2]), tf.stridedSlice(b, [0, 0, 1], [2, 3, 4], [1, 2, 2]),
        tf.gather(i, idx, 1, 1), tf.gather(b, idx, 1, 1), tf.gather(i, [3, 0], 2), tf.concat([i, i], 2), tf.transpose(b, [2, 0, 1]),
      ];
      outs.forEach((t, k) => assert.equal(t.dtype, k % 2 === 1 && k < 4 ? 'bool' : k === 6 ? 'bool' : 'int32', `output ${k} dtype`));
      return outs.map((t) => t.cast('float32'));
    }],
    ['transpose, every rank-5 layout the attention uses, and int32/bool', 0, () => {
      const x = randTensor([4, 5, 3, 2, 6], 40);
      const perms = [[2, 0, 3, 1, 4], [0, 2, 1, 3, 4], [4, 3, 2, 1, 0], [1, 0, 2, 3, 4], [0, 1, 2, 4, 3], [3, 4, 0, 1, 2]];
      const i = tf.reshape(tf.range(0, 720, 1, 'int32'), [4, 5, 3, 2, 6]);
      const b = tf.greater(tf.mod(i, 7), 3);
      return [
        ...perms.map((p) => tf.transpose(x, p)),
        tf.transpose(i, [2, 0, 3, 1, 4]).cast('float32'),
        tf.transpose(b, [4, 0, 3, 1, 2]).cast('float32'),
        tf.transpose(randTensor([3, 1, 4, 1, 5], 41), [4, 3, 2, 1, 0]),
        tf.transpose(randTensor([2, 3, 4], 42), [0, 1, 2]),
      ];
    }],
    ['pow with scalar exponents 1, 2, 3, 4, 0.5, 1.7 and a tensor exponent', 1e-5, () => {
      const exps = [1, 2, 3, 4, 0.5, 1.7];
      return [
        ...exps.flatMap((e) => gradsOf((x) => tf.pow(tf.add(tf.abs(x), 0.1), e), [[6, 7]], 43)),
        tf.pow(tf.abs(randTensor([3, 4], 44)), randTensor([4], 45)),
      ];
    }],
    ['tanh over a wide range and its gradient', 1e-6, () => [
      tf.tanh(tf.mul(randTensor([4000], 46), 20)),
      tf.tanh(tf.tensor1d([0, 1e-6, -1e-3, 30, -30, 80, -80])),
      ...gradsOf((x) => tf.tanh(x), [[50, 9]], 47),
    ]],
    ['unstack on every axis (float32, int32, bool)', 0, () => {
      const x = randTensor([3, 4, 2, 5], 48);
      const i = tf.reshape(tf.range(0, 120, 1, 'int32'), [3, 4, 2, 5]);
      return [
        ...[0, 1, 2, 3, -1].flatMap((a) => tf.unstack(x, a)),
        ...tf.unstack(i, 2).map((t) => t.cast('float32')),
        ...tf.unstack(tf.greater(i, 50), 1).map((t) => t.cast('float32')),
      ];
    }],
    ['sum over leading, trailing and mixed axes, keepDims', 1e-5, () => {
      const x = randTensor([40, 3, 7], 49);
      return [tf.sum(x, 0), tf.sum(x, [0, 1]), tf.sum(x, [0, 1], true), tf.sum(x, 2), tf.sum(x, [0, 2]), tf.sum(x), tf.sum(tf.cast(tf.greater(x, 0), 'int32'), 0).cast('float32')];
    }],
    ['identity and clone share data safely', 0, () => {
      const x = randTensor([5, 6], 50);
      const c = tf.clone(x);
      x.dispose(); // the clone must survive its source
      return [c, tf.add(c, 1)];
    }],
    ['einsum', 1e-5, () => [tf.einsum('bij,bjk->bik', randTensor([2, 3, 4], 25), randTensor([2, 4, 5], 26))]],
  ];
  for (const [name, tol, f] of ops) {
    test(name, async () => {
      await checkAgainstCpu(name, tol, f);
    });
  }

  test('training steps of a small attention block keep the tensor count flat', async () => {
    const D = 16;
    const vars = {
      emb: tf.variable(randTensor([11, D], 30), true, 'kt/emb'),
      wqkv: tf.variable(tf.mul(randTensor([D, 3 * D], 31), 0.2), true, 'kt/wqkv'),
      wo: tf.variable(tf.mul(randTensor([D, D], 32), 0.2), true, 'kt/wo'),
    };
    const ids = tf.tensor2d([[1, 4, 2, 9, 3], [0, 10, 5, 5, 7]], [2, 5], 'int32');
    const causal = tf.linalg.bandPart(tf.ones([5, 5]), -1, 0).cast('bool');
    const opt = new AdamW(Object.entries(vars).map(([name, variable]) => ({ name, variable, decay: true })), {
      beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.05, clipNorm: 1,
    });
    const loss = () =>
      tf.tidy(() => {
        const x = tf.gather(vars.emb, ids); // [B, T, D]
        const qkv = tf.matMul(x, vars.wqkv); // [B, T, 3D]: rank-3 · rank-2, broadcast weights
        const [q, k, v] = tf.split(qkv, 3, -1);
        const att = tf.softmax(tf.where(causal, tf.div(tf.matMul(q, k, false, true), Math.sqrt(D)), tf.fill([5, 5], -1e9)));
        const y = tf.matMul(tf.matMul(att, v), vars.wo); // [B, T, D]
        return tf.losses.softmaxCrossEntropy(tf.oneHot(ids.reshape([-1]), 11), tf.matMul(y.reshape([-1, D]), vars.emb, false, true));
      }) as tf.Scalar;
    const step = async () => {
      const { value, grads } = tf.variableGrads(loss);
      await opt.stepAsync(grads, 1e-2);
      const v = (await value.data())[0];
      value.dispose();
      tf.dispose(grads);
      return v;
    };
    const first = await step();
    const count = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 5; i++) last = await step();
    assert.equal(tf.memory().numTensors, count, 'tensors leaked across training steps');
    assert.ok(Number.isFinite(last) && last < first, `loss did not fall: ${first} -> ${last}`);
    opt.dispose();
    tf.dispose([ids, causal, ...Object.values(vars)]);
  });

  test('a failing comparison is detected (the helper can fail)', async () => {
    const { engine, cpu } = await onBoth(() => tf.ones([3]));
    engine[0][1] += 1e-3;
    assert.throws(() => assertClose(engine, cpu, 1e-5, 'perturbed'), /relative error/);
  });
});
