/**
 * Concat and SplitV for the TF.js wasm engine as contiguous run copies on the heap.
 *
 * Profiled (npm run bench, per-op table): the stock kernels take a per-element path for
 * concatenation or splitting along an inner axis: 13 ms for MAE's [128, 17, 64] ‖ [128, 17, 32]
 * (the decoder's token concat), 3 ms per RoPE rotate-half split of [16, 2, 64, 32] in the
 * ancre-lm model (~25 % of its step with the concat back). Both are the same memory pattern: for
 * each of `outer` rows, one run per input (concat) or per output (split), of `inner_i` elements.
 *
 * Shapes: concat xs[i] [...pre, a_i, ...post] → [...pre, Σa_i, ...post];
 * split x [...pre, Σs_j, ...post] → [...pre, s_j, ...post] for each size s_j.
 */
import * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from './wasm-heap';

/** The heap view and element offset of a tensor (bytes for bool, 4-byte words otherwise). */
function heapOf(be: WasmBackend, t: tf.TensorInfo): { heap: Uint8Array | Int32Array; off: number } {
  const byteOff = be.dataIdMap.get(t.dataId).memoryOffset;
  return t.dtype === 'bool' ? { heap: be.wasm.HEAPU8, off: byteOff } : { heap: be.wasm.HEAP32, off: byteOff >>> 2 };
}

function copyRun(heap: Uint8Array | Int32Array, dst: number, src: number, n: number): void {
  if (n >= 16) heap.copyWithin(dst, src, src + n);
  else for (let j = 0; j < n; j++) heap[dst + j] = heap[src + j];
}

const prod = (xs: number[]) => xs.reduce((p, d) => p * d, 1);

const plainDtype = (d: tf.DataType) => d === 'float32' || d === 'int32' || d === 'bool';

/**
 * `runs[r][o]`: copy, for row o in 0..outer-1, between the big tensor's run at
 * `o * total + start_r` and the small tensor r's run at `o * len_r` (len_r elements).
 */
function copyRows(heap: Uint8Array | Int32Array, big: number, smalls: number[], lens: number[], outer: number, toBig: boolean): void {
  const total = lens.reduce((a, b) => a + b, 0);
  let start = 0;
  for (let r = 0; r < smalls.length; r++) {
    const len = lens[r];
    for (let o = 0; o < outer; o++) {
      const b = big + o * total + start;
      const s = smalls[r] + o * len;
      if (toBig) copyRun(heap, b, s, len);
      else copyRun(heap, s, b, len);
    }
    start += len;
  }
}

export function concatKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const be = args.backend as unknown as WasmBackend;
    const all = Array.from(args.inputs as unknown as ArrayLike<tf.TensorInfo>);
    const xs = all.filter((t) => prod(t.shape) > 0);
    if (xs.length < 2 || !xs.every((t) => plainDtype(t.dtype) && t.dtype === xs[0].dtype)) return stock(args);
    const rank = xs[0].shape.length;
    const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, xs[0].shape)[0];
    if (!xs.every((t) => t.shape.length === rank && t.shape.every((d, i) => i === axis || d === xs[0].shape[i]))) return stock(args);
    const outShape = xs[0].shape.slice();
    outShape[axis] = xs.reduce((s, t) => s + t.shape[axis], 0);
    const out = be.makeOutput(outShape, xs[0].dtype);
    const outer = prod(xs[0].shape.slice(0, axis));
    const post = prod(xs[0].shape.slice(axis + 1));
    const o = heapOf(be, out); // after the allocation: growth replaces the views
    copyRows(o.heap, o.off, xs.map((t) => heapOf(be, t).off), xs.map((t) => t.shape[axis] * post), outer, true);
    return out;
  };
}

export function splitVKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const be = args.backend as unknown as WasmBackend;
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { numOrSizeSplits, axis: ax } = args.attrs as unknown as tf.SplitVAttrs;
    if (!plainDtype(x.dtype)) return stock(args);
    const axis = tf.util.parseAxisParam(ax, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, axis);
    const post = prod(x.shape.slice(axis + 1));
    const outer = prod(x.shape.slice(0, axis));
    const outs = sizes.map((s) => {
      const shape = x.shape.slice();
      shape[axis] = s;
      return be.makeOutput(shape, x.dtype);
    });
    const xi = heapOf(be, x);
    copyRows(xi.heap, xi.off, outs.map((t) => heapOf(be, t).off), sizes.map((s) => s * post), outer, false);
    return outs;
  };
}
