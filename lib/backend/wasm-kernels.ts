/**
 * Kernels that training needs and tfjs-backend-wasm 4.22 does not register.
 *
 *  - UnsortedSegmentSum: the gradient of `gather`, i.e. of every embedding table. Written here
 *    directly on the wasm heap (one pass, O(N·D)); the cpu engine's version builds a mask per
 *    segment (O(numSegments·N·D)), far too slow for a vocabulary.
 *  - GatherV2: the stock kernel is wrong for batchDims > 0; replaced by a slice copy on the heap.
 *  - StridedSlice: the stock kernel mislabels int32 results as float32 and corrupts bool.
 *  - Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter/Input, Einsum: rarely on our hot
 *    path (the models patchify with reshape/transpose, not conv), so they borrow the cpu
 *    engine's kernel: inputs copied to the cpu engine, run, output copied back. Correct and
 *    exact; speed is the cpu engine's.
 */
import * as tf from '@tensorflow/tfjs';
import { WasmBackend, elemOffset, replaceKernel, runWasmKernel, stockKernel } from './wasm-heap';

/** out[segmentIds[i], ...] += x[i, ...]; ids outside [0, numSegments) are dropped, as in TF. */
const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const be = backend as unknown as WasmBackend;
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`UnsortedSegmentSum on wasm supports float32 and int32; got ${x.dtype}`);
  }
  if (segmentIds.dtype !== 'int32') throw new Error(`UnsortedSegmentSum: segmentIds must be int32; got ${segmentIds.dtype}`);
  // segmentIds covers the leading dims of x (TF semantics); the rest is one row of D values.
  const idsShape = segmentIds.shape;
  for (let d = 0; d < idsShape.length; d++) {
    if (idsShape[d] !== x.shape[d]) {
      throw new Error(`UnsortedSegmentSum: segmentIds shape [${idsShape}] must be a prefix of x shape [${x.shape}]`);
    }
  }
  const n = idsShape.reduce((p, d) => p * d, 1);
  const rowShape = x.shape.slice(idsShape.length);
  const D = rowShape.reduce((p, d) => p * d, 1);
  const out = be.makeOutput([numSegments, ...rowShape], x.dtype);
  const heap = x.dtype === 'float32' ? be.wasm.HEAPF32 : be.wasm.HEAP32;
  const ids = be.wasm.HEAP32;
  const o = elemOffset(be, out);
  const xo = elemOffset(be, x);
  const io = elemOffset(be, segmentIds);
  heap.fill(0, o, o + numSegments * D);
  for (let i = 0; i < n; i++) {
    const s = ids[io + i];
    if (s < 0 || s >= numSegments) continue;
    const dst = o + s * D;
    const src = xo + i * D;
    for (let j = 0; j < D; j++) heap[dst + j] += heap[src + j];
  }
  return out;
};

/**
 * GatherV2 for every batchDims. The stock wasm kernel (4.22) reads the wrong indices when
 * batchDims > 0 (out-of-bounds garbage), which MAE's per-sample `gather(x, ids, 1, 1)` hits.
 * out[b, o, i, s] = x[b, o, indices[b, i], s], a slice copy per index on the heap.
 */
const gatherV2: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const be = backend as unknown as WasmBackend;
  const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
  const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
  if (x.dtype === 'string' || x.dtype === 'complex64') throw new Error(`GatherV2 on wasm: unsupported dtype ${x.dtype}`);
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
    x as tf.Tensor, indices as tf.Tensor, parsedAxis, batchDims ?? 0,
  );
  const out = be.makeOutput(info.outputShape, x.dtype);
  const nIdx = indices.shape.reduce((p, d) => p * d, 1);
  if (x.shape.reduce((p, d) => p * d, 1) === 0 || nIdx === 0) return out;
  const perBatch = nIdx / info.batchSize;
  const { dimSize, sliceSize, outerSize } = info;
  const ids = be.wasm.HEAP32;
  const io = elemOffset(be, indices);
  for (let i = 0; i < nIdx; i++) {
    const v = ids[io + i];
    if (v < 0 || v >= dimSize) throw new Error(`GatherV2: the index value ${v} is not in [0, ${dimSize - 1}]`);
  }
  // bool tensors hold one byte per element; float32/int32 four (copied bitwise as int32)
  const bytes = x.dtype === 'bool';
  const heap: Int32Array | Uint8Array = bytes ? be.wasm.HEAPU8 : be.wasm.HEAP32;
  const xo = bytes ? be.dataIdMap.get(x.dataId).memoryOffset : elemOffset(be, x);
  const oo = bytes ? be.dataIdMap.get(out.dataId).memoryOffset : elemOffset(be, out);
  let dst = oo;
  for (let b = 0; b < info.batchSize; b++) {
    for (let o = 0; o < outerSize; o++) {
      const base = xo + ((b * outerSize + o) * dimSize) * sliceSize;
      for (let i = 0; i < perBatch; i++) {
        const src = base + ids[io + b * perBatch + i] * sliceSize;
        heap.copyWithin(dst, src, src + sliceSize);
        dst += sliceSize;
      }
    }
  }
  return out;
};

/**
 * StridedSlice for int32 and bool. The stock kernel's general path (strides != 1) allocates a
 * float32 output and copies 4-byte elements: int32 comes back labelled float32 (same bits),
 * bool (1 byte per element) comes back wrong. int32: relabel; bool: go through int32.
 */
function stridedSliceFixed(stock: tf.KernelFunc): tf.KernelFunc {
  const relabel = (be: WasmBackend, t: tf.TensorInfo, dtype: tf.DataType): tf.TensorInfo => {
    be.dataIdMap.get(t.dataId).dtype = dtype;
    return { ...t, dtype };
  };
  return (args) => {
    const be = args.backend as unknown as WasmBackend;
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype === 'float32' || x.dtype === 'string') return stock(args);
    if (x.dtype === 'int32') return relabel(be, stock(args) as tf.TensorInfo, 'int32');
    const asInt = runWasmKernel(be, 'Cast', { x }, { dtype: 'int32' });
    const sliced = relabel(be, stock({ ...args, inputs: { x: asInt } }) as tf.TensorInfo, 'int32');
    const out = runWasmKernel(be, 'Cast', { x: sliced }, { dtype: x.dtype });
    be.disposeData(asInt.dataId);
    be.disposeData(sliced.dataId);
    return out;
  };
}

/** Wraps the cpu engine's kernel `name` so it runs for wasm tensors (copy in, run, copy out). */
function borrowFromCpu(name: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const be = backend as unknown as WasmBackend;
    const cpu = tf.findBackend('cpu');
    const k = tf.getKernel(name, 'cpu');
    if (cpu == null || k == null) throw new Error(`Kernel '${name}' is not available on wasm nor on the cpu engine`);
    const created: tf.TensorInfo[] = [];
    const one = (ti: tf.TensorInfo): tf.TensorInfo => {
      const c = { dataId: cpu.write(be.readSync(ti.dataId), ti.shape, ti.dtype), shape: ti.shape, dtype: ti.dtype };
      created.push(c);
      return c;
    };
    // Einsum's inputs arrive as an array, every other kernel's as a named map
    let cpuInputs: unknown;
    if (Array.isArray(inputs)) cpuInputs = (inputs as tf.TensorInfo[]).map(one);
    else {
      const named: Record<string, tf.TensorInfo> = {};
      for (const [key, t] of Object.entries(inputs as Record<string, tf.TensorInfo | undefined>)) if (t != null) named[key] = one(t);
      cpuInputs = named;
    }
    try {
      const res = k.kernelFunc({ inputs: cpuInputs as tf.NamedTensorInfoMap, backend: cpu, attrs });
      const outs = Array.isArray(res) ? res : [res];
      const wasmOuts = outs.map((o) => {
        const values = cpu.readSync(o.dataId) as tf.TypedArray;
        cpu.disposeData(o.dataId);
        return be.makeOutput(o.shape, o.dtype, undefined, values);
      });
      return Array.isArray(res) ? wasmOuts : wasmOuts[0];
    } finally {
      for (const c of created) cpu.disposeData(c.dataId);
    }
  };
}

export const BORROWED_FROM_CPU = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Einsum',
] as const;

let installed = false;

/** Registers the missing training kernels on wasm (idempotent). */
export function installMissingKernels(): string[] {
  const added: string[] = [];
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') == null || installed) {
    replaceKernel('UnsortedSegmentSum', unsortedSegmentSum);
    added.push('UnsortedSegmentSum');
  }
  replaceKernel('GatherV2', gatherV2);
  added.push('GatherV2 (batchDims fix)');
  const stockSlice = stockKernel('StridedSlice');
  if (stockSlice) {
    replaceKernel('StridedSlice', stridedSliceFixed(stockSlice.kernelFunc));
    added.push('StridedSlice (int32/bool fix)');
  }
  for (const name of BORROWED_FROM_CPU) {
    if (tf.getKernel(name, 'wasm') == null || installed) {
      replaceKernel(name, borrowFromCpu(name));
      added.push(name);
    }
  }
  installed = true;
  return added;
}
