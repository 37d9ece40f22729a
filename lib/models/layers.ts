/**
 * The layers of the transformer families (ViT/MAE, DiT, LLaMA; lib/models/transformer.ts composes them into
 * the stack) and of the residual MLPs: the parameter registry and seeded init, Dense, LayerNorm / RMSNorm,
 * the activations (GELU, SiLU, SwiGLU, fused on wasm and cpu), the MLPs, rotary embeddings and multi-head
 * self-attention.
 *
 * Shape letters: B batch, T tokens, D width, H heads, Dh = D/H head width, F MLP hidden width, N = B·T rows
 * of a flattened matmul.
 *
 * Parameters are explicit tf.Variables created once in constructors; every `apply` is a pure function of
 * its inputs, safe inside the caller's tf.tidy. Weight decay: on Dense weights only; never on biases, norm
 * gains or wiring scalars (MAE's `param_groups_weight_decay`).
 */
import * as tf from '@tensorflow/tfjs';
import type { Param } from '../train/params';
import { uniqueVariableName } from '../residual';
import { ConfigError } from '../errors';
import { fusedActivation, fusedSwiGlu, layerNorm, rmsNorm, scaledSoftmax } from '../backend/fused-ops';

export type { Param } from '../train/params';

// ---------------------------------------------------------------------------------------------
// Parameter registry
// ---------------------------------------------------------------------------------------------

/** A variable's name without the `#n` suffix uniqueVariableName adds on collisions. */
function logicalName(name: string): string {
  return name.replace(/#\d+$/, '');
}

/** mulberry32: a tiny seeded generator, so every init is reproducible from one model seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Collects {name, variable, decay} as modules create their variables. `scope('block3')` returns a
 * registry writing to the same list under `prefix/block3/`. Names are made unique in TF.js's global
 * variable registry (a `#2` suffix when a second model with the same prefix exists).
 */
export class ParamRegistry {
  private constructor(
    readonly prefix: string,
    private readonly list: Param[],
    private readonly rand: () => number,
  ) {}

  static create(prefix: string, seed = 0): ParamRegistry {
    return new ParamRegistry(prefix, [], mulberry32(seed));
  }

  scope(name: string): ParamRegistry {
    return new ParamRegistry(`${this.prefix}/${name}`, this.list, this.rand);
  }

  /** A fresh seed for a tf.random* initialiser. */
  nextSeed(): number {
    return Math.floor(this.rand() * 2 ** 31);
  }

  /** Registers `init` (disposed) as a new trainable variable `prefix/name`. */
  add(name: string, init: tf.Tensor, decay: boolean): tf.Variable {
    const variable = tf.variable(init, true, uniqueVariableName(`${this.prefix}/${name}`));
    init.dispose();
    // The Param name is the logical one (no `#2` suffix): checkpoints written by a process that
    // built another model first must load in a fresh process, and vice versa.
    this.list.push({ name: logicalName(variable.name), variable, decay });
    return variable;
  }

  /** Registers variables created elsewhere (a wiring's scalars), keeping their names. */
  adopt(variables: readonly tf.Variable[], decay: boolean): void {
    for (const variable of variables) this.list.push({ name: logicalName(variable.name), variable, decay });
  }

  params(): Param[] {
    return this.list.slice();
  }
}

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/** Xavier/Glorot uniform on a [fanIn, fanOut] matrix: U(±√(6 / (fanIn + fanOut))). */
export function xavierUniform(fanIn: number, fanOut: number, seed: number): tf.Tensor2D {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  return tf.randomUniform([fanIn, fanOut], -a, a, 'float32', seed) as tf.Tensor2D;
}

export interface DenseOptions {
  /** Add a bias (zero-initialised). Default true. */
  bias?: boolean;
  /** Start the weight at 0 (zero-initialised branch outputs, paper A). Default false. */
  zeroInit?: boolean;
  /** Initialise the bias U(−a, a) instead of 0 (PyTorch's default for a conv/linear bias: a = 1/√fanIn). */
  biasBound?: number;
}

/** y = x W + b on the last axis. */
export class Dense {
  readonly w: tf.Variable; // [in, out]
  readonly b: tf.Variable | null; // [out]
  constructor(reg: ParamRegistry, readonly inDim: number, readonly outDim: number, opts: DenseOptions = {}) {
    this.w = reg.add('w', opts.zeroInit ? tf.zeros([inDim, outDim]) : xavierUniform(inDim, outDim, reg.nextSeed()), true);
    const a = opts.biasBound ?? 0;
    this.b = opts.bias === false ? null : reg.add('b', a > 0 ? tf.randomUniform([outDim], -a, a, 'float32', reg.nextSeed()) : tf.zeros([outDim]), false);
  }

  apply(x: tf.Tensor): tf.Tensor {
    const lead = x.shape.slice(0, -1);
    const x2 = x.reshape([-1, this.inDim]); // [N, in]: a 2-D matmul is the fastest kernel on every engine
    let y = tf.matMul(x2, this.w as tf.Tensor2D); // [N, out]
    if (this.b) y = tf.add(y, this.b);
    return y.reshape([...lead, this.outDim]);
  }
}

/** LayerNorm over the last axis (eps 1e-6 as in MAE/DiT); `affine` false for DiT's adaLN blocks. */
export class LayerNorm {
  readonly g: tf.Variable | null;
  readonly b: tf.Variable | null;
  constructor(reg: ParamRegistry, dim: number, readonly eps = 1e-6, affine = true) {
    this.g = affine ? reg.add('g', tf.ones([dim]), false) : null;
    this.b = affine ? reg.add('b', tf.zeros([dim]), false) : null;
  }

  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.g, this.b, this.eps); // fused forward + backward on wasm/cpu (lib/backend/fused-ops.ts)
  }
}

/** RMSNorm (LLaMA): x / √(mean(x²) + eps) · g. */
export class RMSNorm {
  readonly g: tf.Variable | null;
  constructor(reg: ParamRegistry, dim: number, readonly eps = 1e-6, affine = true) {
    this.g = affine ? reg.add('g', tf.ones([dim]), false) : null;
  }

  apply(x: tf.Tensor): tf.Tensor {
    return rmsNorm(x, this.g, this.eps); // fused forward + backward on wasm/cpu (lib/backend/fused-ops.ts)
  }
}

export type Norm = LayerNorm | RMSNorm;

/**
 * GELU, tanh approximation (Hendrycks & Gimpel): 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³),
 * written as x·σ(2u) (the same function: 0.5·(1 + tanh(u)) = σ(2u)): 6 kernels and their
 * gradients instead of 9 (tanh alone is 4 on wasm), one SIMD sigmoid. Built from ops every engine has.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return fusedActivation(x, 'gelu-tanh') ?? geluOps(x);
}

/** `gelu` with TF.js ops (the reference of the fused kernel, and the path on other engines). */
export function geluOps(x: tf.Tensor): tf.Tensor {
  const c2 = 2 * Math.sqrt(2 / Math.PI);
  const x2 = tf.mul(x, x);
  return tf.mul(x, tf.sigmoid(tf.mul(x, tf.add(tf.mul(x2, 0.044715 * c2), c2))));
}

/** GELU as first written (0.5·x·(1 + tanh(u))): the reference `gelu` is tested against. */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** GELU, exact: x·Φ(x) = x/2·(1 + erf(x/√2)) (PyTorch's nn.GELU(), the official MAE's). */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return fusedActivation(x, 'gelu-exact') ?? geluExactOps(x);
}

/** `geluExact` with TF.js ops. */
export function geluExactOps(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** Which GELU an MLP uses: 'tanh' (the approximation, the project's first recipe) or 'exact'. */
export type GeluKind = 'tanh' | 'exact';
export const GELU_KINDS: readonly GeluKind[] = ['tanh', 'exact'];

/** SiLU x·σ(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return fusedActivation(x, 'silu') ?? siluOps(x);
}

/** `silu` with TF.js ops. */
export function siluOps(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** LLaMA's SwiGLU gate silu(a)·b: one fused kernel each way on wasm and cpu, TF.js ops elsewhere. */
export function swiGlu(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return fusedSwiGlu(a, b) ?? tf.mul(siluOps(a), b);
}

/** fc1 → GELU → fc2 (ViT/MAE/DiT). */
export class Mlp {
  readonly fc1: Dense;
  readonly fc2: Dense;
  readonly act: (x: tf.Tensor) => tf.Tensor;
  constructor(reg: ParamRegistry, dim: number, hidden: number, opts: { bias?: boolean; zeroInitOut?: boolean; gelu?: GeluKind } = {}) {
    this.fc1 = new Dense(reg.scope('fc1'), dim, hidden, { bias: opts.bias });
    this.fc2 = new Dense(reg.scope('fc2'), hidden, dim, { bias: opts.bias, zeroInit: opts.zeroInitOut });
    this.act = opts.gelu === 'exact' ? geluExact : gelu;
  }

  apply(x: tf.Tensor): tf.Tensor {
    return this.fc2.apply(this.act(this.fc1.apply(x))); // [B, T, D] -> [B, T, F] -> [B, T, D]
  }
}

/** LLaMA's SwiGLU: down(SiLU(gate x) ⊙ up x), no biases. */
export class SwiGluMlp {
  readonly gate: Dense;
  readonly up: Dense;
  readonly down: Dense;
  constructor(reg: ParamRegistry, dim: number, hidden: number, opts: { zeroInitOut?: boolean } = {}) {
    this.gate = new Dense(reg.scope('gate'), dim, hidden, { bias: false });
    this.up = new Dense(reg.scope('up'), dim, hidden, { bias: false });
    this.down = new Dense(reg.scope('down'), hidden, dim, { bias: false, zeroInit: opts.zeroInitOut });
  }

  apply(x: tf.Tensor): tf.Tensor {
    return this.down.apply(swiGlu(this.gate.apply(x), this.up.apply(x))); // [B, T, F] -> [B, T, D]
  }
}

/**
 * Rotary position embeddings (RoFormer, arXiv 2104.09864) in LLaMA's rotate-half layout:
 * x' = x·cos + rotate_half(x)·sin with frequencies base^(−2i/Dh), i < Dh/2, repeated for both halves.
 */
export class Rotary {
  private readonly cache = new Map<number, { cos: tf.Tensor2D; sin: tf.Tensor2D }>();
  constructor(readonly headDim: number, readonly base = 10000) {
    if (headDim % 2) throw new ConfigError(`rotary embeddings need an even head width; got ${headDim}`);
  }

  /** cos and sin tables [T, Dh], built once per sequence length and kept (tf.keep) until dispose(). */
  tables(T: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
    let t = this.cache.get(T);
    if (!t) {
      const half = this.headDim / 2;
      const cos = new Float32Array(T * this.headDim);
      const sin = new Float32Array(T * this.headDim);
      for (let p = 0; p < T; p++) {
        for (let i = 0; i < half; i++) {
          const a = p * Math.pow(this.base, (-2 * i) / this.headDim);
          for (const j of [i, i + half]) {
            cos[p * this.headDim + j] = Math.cos(a);
            sin[p * this.headDim + j] = Math.sin(a);
          }
        }
      }
      t = { cos: tf.keep(tf.tensor2d(cos, [T, this.headDim])), sin: tf.keep(tf.tensor2d(sin, [T, this.headDim])) };
      this.cache.set(T, t);
    }
    return t;
  }

  /** x [B, H, T, Dh] -> same shape. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const T = x.shape[2];
    const half = this.headDim / 2;
    const { cos, sin } = this.tables(T);
    const [x1, x2] = tf.split(x, [half, half], 3); // [B, H, T, Dh/2] each
    const rotated = tf.concat([tf.neg(x2), x1], 3); // [B, H, T, Dh]
    return tf.add(tf.mul(x, cos), tf.mul(rotated, sin)) as tf.Tensor4D;
  }

  dispose(): void {
    for (const { cos, sin } of this.cache.values()) tf.dispose([cos, sin]);
    this.cache.clear();
  }
}

export interface AttentionOptions {
  /** Mask future tokens (LLaMA). Default false. */
  causal?: boolean;
  /** Rotary embeddings on q and k (LLaMA). Default none. */
  rotary?: Rotary | null;
  /** Biases on qkv and the output projection. Default true (ViT); LLaMA false. */
  bias?: boolean;
  /** Zero-initialise the output projection (paper A). Default false. */
  zeroInitOut?: boolean;
}

/** Multi-head self-attention with a fused qkv projection. */
export class MultiHeadAttention {
  readonly qkv: Dense;
  readonly proj: Dense;
  readonly headDim: number;
  constructor(reg: ParamRegistry, readonly dim: number, readonly heads: number, readonly opts: AttentionOptions = {}) {
    if (dim % heads) throw new ConfigError(`width must be divisible by heads; got width ${dim}, heads ${heads}`);
    this.headDim = dim / heads;
    this.qkv = new Dense(reg.scope('qkv'), dim, 3 * dim, { bias: opts.bias });
    this.proj = new Dense(reg.scope('proj'), dim, dim, { bias: opts.bias, zeroInit: opts.zeroInitOut });
  }

  /** x [B, T, D] -> [B, T, D]. */
  apply(x: tf.Tensor): tf.Tensor {
    const [B, T] = x.shape;
    const [H, Dh] = [this.heads, this.headDim];
    const qkv = this.qkv.apply(x).reshape([B, T, 3, H, Dh]).transpose([2, 0, 3, 1, 4]); // [3, B, H, T, Dh]
    let [q, k, v] = tf.unstack(qkv) as tf.Tensor4D[]; // [B, H, T, Dh] each
    if (this.opts.rotary) {
      q = this.opts.rotary.apply(q);
      k = this.opts.rotary.apply(k);
    }
    // softmax(q·kᵀ/√Dh + causal mask), one fused kernel on wasm/cpu (lib/backend/fused-ops.ts)
    const attn = scaledSoftmax(tf.matMul(q, k, false, true), 1 / Math.sqrt(Dh), !!this.opts.causal); // [B, H, T, T]
    const y = tf.matMul(attn, v).transpose([0, 2, 1, 3]).reshape([B, T, H * Dh]); // [B, H, T, Dh] -> [B, T, D]
    return this.proj.apply(y);
  }

  /** Nothing cached any more (the causal mask lives in the fused softmax); kept for the stack's dispose. */
  dispose(): void {}
}
