/**
 * AdamW over all parameters in one pass (lib/train/adamw.ts's `step` uses it on the wasm and cpu
 * engines): the global gradient norm, then p, m and v for every tensor, computed on the engine's
 * own memory with the per-tensor version's float32 arithmetic op for op:
 *
 *   g ← g·scale (when clipping)      m ← m·β1 + g·(1−β1)      v ← v·β2 + g²·(1−β2)
 *   p ← p − ((m / bc1) / (√(v / bc2) + ε))·lr  [ − p·(lr·λ)  for parameters flagged `decay` ]
 *
 * Why: the per-tensor version runs ~12 TF.js ops per parameter tensor (each a kernel call, an
 * allocation and a pass over memory): at LLaMA-60M ~10 s per step; here one loop per tensor.
 * The update is bit-identical to the per-tensor ops (every op rounds to float32 as TF.js's
 * kernels do); the norm is summed in float64 (TF.js sums in float32), so with clipping active
 * the scale can differ in the last bit. Tested against the per-tensor version
 * (test/train/adamw.engines.test.ts).
 *
 * Engines: wasm (the native addon's C loop when the native matmul path is on, else a JS loop on
 * the wasm heap) and cpu (a JS loop on its arrays). Elsewhere `fusedAdamWEngine()` is null and
 * the per-tensor ops serve.
 */
import * as tf from '@tensorflow/tfjs';
import { activeBlas } from '../backend/matmul';
import type { WasmBackend } from '../backend/wasm-heap';

export type FusedAdamWEngine = 'wasm-native' | 'wasm-js' | 'cpu-js';

export interface AdamWScalars {
  beta1: number;
  beta2: number;
  eps: number;
  lr: number;
  weightDecay: number;
  /** bias corrections 1 − β1ᵗ, 1 − β2ᵗ */
  bc1: number;
  bc2: number;
  /** gradient clipping factor (1: none) */
  scale: number;
}

interface CpuBackend {
  data: { get(dataId: unknown): { values: tf.TypedArray } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.TypedArray): tf.TensorInfo;
}

let enabled = true;

/** Turns the fused path off (true: back on) for this process: the benchmark's "before" rows. */
export function setFusedAdamW(on: boolean): void {
  enabled = on;
}

/** Which fused implementation serves on the current engine, or null (use the per-tensor ops). */
export function fusedAdamWEngine(): FusedAdamWEngine | null {
  if (!enabled) return null;
  const name = tf.getBackend();
  if (name === 'wasm') return activeBlas() ? 'wasm-native' : 'wasm-js';
  if (name === 'cpu') return 'cpu-js';
  return null;
}

/**
 * The fused path for these tensors, or null: they must all be float32 with their data on the
 * current engine (a tensor made on another engine is moved there by the per-tensor ops only).
 */
export function fusedAdamWFor(xs: readonly tf.Tensor[]): FusedAdamWEngine | null {
  const engine = fusedAdamWEngine();
  if (engine == null) return null;
  const be = tf.backend() as unknown as { dataIdMap?: { has(d: unknown): boolean }; data?: { has(d: unknown): boolean } };
  const store = engine === 'cpu-js' ? be.data : be.dataIdMap;
  if (!store) return null;
  return xs.every((x) => x.dtype === 'float32' && !x.isDisposed && store.has(x.dataId)) ? engine : null;
}

const f = Math.fround;

/** Σ x² over all tensors in float64, rounded to float32 as the per-tensor sum would overflow. */
export function sumOfSquares(xs: readonly tf.Tensor[]): number {
  const engine = fusedAdamWEngine();
  if (engine == null) throw new Error(`sumOfSquares: no fused path on engine '${tf.getBackend()}'`);
  const be = tf.backend() as unknown as WasmBackend & CpuBackend;
  if (engine === 'wasm-native') {
    const offs = Uint32Array.from(xs, (x) => be.dataIdMap.get(x.dataId).memoryOffset >>> 2);
    const sizes = Uint32Array.from(xs, (x) => x.size);
    return f(activeBlas()!.sumSquares(be.wasm.HEAPF32, offs, sizes));
  }
  let total = 0;
  for (const x of xs) {
    let arr: Float32Array;
    if (engine === 'wasm-js') {
      const o = be.dataIdMap.get(x.dataId).memoryOffset >>> 2;
      arr = be.wasm.HEAPF32.subarray(o, o + x.size);
    } else {
      arr = be.data.get(x.dataId).values as Float32Array;
    }
    let s = 0;
    for (let i = 0; i < arr.length; i++) s += arr[i] * arr[i];
    total += s;
  }
  return f(total);
}

/** The element loop of the JS paths: out arrays may alias nothing of the inputs. */
function updateJs(
  p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
  po: Float32Array, mo: Float32Array, vo: Float32Array, decay: boolean, s: AdamWScalars,
): void {
  const b1 = f(s.beta1), omb1 = f(1 - s.beta1), b2 = f(s.beta2), omb2 = f(1 - s.beta2);
  const eps = f(s.eps), lr = f(s.lr), lrwd = f(s.lr * s.weightDecay), bc1 = f(s.bc1), bc2 = f(s.bc2), scale = f(s.scale);
  const scaled = s.scale !== 1;
  const dec = decay && s.weightDecay > 0;
  for (let i = 0; i < p.length; i++) {
    const gi = scaled ? f(g[i] * scale) : g[i];
    const mi = f(f(m[i] * b1) + f(gi * omb1));
    const vi = f(f(v[i] * b2) + f(f(gi * gi) * omb2));
    const upd = f(f(mi / bc1) / f(f(Math.sqrt(f(vi / bc2))) + eps));
    let next = f(p[i] - f(upd * lr));
    if (dec) next = f(next - f(p[i] * lrwd));
    mo[i] = mi;
    vo[i] = vi;
    po[i] = next;
  }
}

/**
 * New p, m, v tensors for every parameter (the caller assigns them and disposes these).
 * Shapes: ps[i], gs[i], ms[i], vs[i] all alike; float32.
 */
export function fusedAdamWUpdate(
  ps: readonly tf.Tensor[], gs: readonly tf.Tensor[], ms: readonly tf.Tensor[], vs: readonly tf.Tensor[],
  decay: readonly boolean[], s: AdamWScalars,
): { p: tf.Tensor[]; m: tf.Tensor[]; v: tf.Tensor[] } {
  const engine = fusedAdamWEngine();
  if (engine == null) throw new Error(`fusedAdamWUpdate: no fused path on engine '${tf.getBackend()}'`);
  const n = ps.length;
  for (let i = 0; i < n; i++) {
    for (const x of [gs[i], ms[i], vs[i]]) {
      if (x.dtype !== 'float32' || !tf.util.arraysEqual(x.shape, ps[i].shape)) {
        throw new Error(`fusedAdamWUpdate: tensor ${i} has shape ${x.shape} (${x.dtype}); expected float32 ${ps[i].shape}`);
      }
    }
  }
  const be = tf.backend() as unknown as WasmBackend & CpuBackend;
  const wrap = (info: tf.TensorInfo) => tf.engine().makeTensorFromTensorInfo(info);
  if (engine === 'cpu-js') {
    const out = { p: [] as tf.Tensor[], m: [] as tf.Tensor[], v: [] as tf.Tensor[] };
    for (let i = 0; i < n; i++) {
      const val = (x: tf.Tensor) => be.data.get(x.dataId).values as Float32Array;
      const po = new Float32Array(ps[i].size), mo = new Float32Array(ps[i].size), vo = new Float32Array(ps[i].size);
      updateJs(val(ps[i]), val(gs[i]), val(ms[i]), val(vs[i]), po, mo, vo, decay[i], s);
      out.p.push(wrap(be.makeTensorInfo(ps[i].shape, 'float32', po)));
      out.m.push(wrap(be.makeTensorInfo(ps[i].shape, 'float32', mo)));
      out.v.push(wrap(be.makeTensorInfo(ps[i].shape, 'float32', vo)));
    }
    return out;
  }
  // wasm: allocate every output first (allocation may grow the heap and replace HEAPF32)
  const infos = { p: [] as tf.TensorInfo[], m: [] as tf.TensorInfo[], v: [] as tf.TensorInfo[] };
  for (let i = 0; i < n; i++) {
    infos.p.push(be.makeOutput(ps[i].shape, 'float32'));
    infos.m.push(be.makeOutput(ps[i].shape, 'float32'));
    infos.v.push(be.makeOutput(ps[i].shape, 'float32'));
  }
  const off = (x: tf.TensorInfo) => be.dataIdMap.get(x.dataId).memoryOffset >>> 2;
  const heap = be.wasm.HEAPF32;
  if (engine === 'wasm-native') {
    const table = new Uint32Array(8 * n);
    for (let i = 0; i < n; i++) {
      table.set([off(ps[i]), off(gs[i]), off(ms[i]), off(vs[i]), off(infos.p[i]), off(infos.m[i]), off(infos.v[i]), ps[i].size], 8 * i);
    }
    const scalars = Float64Array.of(s.beta1, s.beta2, s.eps, s.lr, s.weightDecay, s.bc1, s.bc2, s.scale);
    activeBlas()!.adamw(heap, table, Uint8Array.from(decay, (d) => (d ? 1 : 0)), scalars);
  } else {
    const view = (x: tf.TensorInfo, size: number) => heap.subarray(off(x), off(x) + size);
    for (let i = 0; i < n; i++) {
      const k = ps[i].size;
      updateJs(view(ps[i], k), view(gs[i], k), view(ms[i], k), view(vs[i], k), view(infos.p[i], k), view(infos.m[i], k), view(infos.v[i], k), decay[i], s);
    }
  }
  return { p: infos.p.map(wrap), m: infos.m.map(wrap), v: infos.v.map(wrap) };
}
