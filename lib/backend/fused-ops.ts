/**
 * Fused LayerNorm and RMSNorm (forward and backward) over the last axis, as one pass over the
 * engine's own float32 memory each way (the wasm heap or the cpu engine's arrays).
 *
 * Why (npm run bench, per-op profile): a norm written with TF.js ops is ~9 kernels forward and
 * ~20 in its autodiff backward; at the small widths of the cpu presets (MAE [128, 5, 64],
 * LLaMA [16, 64, 64]) each kernel's fixed cost outweighs its arithmetic, and the profile's
 * largest rows after the matmuls are exactly these elementwise ops and the per-kernel overhead.
 * Here: one forward pass (row mean and 1/σ in float64) and one backward pass (C loops in the native addon on
 * wasm where it is loaded, these JS loops otherwise), with the
 * analytic gradient (x̂ = (x − μ)·r, r = 1/√(σ² + ε), δ = dy·g):
 *   LayerNorm  y = x̂·g + b        dx = r·(δ − mean(δ) − x̂·mean(δ·x̂)),  dg = Σ dy·x̂,  db = Σ dy
 *   RMSNorm    y = x·r·g (μ = 0)   dx = r·(δ − x̂·mean(δ·x̂)),           dg = Σ dy·x̂
 * Elsewhere (tfjs-node, WebGPU) and for tensors not on the current engine the TF.js ops serve
 * (`layerNormOps`, `rmsNormOps`), the same functions the fused path is tested against.
 *
 * Shapes: x [..., D], g and b [D]; per-row statistics [N] with N = size / D.
 *
 * Attention's softmax, fused the same way (`scaledSoftmax`): y = softmax(scale·s + causal mask) over the last
 * axis in one pass (the ops path is a multiply, a mask add and the softmax's ~4 kernels, ~8 more backward),
 * with dx = scale·y·(dy − Σ_j dy_j·y_j) backward. The causal mask is exact zeros above the diagonal (the ops
 * path adds −1e9 there, whose exp is 0 in float32 too). It runs in C through the native addon where that is
 * loaded (a JS loop loses to the wasm engine's SIMD kernels; on the pure-JS cpu engine it wins).
 *
 * Activations, fused the same way (`fusedActivation`, `fusedSwiGlu`): GELU (the tanh form as x·σ(2u), and exact),
 * SiLU and LLaMA's SwiGLU gate silu(a)·b, one pass forward and one backward with the analytic derivative, in C
 * through the addon (on wasm only there, as the softmax; a JS loop on the cpu engine). The ops path of GELU is 6
 * kernels forward and ~12 backward, of SwiGLU 3 and ~8, over the MLP's widest tensor.
 */
import * as tf from '@tensorflow/tfjs';
import { activeBlas } from './matmul';
import type { NativeBlas } from './native';
import type { WasmBackend } from './wasm-heap';

interface CpuBackend {
  data: { get(d: unknown): { values: tf.TypedArray }; has(d: unknown): boolean };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.TypedArray): tf.TensorInfo;
}

let enabled = true;

/** Turns the fused norms and the fused softmax off (true: back on) for this process: tests and the benchmark's "before" rows. */
export function setFusedNorms(on: boolean): void {
  enabled = on;
}

/** 'wasm' or 'cpu' when every tensor is float32 and lives on that current engine; else null. */
function rawEngine(xs: tf.Tensor[]): 'wasm' | 'cpu' | null {
  if (!enabled) return null;
  const name = tf.getBackend();
  if (name !== 'wasm' && name !== 'cpu') return null;
  const be = tf.backend() as unknown as { dataIdMap?: { has(d: unknown): boolean }; data?: { has(d: unknown): boolean } };
  const store = name === 'wasm' ? be.dataIdMap : be.data;
  return store && xs.every((x) => x.dtype === 'float32' && store.has(x.dataId)) ? name : null;
}

/**
 * Allocates float32 outputs of `shapes` on the engine, then runs `body` on views of the inputs
 * and the outputs (views taken after every allocation: heap growth replaces them).
 */
function rawOp(engine: 'wasm' | 'cpu', inputs: tf.Tensor[], shapes: number[][], body: (ins: Float32Array[], outs: Float32Array[]) => void): tf.Tensor[] {
  const wrap = (i: tf.TensorInfo) => tf.engine().makeTensorFromTensorInfo(i);
  if (engine === 'cpu') {
    const be = tf.backend() as unknown as CpuBackend;
    const outs = shapes.map((s) => new Float32Array(s.reduce((p, d) => p * d, 1)));
    body(inputs.map((x) => be.data.get(x.dataId).values as Float32Array), outs);
    return outs.map((o, i) => wrap(be.makeTensorInfo(shapes[i], 'float32', o)));
  }
  const be = tf.backend() as unknown as WasmBackend;
  const infos = shapes.map((s) => be.makeOutput(s, 'float32'));
  const heap = be.wasm.HEAPF32;
  const view = (d: unknown, n: number) => {
    const o = be.dataIdMap.get(d).memoryOffset >>> 2;
    return heap.subarray(o, o + n);
  };
  body(inputs.map((x) => view(x.dataId, x.size)), infos.map((t, i) => view(t.dataId, shapes[i].reduce((p, d) => p * d, 1))));
  return infos.map(wrap);
}

/** Row statistics and y. centre: LayerNorm (μ, σ²) or RMSNorm (mean x²). */
function normForward(x: Float32Array, g: Float32Array | null, b: Float32Array | null, D: number, eps: number, centre: boolean, y: Float32Array, mu: Float32Array, r: Float32Array): void {
  const N = x.length / D;
  for (let n = 0; n < N; n++) {
    const o = n * D;
    let m = 0;
    if (centre) {
      for (let d = 0; d < D; d++) m += x[o + d];
      m /= D;
    }
    let v = 0;
    for (let d = 0; d < D; d++) {
      const c = x[o + d] - m;
      v += c * c;
    }
    const rs = 1 / Math.sqrt(v / D + eps);
    mu[n] = m;
    r[n] = rs;
    for (let d = 0; d < D; d++) {
      const h = (x[o + d] - m) * rs;
      y[o + d] = g ? (b ? h * g[d] + b[d] : h * g[d]) : h;
    }
  }
}

function normBackward(
  x: Float32Array, g: Float32Array | null, dy: Float32Array, mu: Float32Array, r: Float32Array, D: number, centre: boolean,
  dx: Float32Array, dg: Float32Array | null, db: Float32Array | null,
): void {
  const N = x.length / D;
  const accG = dg ? new Float64Array(D) : null;
  const accB = db ? new Float64Array(D) : null;
  for (let n = 0; n < N; n++) {
    const o = n * D;
    const m = mu[n];
    const rs = r[n];
    let sd = 0;
    let sdh = 0;
    for (let d = 0; d < D; d++) {
      const h = (x[o + d] - m) * rs;
      const del = g ? dy[o + d] * g[d] : dy[o + d];
      sd += del;
      sdh += del * h;
      if (accG) accG[d] += dy[o + d] * h;
      if (accB) accB[d] += dy[o + d];
    }
    const md = centre ? sd / D : 0;
    const mdh = sdh / D;
    for (let d = 0; d < D; d++) {
      const h = (x[o + d] - m) * rs;
      const del = g ? dy[o + d] * g[d] : dy[o + d];
      dx[o + d] = rs * (del - md - h * mdh);
    }
  }
  if (dg && accG) dg.set(accG);
  if (db && accB) db.set(accB);
}

/** LayerNorm with TF.js ops (the reference and the fallback). */
export function layerNormOps(x: tf.Tensor, g: tf.Tensor | null, b: tf.Tensor | null, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  if (g) y = b ? tf.add(tf.mul(y, g), b) : tf.mul(y, g);
  return y;
}

/** RMSNorm with TF.js ops (the reference and the fallback). */
export function rmsNormOps(x: tf.Tensor, g: tf.Tensor | null, eps: number): tf.Tensor {
  const y = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
  return g ? tf.mul(y, g) : y;
}

function fusedNorm(x: tf.Tensor, g: tf.Tensor | null, b: tf.Tensor | null, eps: number, centre: boolean): tf.Tensor | null {
  if (b && !g) return null;
  const params = [g, b].filter((t): t is tf.Tensor => t != null);
  const engine = rawEngine([x, ...params]);
  if (engine == null) return null;
  const D = x.shape[x.rank - 1];
  const N = x.size / D;
  // on wasm through the addon's C loops where it has them (the same arithmetic, vectorised), else these JS loops
  const blas = engine === 'wasm' ? activeBlas() : null;
  const native = blas?.norm && blas.normGrad ? (blas as NativeBlas & Required<Pick<NativeBlas, 'norm' | 'normGrad'>>) : null;
  const flags = (centre ? 1 : 0) | (g ? 2 : 0) | (b ? 4 : 0);
  const f = tf.customGrad(((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const ins = args.slice(0, -1) as tf.Tensor[]; // x, then g and b when present
    const [y, mu, r] = rawOp(engine, ins, [x.shape, [N], [N]], ([xv, gv, bv], [yv, mv, rv]) =>
      native ? native.norm(xv, gv ?? xv, bv ?? xv, yv, mv, rv, D, eps, flags) : normForward(xv, g ? gv : null, b ? bv : null, D, eps, centre, yv, mv, rv));
    save([ins[0], ...(g ? [ins[1]] : []), mu, r]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ...rest] = saved;
        const gs = g ? rest[0] : null;
        const [ms, rs] = rest.slice(g ? 1 : 0);
        const eng = rawEngine([dy, xs, ms, rs, ...(gs ? [gs] : [])]);
        if (eng == null) throw new Error('fused norm: the gradient left the engine of the forward pass');
        const shapes = [x.shape, ...(g ? [[D]] : []), ...(b ? [[D]] : [])];
        return rawOp(eng, [xs, gs ?? xs, dy, ms, rs], shapes, ([xv, gv, dyv, mv, rv], [dxv, ...pv]) =>
          native
            ? native.normGrad(xv, gv, dyv, mv, rv, dxv, g ? pv[0] : dxv, b ? pv[g ? 1 : 0] : dxv, D, flags)
            : normBackward(xv, gs ? gv : null, dyv, mv, rv, D, centre, dxv, g ? pv[0] : null, b ? pv[g ? 1 : 0] : null));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, ...params) as tf.Tensor;
}

/** LayerNorm over the last axis: fused on wasm and cpu, TF.js ops elsewhere. */
export function layerNorm(x: tf.Tensor, g: tf.Tensor | null, b: tf.Tensor | null, eps: number): tf.Tensor {
  return fusedNorm(x, g, b, eps, true) ?? layerNormOps(x, g, b, eps);
}

/** RMSNorm over the last axis: fused on wasm and cpu, TF.js ops elsewhere. */
export function rmsNorm(x: tf.Tensor, g: tf.Tensor | null, eps: number): tf.Tensor {
  return fusedNorm(x, g, null, eps, false) ?? rmsNormOps(x, g, eps);
}

/** softmax(scale·s + causal mask) over the last axis with TF.js ops (the reference and the fallback). */
export function scaledSoftmaxOps(s: tf.Tensor, scale: number, causal: boolean): tf.Tensor {
  return tf.tidy(() => {
    let z = scale === 1 ? s : tf.mul(s, scale);
    if (causal) {
      const [Tq, Tk] = s.shape.slice(-2);
      const m = new Float32Array(Tq * Tk);
      for (let i = 0; i < Tq; i++) for (let j = i + 1; j < Tk; j++) m[i * Tk + j] = -1e9;
      z = tf.add(z, tf.tensor2d(m, [Tq, Tk]));
    }
    return tf.softmax(z, -1);
  });
}

function softmaxForward(s: Float32Array, y: Float32Array, T: number, Tq: number, scale: number, causal: boolean): void {
  const N = s.length / T;
  for (let n = 0; n < N; n++) {
    const o = n * T;
    const len = causal ? Math.min(T, (n % Tq) + 1) : T; // row i of a [Tq, T] block sees j <= i
    let max = -Infinity;
    for (let j = 0; j < len; j++) if (s[o + j] > max) max = s[o + j];
    let sum = 0;
    for (let j = 0; j < len; j++) {
      const e = Math.exp(scale * (s[o + j] - max));
      y[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < len; j++) y[o + j] *= inv;
    for (let j = len; j < T; j++) y[o + j] = 0;
  }
}

function softmaxBackward(y: Float32Array, dy: Float32Array, dx: Float32Array, T: number, scale: number): void {
  const N = y.length / T;
  for (let n = 0; n < N; n++) {
    const o = n * T;
    let dot = 0;
    for (let j = 0; j < T; j++) dot += dy[o + j] * y[o + j];
    for (let j = 0; j < T; j++) dx[o + j] = scale * y[o + j] * (dy[o + j] - dot);
  }
}

/**
 * softmax(scale·s + causal mask) over the last axis: fused on wasm and cpu, TF.js ops elsewhere.
 * s [..., Tq, Tk]; `causal` masks j > i within each [Tq, Tk] block (attention scores [B, H, T, T]).
 * `scale` must be > 0 (the max is taken of s, before scaling).
 */
export function scaledSoftmax(s: tf.Tensor, scale: number, causal: boolean): tf.Tensor {
  const engine = s.rank >= 2 && scale > 0 ? rawEngine([s]) : null;
  // On wasm a JS loop is slower than the engine's own SIMD kernels: fused only through the native addon there.
  const blas = activeBlas();
  const native = blas?.softmaxRows && blas.softmaxRowsGrad ? blas : null;
  if (engine == null || (engine === 'wasm' && !native)) return scaledSoftmaxOps(s, scale, causal);
  const T = s.shape[s.rank - 1];
  const Tq = s.shape[s.rank - 2];
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y] = rawOp(engine, [x], [x.shape], ([xv], [yv]) =>
      native ? native.softmaxRows!(xv, yv, T, Tq, scale, causal) : softmaxForward(xv, yv, T, Tq, scale, causal));
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const eng = rawEngine([dy, saved[0]]);
        if (eng == null) throw new Error('fused softmax: the gradient left the engine of the forward pass');
        return rawOp(eng, [saved[0], dy], [x.shape], ([yv, dyv], [dxv]) =>
          native ? native.softmaxRowsGrad!(yv, dyv, dxv, T, scale) : softmaxBackward(yv, dyv, dxv, T, scale))[0];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(s) as tf.Tensor;
}

/** The activations of `fusedActivation` and their addon mode numbers. */
export const ACTIVATIONS = { 'gelu-tanh': 0, 'gelu-exact': 1, silu: 2 } as const;
export type Activation = keyof typeof ACTIVATIONS;

const GELU_C2 = 2 * Math.sqrt(2 / Math.PI);
const GELU_C3 = GELU_C2 * 0.044715;
const sigm = (z: number) => 1 / (1 + Math.exp(-z));

/** erf by Abramowitz–Stegun 7.1.26 refined (|error| < 1.5e-7), for the cpu engine's JS loop. */
function erf(x: number): number {
  const s = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}

function actForwardJs(mode: number, x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    y[i] = mode === 0 ? v * sigm(v * (GELU_C2 + GELU_C3 * v * v)) : mode === 1 ? 0.5 * v * (1 + erf(v * Math.SQRT1_2)) : v * sigm(v);
  }
}

function actGradJs(mode: number, x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    let d: number;
    if (mode === 0) {
      const s = sigm(v * (GELU_C2 + GELU_C3 * v * v));
      d = s + v * s * (1 - s) * (GELU_C2 + 3 * GELU_C3 * v * v);
    } else if (mode === 1) {
      d = 0.5 * (1 + erf(v * Math.SQRT1_2)) + v * 0.3989422804014327 * Math.exp(-0.5 * v * v);
    } else {
      const s = sigm(v);
      d = s * (1 + v * (1 - s));
    }
    dx[i] = dy[i] * d;
  }
}

/** The addon when it has the fused activations, else null. */
function nativeAct(): (NativeBlas & Required<Pick<NativeBlas, 'act' | 'actGrad' | 'swiglu' | 'swigluGrad'>>) | null {
  const blas = activeBlas();
  return blas?.act && blas.actGrad && blas.swiglu && blas.swigluGrad ? (blas as never) : null;
}

/**
 * f(x) elementwise in one fused kernel each way on wasm (through the addon) and cpu; null elsewhere (the caller's
 * ops serve: `gelu`, `geluExact`, `silu` in lib/models/transformer.ts, which the fused path is tested against).
 */
export function fusedActivation(x: tf.Tensor, kind: Activation): tf.Tensor | null {
  const mode = ACTIVATIONS[kind];
  const engine = rawEngine([x]);
  const native = nativeAct();
  if (engine == null || (engine === 'wasm' && !native)) return null;
  const f = tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y] = rawOp(engine, [xi], [xi.shape], ([xv], [yv]) => (native ? native.act(mode, xv, yv) : actForwardJs(mode, xv, yv)));
    save([xi]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const eng = rawEngine([dy, saved[0]]);
        if (eng == null) throw new Error('fused activation: the gradient left the engine of the forward pass');
        return rawOp(eng, [saved[0], dy], [xi.shape], ([xv, dyv], [dxv]) => (native ? native.actGrad(mode, xv, dyv, dxv) : actGradJs(mode, xv, dyv, dxv)))[0];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as tf.Tensor;
}

/** silu(a)·b (LLaMA's SwiGLU gate) fused on wasm (addon) and cpu; null elsewhere or when the shapes differ. */
export function fusedSwiGlu(a: tf.Tensor, b: tf.Tensor): tf.Tensor | null {
  if (!tf.util.arraysEqual(a.shape, b.shape)) return null;
  const engine = rawEngine([a, b]);
  const native = nativeAct();
  if (engine == null || (engine === 'wasm' && !native)) return null;
  const f = tf.customGrad(((ai: tf.Tensor, bi: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y] = rawOp(engine, [ai, bi], [ai.shape], ([av, bv], [yv]) => {
      if (native) native.swiglu(av, bv, yv);
      else for (let i = 0; i < av.length; i++) yv[i] = av[i] * sigm(av[i]) * bv[i];
    });
    save([ai, bi]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const eng = rawEngine([dy, ...saved]);
        if (eng == null) throw new Error('fused SwiGLU: the gradient left the engine of the forward pass');
        return rawOp(eng, [saved[0], saved[1], dy], [ai.shape, ai.shape], ([av, bv, dyv], [dav, dbv]) => {
          if (native) return native.swigluGrad(av, bv, dyv, dav, dbv);
          for (let i = 0; i < av.length; i++) {
            const v = av[i];
            const s = sigm(v);
            dbv[i] = dyv[i] * v * s;
            dav[i] = dyv[i] * bv[i] * s * (1 + v * (1 - s));
          }
        });
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(a, b) as tf.Tensor;
}
