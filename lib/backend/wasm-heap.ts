/**
 * The slice of the TF.js wasm engine's internals that the project's kernels use.
 *
 * `@tensorflow/tfjs-backend-wasm` 4.x keeps every tensor in one WebAssembly.Memory: a JS-side
 * `dataIdMap` maps a tensor's dataId to `{ id, memoryOffset }`, and the C++ side keeps its own
 * table `id -> (pointer, size)` filled by `registerTensor`. Kernels written in JS may read and
 * write `HEAPF32`/`HEAP32` at those offsets directly, and may register extra C++ ids that point
 * *inside* an existing tensor (a batch slice) to hand slices to a C++ kernel without copying.
 */
import * as tf from '@tensorflow/tfjs';

export interface WasmModule {
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  HEAP32: Int32Array;
  cwrap(name: string, ret: null | 'number', args: string[]): (...args: unknown[]) => unknown;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}

export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: unknown): { id: number; memoryOffset: number; shape: number[]; dtype: tf.DataType } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.TypedArray): tf.TensorInfo;
  disposeData(dataId: unknown, force?: boolean): boolean;
  readSync(dataId: unknown): tf.TypedArray;
}

/** Element offset (not byte offset) of a tensor on the heap, for float32 and int32 alike. */
export function elemOffset(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset >>> 2;
}

/** The C++ id of a tensor. */
export function cppId(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).id;
}

/**
 * Registers a temporary C++ tensor id over `size` elements starting at element offset `elem`
 * of the heap. Release it with `releaseView`: that also drops any XNNPACK operator the C++
 * side cached under the id (it caches packed weights per weight-tensor id).
 */
export function viewId(backend: WasmBackend, elem: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, elem * 4);
  return id;
}

export function releaseView(backend: WasmBackend, id: number): void {
  backend.wasm.tfjs.disposeData(id);
}

/** Runs a registered wasm kernel's function directly (inside another kernel: no tape, no engine scope). */
export function runWasmKernel(
  backend: WasmBackend,
  kernelName: string,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown> = {},
): tf.TensorInfo {
  const k = tf.getKernel(kernelName, 'wasm');
  if (k == null) throw new Error(`wasm kernel ${kernelName} is not registered`);
  return k.kernelFunc({ inputs, backend: backend as unknown as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

/** Replaces the wasm kernel `kernelName`, keeping the first-seen original for `restoreKernel`. */
const originals = new Map<string, tf.KernelConfig | null>();

export function replaceKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  const prev = tf.getKernel(kernelName, 'wasm');
  if (!originals.has(kernelName)) originals.set(kernelName, prev ?? null);
  if (prev != null) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
}

/** Puts back the stock kernel (or removes ours where wasm had none). */
export function restoreKernel(kernelName: string): void {
  if (!originals.has(kernelName)) return;
  const orig = originals.get(kernelName);
  if (tf.getKernel(kernelName, 'wasm') != null) tf.unregisterKernel(kernelName, 'wasm');
  if (orig != null) tf.registerKernel(orig);
}

/** The stock kernel for `kernelName` (before any replaceKernel), or null. */
export function stockKernel(kernelName: string): tf.KernelConfig | null {
  return originals.has(kernelName) ? originals.get(kernelName) ?? null : tf.getKernel(kernelName, 'wasm') ?? null;
}
