/**
 * Faster replacements for stock wasm kernels that dominate a transformer training step once the
 * matmuls are fast (profiled on the bench model, tfjs-backend-wasm 4.22, 1 thread):
 *
 *  - Transpose: rank-5 permutations ([B, T, 3, H, Dh] -> [3, B, H, T, Dh], the qkv split) take a
 *    per-element index path in C++ (~64 ms for 1.2M floats). Here: merge dims that stay
 *    adjacent, then copy contiguous runs (the last dim usually stays last) in the native addon's
 *    `permute` when it is loaded (4-byte types), else hand rank <= 4 back to the stock kernel and
 *    copy runs on the heap in JS.
 *  - Pow with a small integer (or 0.5) scalar exponent: std::pow per element (~23 ms for
 *    1.6M); GELU's x³ and its gradient's x² become multiplications.
 *  - Tanh: std::tanh per element (~24 ms for 1.6M); computed as 2·σ(2x) − 1 with the XNNPACK
 *    sigmoid (~1.4 ms). Absolute error ~1e-7 (cancellation near 0), relative to max|y| ≤ 1e-6.
 *  - Unpack: one rank-N Slice per output (slow at rank 5); here contiguous run copies.
 *  - Sum over leading axes (bias gradients): the stock kernel transposes first; here ones·X with
 *    the BLAS when the native path is on, else a float64 column sum.
 *  - Cast to the same dtype (every Multiply gradient does it): share the data, as Identity;
 *    Cast to bool: x ≠ 0 (the stock kernel stored −2 as 254).
 *  - Concat, SplitV: run copies on the heap instead of a per-element path (wasm-fast-copy.ts).
 *  - Identity: the stock kernel copies; tensors are immutable, so share the data (as the cpu
 *    engine does). Gradients and tf.clone call it hundreds of times per step.
 */
import * as tf from '@tensorflow/tfjs';
import { activeBlas } from './matmul';
import { concatKernel, splitVKernel } from './wasm-fast-copy';
import { WasmBackend, elemOffset, replaceKernel, restoreKernel, runWasmKernel, stockKernel } from './wasm-heap';

/** Merges input dims that stay adjacent and in order under `perm`; drops size-1 dims. */
export function collapsePermutation(shape: number[], perm: number[]): { shape: number[]; perm: number[] } {
  const keep = perm.filter((d) => shape[d] !== 1);
  if (keep.length === 0) return { shape: [], perm: [] };
  // groups of consecutive input dims appearing consecutively in the output order
  const groups: number[][] = [];
  for (const d of keep) {
    const g = groups[groups.length - 1];
    if (g && d === g[g.length - 1] + 1) g.push(d);
    else groups.push([d]);
  }
  const byInput = [...groups].sort((a, b) => a[0] - b[0]);
  const newShape = byInput.map((g) => g.reduce((p, d) => p * shape[d], 1));
  const newPerm = groups.map((g) => byInput.indexOf(g));
  return { shape: newShape, perm: newPerm };
}

function transposeOnHeap(heap: Int32Array | Uint8Array, xo: number, oo: number, shape: number[], perm: number[]): void {
  const r = shape.length;
  const inStrides = new Array(r).fill(1);
  for (let d = r - 2; d >= 0; d--) inStrides[d] = inStrides[d + 1] * shape[d + 1];
  const outShape = perm.map((p) => shape[p]);
  const stride = perm.map((p) => inStrides[p]); // input stride of each output dim
  const size = shape.reduce((p, d) => p * d, 1);
  const last = outShape[r - 1];
  const lastStride = stride[r - 1];
  const pos = new Array(r - 1).fill(0);
  let src = 0;
  let dst = oo;
  const outer = size / last;
  for (let i = 0; i < outer; i++) {
    const s = xo + src;
    if (lastStride === 1) {
      if (last >= 16) heap.copyWithin(dst, s, s + last);
      else for (let j = 0; j < last; j++) heap[dst + j] = heap[s + j];
    } else {
      for (let j = 0, k = s; j < last; j++, k += lastStride) heap[dst + j] = heap[k];
    }
    dst += last;
    for (let d = r - 2; d >= 0; d--) {
      pos[d]++;
      src += stride[d];
      if (pos[d] < outShape[d]) break;
      src -= stride[d] * outShape[d];
      pos[d] = 0;
    }
  }
}

function transposeKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const be = args.backend as unknown as WasmBackend;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as tf.TransposeAttrs;
    const outShape = perm.map((p) => x.shape[p]);
    const c = collapsePermutation(x.shape, perm);
    if (x.dtype === 'string' || x.dtype === 'complex64') return stock(args);
    const identity = c.perm.every((p, i) => p === i);
    if (identity) {
      // a pure relabelling of the same memory order: share the data, as Reshape does
      (be as unknown as { incRef(d: unknown): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: outShape, dtype: x.dtype };
    }
    const native = activeBlas();
    if (native?.permute && (x.dtype === 'float32' || x.dtype === 'int32')) {
      // the addon's run copy (C): the stock kernel's rank-4 path is ~10x slower on attention's [B, T, H, Dh] swaps
      const out = be.makeOutput(outShape, x.dtype);
      native.permute(be.wasm.HEAPF32, elemOffset(be, x), elemOffset(be, out), Int32Array.from(c.shape), Int32Array.from(c.perm));
      return out;
    }
    if (c.shape.length <= 4) {
      // the stock C++ kernel is fast up to rank 4: give it the collapsed view of the same memory
      const out = stock({ ...args, inputs: { x: { ...x, shape: c.shape } }, attrs: { perm: c.perm } }) as tf.TensorInfo;
      be.dataIdMap.get(out.dataId).shape = outShape;
      return { ...out, shape: outShape };
    }
    const out = be.makeOutput(outShape, x.dtype);
    const bytes = x.dtype === 'bool';
    const heap = bytes ? be.wasm.HEAPU8 : be.wasm.HEAP32;
    const xo = bytes ? be.dataIdMap.get(x.dataId).memoryOffset : elemOffset(be, x);
    const oo = bytes ? be.dataIdMap.get(out.dataId).memoryOffset : elemOffset(be, out);
    transposeOnHeap(heap, xo, oo, c.shape, c.perm);
    return out;
  };
}

/** A float32 scalar on the wasm heap (caller disposes). */
function scalar(be: WasmBackend, v: number): tf.TensorInfo {
  return be.makeOutput([], 'float32', undefined, Float32Array.of(v));
}

/** Runs a chain of wasm kernels, disposing every intermediate but the last result. */
function chain(be: WasmBackend, steps: ((prev: tf.TensorInfo) => tf.TensorInfo)[], first: tf.TensorInfo): tf.TensorInfo {
  let cur = first;
  let owned = false;
  for (const step of steps) {
    const next = step(cur);
    if (owned) be.disposeData(cur.dataId);
    cur = next;
    owned = true;
  }
  return cur;
}

function powKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const be = args.backend as unknown as WasmBackend;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const bSize = b.shape.reduce((p, d) => p * d, 1);
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || bSize !== 1 || b.shape.length > a.shape.length) return stock(args);
    const e = be.wasm.HEAPF32[elemOffset(be, b)];
    const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const x = { ...a, shape: outShape }; // same data: b is a scalar-sized tensor of rank <= a's
    const mul = (u: tf.TensorInfo, v: tf.TensorInfo) => runWasmKernel(be, 'Multiply', { a: u, b: v });
    // the SIMD Multiply/Sqrt kernels instead of std::pow per element
    if (e === 1) return runWasmKernel(be, 'Identity', { x });
    if (e === 2) return mul(x, x);
    if (e === 3) return chain(be, [(s) => mul(s, s), (s) => mul(s, x)], x);
    if (e === 4) return chain(be, [(s) => mul(s, s), (s) => mul(s, s)], x);
    if (e === 0.5) return runWasmKernel(be, 'Sqrt', { x });
    return stock(args);
  };
}

/** tanh(x) = 2·σ(2x) − 1 with the XNNPACK sigmoid. */
const tanhKernel: tf.KernelFunc = (args) => {
  const be = args.backend as unknown as WasmBackend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  if (x.dtype !== 'float32') throw new Error(`Tanh on wasm supports float32; got ${x.dtype}`);
  const two = scalar(be, 2);
  const one = scalar(be, 1);
  try {
    return chain(be, [
      (t) => runWasmKernel(be, 'Multiply', { a: t, b: two }),
      (t) => runWasmKernel(be, 'Sigmoid', { x: t }),
      (t) => runWasmKernel(be, 'Multiply', { a: t, b: two }),
      (t) => runWasmKernel(be, 'Sub', { a: t, b: one }),
    ], x);
  } finally {
    be.disposeData(two.dataId);
    be.disposeData(one.dataId);
  }
};

/** Unpack (tf.unstack): contiguous run copies instead of one rank-N Slice per output. */
const unpackKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const be = backend as unknown as WasmBackend;
  const { value } = inputs as { value: tf.TensorInfo };
  const rank = value.shape.length;
  let { axis } = attrs as unknown as tf.UnpackAttrs;
  if (axis < 0) axis += rank;
  if (value.dtype === 'string' || value.dtype === 'complex64') throw new Error(`Unpack on wasm: unsupported dtype ${value.dtype}`);
  const n = value.shape[axis];
  const outShape = value.shape.filter((_, i) => i !== axis);
  const outer = value.shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = value.shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outs: tf.TensorInfo[] = [];
  const bytes = value.dtype === 'bool';
  for (let i = 0; i < n; i++) {
    const out = be.makeOutput(outShape, value.dtype);
    const heap = bytes ? be.wasm.HEAPU8 : be.wasm.HEAP32;
    const xo = bytes ? be.dataIdMap.get(value.dataId).memoryOffset : elemOffset(be, value);
    const oo = bytes ? be.dataIdMap.get(out.dataId).memoryOffset : elemOffset(be, out);
    for (let o = 0; o < outer; o++) {
      const src = xo + (o * n + i) * inner;
      heap.copyWithin(oo + o * inner, src, src + inner);
    }
    outs.push(out);
  }
  return outs;
};

/**
 * Sum over leading axes ([R, C] -> [C], every bias gradient): a column sum in float64 on the
 * heap. The stock kernel transposes first. Other reductions go to the stock kernel.
 */
function sumKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const be = args.backend as unknown as WasmBackend;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    if (x.dtype !== 'float32') return stock(args);
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const k = axes.length;
    if (k === 0 || k === x.shape.length || !axes.every((a, i) => a === i)) return stock(args);
    const R = x.shape.slice(0, k).reduce((p, d) => p * d, 1);
    const C = x.shape.slice(k).reduce((p, d) => p * d, 1);
    const outShape = keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
    const out = be.makeOutput(outShape, 'float32');
    const blas = activeBlas();
    if (blas && R >= 64) {
      // ones[1, R] · x[R, C] with the BLAS (float32 accumulation, like the stock kernel)
      const ones = be.makeOutput([R], 'float32');
      const h = be.wasm.HEAPF32;
      const onesOff = elemOffset(be, ones);
      h.fill(1, onesOff, onesOff + R);
      blas.sgemmBatch(h, false, false, 1, C, R, Uint32Array.of(onesOff), Uint32Array.of(elemOffset(be, x)), elemOffset(be, out));
      be.disposeData(ones.dataId);
      return out;
    }
    const acc = new Float64Array(C);
    const h = be.wasm.HEAPF32;
    const xo = elemOffset(be, x);
    let r = 0;
    for (; r + 4 <= R; r += 4) {
      const r0 = xo + r * C;
      const r1 = r0 + C;
      const r2 = r1 + C;
      const r3 = r2 + C;
      for (let c = 0; c < C; c++) acc[c] += h[r0 + c] + h[r1 + c] + h[r2 + c] + h[r3 + c];
    }
    for (; r < R; r++) {
      const row = xo + r * C;
      for (let c = 0; c < C; c++) acc[c] += h[row + c];
    }
    h.set(acc, elemOffset(be, out));
    return out;
  };
}

const identityKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  (backend as unknown as { incRef(d: unknown): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/**
 * Cast to the dtype the tensor already has (every Multiply gradient casts its saved inputs):
 * share, as Identity. Cast to bool: x ≠ 0 (the stock kernel copies numbers into bytes, so −2
 * became 254). Everything else: the stock kernel.
 */
function castKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const be = args.backend as unknown as WasmBackend;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    if (x.dtype === dtype) return identityKernel(args) as tf.TensorInfo;
    if (dtype === 'bool' && (x.dtype === 'float32' || x.dtype === 'int32')) {
      const out = be.makeOutput(x.shape, 'bool');
      const n = x.shape.reduce((p, d) => p * d, 1);
      const src = x.dtype === 'float32' ? be.wasm.HEAPF32 : be.wasm.HEAP32;
      const xo = elemOffset(be, x);
      const oo = be.dataIdMap.get(out.dataId).memoryOffset;
      const dst = be.wasm.HEAPU8;
      for (let i = 0; i < n; i++) dst[oo + i] = src[xo + i] !== 0 ? 1 : 0;
      return out;
    }
    return stock(args);
  };
}

export const FAST_KERNELS = ['Transpose', 'Pow', 'Tanh', 'Identity', 'Unpack', 'Sum', 'Concat', 'SplitV', 'Cast'] as const;

/** Installs (or with `on` false removes) the faster kernels. */
export function setFastKernels(on: boolean): void {
  if (!on) {
    for (const k of FAST_KERNELS) restoreKernel(k);
    return;
  }
  const stockTranspose = stockKernel('Transpose');
  const stockPow = stockKernel('Pow');
  if (stockTranspose) replaceKernel('Transpose', transposeKernel(stockTranspose.kernelFunc));
  if (stockPow) replaceKernel('Pow', powKernel(stockPow.kernelFunc));
  replaceKernel('Tanh', tanhKernel);
  replaceKernel('Identity', identityKernel);
  replaceKernel('Unpack', unpackKernel);
  const stockSum = stockKernel('Sum');
  if (stockSum) replaceKernel('Sum', sumKernel(stockSum.kernelFunc));
  const stockConcat = stockKernel('Concat');
  if (stockConcat) replaceKernel('Concat', concatKernel(stockConcat.kernelFunc));
  const stockCast = stockKernel('Cast');
  if (stockCast) replaceKernel('Cast', castKernel(stockCast.kernelFunc));
  const stockSplitV = stockKernel('SplitV');
  if (stockSplitV) replaceKernel('SplitV', splitVKernel(stockSplitV.kernelFunc));
}
