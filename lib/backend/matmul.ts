/**
 * Replacement `BatchMatMul` and `_FusedMatMul` kernels for the TF.js wasm engine.
 *
 * Why: the stock wasm kernel (tfjs-backend-wasm 4.22, cc/batch_mat_mul_impl.cc) uses XNNPACK
 * only when neither operand is transposed AND both batch sizes are 1; everything else (all of
 * backpropagation, which multiplies by transposes, and every batched attention product) falls
 * into a scalar triple loop ~10-30x slower. Two replacements:
 *
 *  - 'repaired' (wasm only): materialise transposes with the wasm Transpose kernel (<1 ms),
 *    fold the batch into the rows when B is shared by every batch element
 *    ([Bt, M, K]·[K, N] = [Bt*M, K]·[K, N]), and otherwise call XNNPACK once per batch element
 *    on C++ tensor ids registered over slices of the heap (no copies).
 *  - 'native': cblas_sgemm from the system BLAS (native/repro_blas.c) straight on the wasm
 *    heap; transposes are BLAS flags, broadcast batches a list of offsets.
 *
 * Shapes (TF.js semantics): a [...batchA, M, K] (or [..., K, M] with transposeA),
 * b [...batchB, K, N] (or [..., N, K] with transposeB); batchA and batchB broadcast
 * (NumPy rules, any rank >= 2 operands); out [...broadcast(batchA, batchB), M, N].
 * `_FusedMatMul` adds `bias` (broadcast to out) and one of TF.js's fused activations.
 */
import * as tf from '@tensorflow/tfjs';
import { NativeBlas } from './native';
import { WasmBackend, cppId, elemOffset, releaseView, replaceKernel, restoreKernel, runWasmKernel, viewId } from './wasm-heap';

export type MatmulPath = 'native' | 'repaired' | 'stock';
export const MATMUL_PATHS: readonly MatmulPath[] = ['native', 'repaired', 'stock'];

type XnnMatMul = (
  aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number,
  transposeA: boolean, transposeB: boolean, outId: number,
) => void;

let blas: NativeBlas | null = null;
let xnn: { module: unknown; fn: XnnMatMul } | null = null;
let current: MatmulPath = 'stock';

function xnnMatMul(backend: WasmBackend): XnnMatMul {
  if (xnn == null || xnn.module !== backend.wasm) {
    const fn = backend.wasm.cwrap('BatchMatMul', null, [
      'number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number',
    ]) as unknown as XnnMatMul;
    xnn = { module: backend.wasm, fn };
  }
  return xnn.fn;
}

const shapeBytes = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);

/**
 * For each element of the broadcast batch `outer` (row-major), the flat batch index into an
 * operand whose batch shape is `inner` (right-aligned, size-1 dims broadcast).
 */
export function batchIndex(outer: number[], inner: number[]): Uint32Array {
  const total = outer.reduce((p, d) => p * d, 1);
  const idx = new Uint32Array(total);
  const r = outer.length;
  const padded = new Array(r - inner.length).fill(1).concat(inner) as number[];
  // stride of each out dim in the operand (0 where the operand broadcasts)
  const stride = new Array(r).fill(0);
  let s = 1;
  for (let d = r - 1; d >= 0; d--) {
    stride[d] = padded[d] === 1 ? 0 : s;
    s *= padded[d];
  }
  const pos = new Array(r).fill(0);
  let flat = 0;
  for (let i = 0; i < total; i++) {
    idx[i] = flat;
    for (let d = r - 1; d >= 0; d--) {
      pos[d]++;
      flat += stride[d];
      if (pos[d] < outer[d]) break;
      flat -= stride[d] * outer[d];
      pos[d] = 0;
    }
  }
  return idx;
}

function allEqual(x: Uint32Array): boolean {
  for (let i = 1; i < x.length; i++) if (x[i] !== x[0]) return false;
  return true;
}

function isIdentity(x: Uint32Array): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== i) return false;
  return true;
}

function lastTwoSwapped(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}

/** out = op(a) · op(b) with broadcast batch dims, on the wasm heap. */
export function matmulWasm(
  backend: WasmBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transA: boolean,
  transB: boolean,
  path: 'native' | 'repaired',
): tf.TensorInfo {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`BatchMatMul on wasm supports float32 only; got ${a.dtype} and ${b.dtype}`);
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== Kb) {
    throw new Error(
      `Error in matMul: inner shapes (${K}) and (${Kb}) of Tensors with shapes ${a.shape} and ${b.shape} ` +
        `and transposeA=${transA} and transposeB=${transB} must match.`,
    );
  }
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  const outOuter = tf.broadcast_util.assertAndGetBroadcastShape(aOuter, bOuter);
  const out = backend.makeOutput([...outOuter, M, N], 'float32');
  const batch = outOuter.reduce((p, d) => p * d, 1);
  if (batch * M * N === 0) return out;
  if (K === 0) {
    const c = elemOffset(backend, out);
    backend.wasm.HEAPF32.fill(0, c, c + batch * M * N);
    return out;
  }
  const aIdx = batchIndex(outOuter, aOuter);
  const bIdx = batchIndex(outOuter, bOuter);
  // B shared by all batch elements and A laid out batch-contiguously: one [batch*M, K]·[K, N].
  const fold = allEqual(bIdx) && isIdentity(aIdx);

  if (path === 'native') {
    if (blas == null) throw new Error('native BLAS matmul requested but the addon is not loaded');
    const a0 = elemOffset(backend, a);
    const b0 = elemOffset(backend, b);
    const c0 = elemOffset(backend, out);
    const heap = backend.wasm.HEAPF32; // read after every allocation: memory growth replaces the view
    if (fold && !transA) {
      blas.sgemmBatch(heap, false, transB, batch * M, N, K, Uint32Array.of(a0), Uint32Array.of(b0 + bIdx[0] * K * N), c0);
    } else {
      const aOffs = new Uint32Array(batch);
      const bOffs = new Uint32Array(batch);
      for (let i = 0; i < batch; i++) {
        aOffs[i] = a0 + aIdx[i] * M * K;
        bOffs[i] = b0 + bIdx[i] * K * N;
      }
      blas.sgemmBatch(heap, transA, transB, M, N, K, aOffs, bOffs, c0);
    }
    return out;
  }

  // 'repaired': XNNPACK's fully-connected operator, which wants A [rows, K] and B [K, N].
  const temps: tf.TensorInfo[] = [];
  const a2 = transA ? runWasmKernel(backend, 'Transpose', { x: a }, { perm: lastTwoSwapped(ra) }) : a;
  if (transA) temps.push(a2);
  const b2 = transB ? runWasmKernel(backend, 'Transpose', { x: b }, { perm: lastTwoSwapped(rb) }) : b;
  if (transB) temps.push(b2);
  const run = xnnMatMul(backend);
  try {
    if (fold && bIdx[0] === 0) {
      run(cppId(backend, a2), shapeBytes([1, batch * M, K]), 3, cppId(backend, b2), shapeBytes([1, K, N]), 3, false, false, cppId(backend, out));
    } else {
      const a0 = elemOffset(backend, a2);
      const b0 = elemOffset(backend, b2);
      const c0 = elemOffset(backend, out);
      const aShape = shapeBytes([1, M, K]);
      const bShape = shapeBytes([1, K, N]);
      let bView = -1;
      let bViewIdx = -1;
      for (let i = 0; i < batch; i++) {
        // reuse the B view while B repeats: XNNPACK caches its packed weights under the id
        if (bIdx[i] !== bViewIdx) {
          if (bView >= 0) releaseView(backend, bView);
          bView = viewId(backend, b0 + bIdx[i] * K * N, K * N);
          bViewIdx = bIdx[i];
        }
        const aView = viewId(backend, a0 + aIdx[i] * M * K, M * K);
        const cView = viewId(backend, c0 + i * M * N, M * N);
        run(aView, aShape, 3, bView, bShape, 3, false, false, cView);
        releaseView(backend, aView);
        releaseView(backend, cView);
      }
      if (bView >= 0) releaseView(backend, bView);
    }
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
  return out;
}

/** Bias (broadcast) and activation after the product, with the wasm engine's own SIMD kernels. */
function fusedEpilogue(
  backend: WasmBackend,
  out: tf.TensorInfo,
  bias: tf.TensorInfo | undefined,
  prelu: tf.TensorInfo | undefined,
  activation: string,
  leakyreluAlpha: number,
): tf.TensorInfo {
  let y = out;
  const step = (next: tf.TensorInfo) => {
    backend.disposeData(y.dataId);
    y = next;
  };
  if (bias != null) step(runWasmKernel(backend, 'Add', { a: y, b: bias }));
  switch (activation) {
    case 'linear':
      break;
    case 'relu':
      step(runWasmKernel(backend, 'Relu', { x: y }));
      break;
    case 'relu6':
      step(runWasmKernel(backend, 'Relu6', { x: y }));
      break;
    case 'elu':
      step(runWasmKernel(backend, 'Elu', { x: y }));
      break;
    case 'sigmoid':
      step(runWasmKernel(backend, 'Sigmoid', { x: y }));
      break;
    case 'leakyrelu':
      step(runWasmKernel(backend, 'LeakyRelu', { x: y }, { alpha: leakyreluAlpha }));
      break;
    case 'prelu':
      if (prelu == null) throw new Error('fused prelu activation needs preluActivationWeights');
      step(runWasmKernel(backend, 'Prelu', { x: y, alpha: prelu }));
      break;
    default:
      backend.disposeData(y.dataId);
      throw new Error(`unknown fused activation '${activation}'; expected one of linear, relu, relu6, elu, sigmoid, leakyrelu, prelu`);
  }
  return y;
}

function kernels(path: 'native' | 'repaired'): { batchMatMul: tf.KernelFunc; fusedMatMul: tf.KernelFunc } {
  const batchMatMul: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    return matmulWasm(backend as unknown as WasmBackend, a, b, !!transposeA, !!transposeB, path);
  };
  const fusedMatMul: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const { a, b, bias, preluActivationWeights } = inputs as tf._FusedMatMulInputs as unknown as Record<string, tf.TensorInfo | undefined>;
    const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as unknown as tf._FusedMatMulAttrs;
    const be = backend as unknown as WasmBackend;
    const out = matmulWasm(be, a!, b!, !!transposeA, !!transposeB, path);
    return fusedEpilogue(be, out, bias, preluActivationWeights, activation ?? 'linear', leakyreluAlpha ?? 0.2);
  };
  return { batchMatMul, fusedMatMul };
}

/**
 * Selects which kernels serve BatchMatMul and _FusedMatMul on wasm. 'native' needs the addon
 * (pass it in); 'stock' restores tfjs-backend-wasm's own kernels. Safe to call repeatedly.
 */
export function setMatmulPath(path: MatmulPath, nativeBlas?: NativeBlas | null): void {
  if (path === 'stock') {
    restoreKernel('BatchMatMul');
    restoreKernel('_FusedMatMul');
  } else {
    if (path === 'native') {
      if (nativeBlas == null && blas == null) throw new Error('setMatmulPath(native): the native BLAS addon is not loaded');
      if (nativeBlas != null) blas = nativeBlas;
    }
    const k = kernels(path);
    replaceKernel('BatchMatMul', k.batchMatMul);
    replaceKernel('_FusedMatMul', k.fusedMatMul);
  }
  current = path;
}

/** The BLAS addon while the native path is selected (other kernels may use it), else null. */
export function activeBlas(): NativeBlas | null {
  return current === 'native' ? blas : null;
}

export function matmulPath(): MatmulPath {
  return current;
}
