/**
 * Shared pre-LN transformer building blocks, used by the ViT/MAE, DiT and LLaMA families and the
 * engine benchmark. The trunk runs through a Wiring (lib/residual): a block hands over its sub-layer
 * branches [attn_l, mlp_l] (each f(x) WITHOUT the residual add), and the wiring composes them:
 * x ← α_k x + β_k f_k(x) per sub-layer (paper A, arXiv 2404.10947) or whole-block routing (ANCRe,
 * arXiv 2602.09009). No code here branches on the wiring's kind.
 *
 *   attn branch  f(x) = gate ⊙ Attn(modulate(Norm(x), shift, scale))       (modulation only with a hook, DiT)
 *   mlp branch   f(x) = gate ⊙ MLP(modulate(Norm(x), shift, scale))
 *
 * Shape letters: B batch, T tokens, D width, H heads, Dh = D/H head width, F MLP hidden width,
 * C conditioning width (DiT), N = B·T rows of a flattened matmul.
 *
 * Parameters are explicit tf.Variables created once in constructors; every `apply` is a pure function of
 * its inputs, safe inside the caller's tf.tidy. Weight decay (see `params()`): on Dense weights only; never on
 * biases, norm gains or wiring scalars (MAE's `param_groups_weight_decay`). Models that add learned position
 * tables should register them with decay false (timm's `no_weight_decay` lists pos_embed); token embedding
 * tables decay like weights.
 */
import * as tf from '@tensorflow/tfjs';
import type { Param } from '../train/params';
import { makeWiring, type Wiring, type WiringConfig, type Block, type BeforeBlockHook } from '../residual';
import { ConfigError, checkOneOf, checkPositiveInt, checkNumber } from '../errors';
import { Dense, gelu, GELU_KINDS, LayerNorm, Mlp, MultiHeadAttention, ParamRegistry, RMSNorm, Rotary, SwiGluMlp, type GeluKind, type Norm } from './layers';

// The layers live in ./layers.ts; importers of this module (models, tests, notebooks) still find them here.
export * from './layers';

// ---------------------------------------------------------------------------------------------
// The stack
// ---------------------------------------------------------------------------------------------

export interface TransformerStackConfig {
  /** Width D. */
  width: number;
  /** Number of blocks (each attention + MLP). */
  depth: number;
  /** Attention heads H (D divisible by H). */
  heads: number;
  /** MLP hidden width F (ViT: 4D; LLaMA-60M: 1376). */
  mlpHidden: number;
  /** 'gelu' (fc1-GELU-fc2, ViT/DiT) or 'swiglu' (LLaMA). */
  mlp: 'gelu' | 'swiglu';
  /** 'layernorm' (ViT/DiT) or 'rmsnorm' (LLaMA). */
  norm: 'layernorm' | 'rmsnorm';
  /** Learnable norm gains (and LayerNorm biases); false for DiT's adaLN blocks. */
  normAffine: boolean;
  /** Causal attention mask (LLaMA). */
  causal: boolean;
  /** Rotary embeddings on q, k (LLaMA). */
  rotary: boolean;
  /** Biases in attention and GELU-MLP linears (ViT true, LLaMA false). */
  bias: boolean;
  /** Zero-initialise every branch's output projection (paper A's requirement); ignored when the wiring needs live branches (ReZero, plain). */
  zeroInitBranches: boolean;
  /** Apply a final norm to `out` (states stay un-normalised). MAE's eval features use no final norm. */
  finalNorm: boolean;
  /** How the trunk is wired. */
  wiring: WiringConfig;
  /** Seed of every initialiser. */
  seed: number;
  /** GELU of the 'gelu' MLP: 'tanh' (default when absent) or 'exact' (the official MAE recipe). */
  gelu?: GeluKind;
}

export const TRANSFORMER_DEFAULTS: TransformerStackConfig = {
  width: 128,
  depth: 8,
  heads: 4,
  mlpHidden: 512,
  mlp: 'gelu',
  norm: 'layernorm',
  normAffine: true,
  causal: false,
  rotary: false,
  bias: true,
  zeroInitBranches: true,
  finalNorm: false,
  wiring: { kind: 'residual' },
  seed: 0,
};

/** LLaMA-style settings: causal, RMSNorm, SwiGLU, rotary, no biases. */
export const LLAMA_STACK: Partial<TransformerStackConfig> = {
  mlp: 'swiglu',
  norm: 'rmsnorm',
  causal: true,
  rotary: true,
  bias: false,
  finalNorm: true,
};

export function validateTransformerStack(c: TransformerStackConfig, where = 'transformer'): void {
  checkPositiveInt(`${where}.width`, c.width);
  checkPositiveInt(`${where}.depth`, c.depth);
  checkPositiveInt(`${where}.heads`, c.heads);
  checkPositiveInt(`${where}.mlpHidden`, c.mlpHidden);
  checkOneOf(`${where}.mlp`, c.mlp, ['gelu', 'swiglu'] as const);
  checkOneOf(`${where}.norm`, c.norm, ['layernorm', 'rmsnorm'] as const);
  if (c.gelu !== undefined) checkOneOf(`${where}.gelu`, c.gelu, GELU_KINDS);
  checkNumber(`${where}.seed`, c.seed, { integer: true });
  if (c.width % c.heads) throw new ConfigError(`${where}.width must be divisible by heads; got width ${c.width}, heads ${c.heads}`);
  if (c.rotary && (c.width / c.heads) % 2) throw new ConfigError(`${where}: rotary needs an even head width; got ${c.width / c.heads}`);
}

/** Shift, scale and gate for one branch, each [B, D] (broadcast over tokens). Any may be absent. */
export interface Modulation {
  shift?: tf.Tensor;
  scale?: tf.Tensor;
  gate?: tf.Tensor;
}

/**
 * Per-block modulation (DiT's adaLN-Zero): called once per block and forward pass with the
 * conditioning vector cond [B, C]; the DiT model owns the variables it uses (its adaLN Dense layers).
 */
export type ModulationHook = (block: number, cond: tf.Tensor) => { attn?: Modulation; mlp?: Modulation };

export interface StackHooks {
  modulation?: ModulationHook;
}

export interface ForwardOptions {
  /** Conditioning [B, C] passed to the modulation hook. */
  cond?: tf.Tensor;
  /** Runs before each block (MAE decoder skips, U-ViT long skips); see lib/residual BeforeBlockHook. */
  beforeBlock?: BeforeBlockHook;
}

function modulate(x: tf.Tensor, m?: Modulation): tf.Tensor {
  // x [B, T, D]; shift, scale [B, D] -> [B, 1, D]
  if (!m) return x;
  let y = x;
  if (m.scale) y = tf.mul(y, tf.add(tf.expandDims(m.scale, 1), 1));
  if (m.shift) y = tf.add(y, tf.expandDims(m.shift, 1));
  return y;
}

/** One pre-LN block's pieces; its branches are what the wiring composes. */
export class TransformerBlock {
  readonly norm1: Norm;
  readonly attn: MultiHeadAttention;
  readonly norm2: Norm;
  readonly mlp: Mlp | SwiGluMlp;
  constructor(reg: ParamRegistry, c: TransformerStackConfig, zeroInitOut: boolean, rotary: Rotary | null) {
    const mkNorm = (name: string): Norm =>
      c.norm === 'rmsnorm'
        ? new RMSNorm(reg.scope(name), c.width, 1e-6, c.normAffine)
        : new LayerNorm(reg.scope(name), c.width, 1e-6, c.normAffine);
    this.norm1 = mkNorm('norm1');
    this.attn = new MultiHeadAttention(reg.scope('attn'), c.width, c.heads, {
      causal: c.causal,
      rotary,
      bias: c.bias,
      zeroInitOut,
    });
    this.norm2 = mkNorm('norm2');
    this.mlp =
      c.mlp === 'swiglu'
        ? new SwiGluMlp(reg.scope('mlp'), c.width, c.mlpHidden, { zeroInitOut })
        : new Mlp(reg.scope('mlp'), c.width, c.mlpHidden, { bias: c.bias, zeroInitOut, gelu: c.gelu });
  }

  /** [attn branch, mlp branch], each f(x) without the residual add; `getMods` from the modulation hook. */
  branches(getMods: () => { attn?: Modulation; mlp?: Modulation } | undefined): Block {
    const gate = (y: tf.Tensor, m?: Modulation) => (m?.gate ? tf.mul(y, tf.expandDims(m.gate, 1)) : y);
    return [
      (x) => {
        const m = getMods()?.attn;
        return gate(this.attn.apply(modulate(this.norm1.apply(x), m)), m);
      },
      (x) => {
        const m = getMods()?.mlp;
        return gate(this.mlp.apply(modulate(this.norm2.apply(x), m)), m);
      },
    ];
  }
}

/**
 * A stack of pre-LN transformer blocks whose trunk runs through a Wiring.
 * forward(x [B, T, D]) -> { out [B, T, D], states: every block's output [B, T, D] }.
 */
export class TransformerStack {
  readonly wiring: Wiring;
  readonly blocks: TransformerBlock[] = [];
  readonly finalNorm: Norm | null;
  readonly rotary: Rotary | null;
  private readonly reg: ParamRegistry;

  constructor(readonly config: TransformerStackConfig, name = 'stack', private readonly hooks: StackHooks = {}) {
    validateTransformerStack(config);
    const c = config;
    this.reg = ParamRegistry.create(name, c.seed);
    this.wiring = makeWiring(c.wiring, c.depth, 2);
    const zeroInitOut = c.zeroInitBranches && !this.wiring.needsLiveBranches;
    this.rotary = c.rotary ? new Rotary(c.width / c.heads) : null;
    for (let l = 0; l < c.depth; l++) this.blocks.push(new TransformerBlock(this.reg.scope(`block${l}`), c, zeroInitOut, this.rotary));
    this.finalNorm = !c.finalNorm
      ? null
      : c.norm === 'rmsnorm'
        ? new RMSNorm(this.reg.scope('norm'), c.width, 1e-6, c.normAffine)
        : new LayerNorm(this.reg.scope('norm'), c.width, 1e-6, c.normAffine);
    this.reg.adopt(this.wiring.variables, false);
  }

  /** x [B, T, D] -> { out [B, T, D], states [B, T, D] × depth }. Call inside tf.tidy. */
  forward(x: tf.Tensor, opts: ForwardOptions = {}): { out: tf.Tensor; states: tf.Tensor[] } {
    const { modulation } = this.hooks;
    if (modulation && !opts.cond) throw new ConfigError('this stack has a modulation hook: forward needs opts.cond');
    const blocks = this.blocks.map((b, l) => {
      let mods: ReturnType<ModulationHook> | undefined;
      // The hook runs once per block, when its first branch runs (after beforeBlock).
      const getMods = () => (modulation ? (mods ??= modulation(l, opts.cond!)) : undefined);
      return b.branches(getMods);
    });
    const { out, states } = this.wiring.run(x, blocks, { beforeBlock: opts.beforeBlock });
    return { out: this.finalNorm ? this.finalNorm.apply(out) : out, states };
  }

  /** Every parameter with its weight-decay flag (wiring scalars included, without decay). */
  params(): Param[] {
    return this.reg.params();
  }

  /** Number of scalars, wiring included. */
  paramCount(): number {
    return this.params().reduce((n, p) => n + p.variable.size, 0);
  }

  dispose(): void {
    for (const p of this.params()) p.variable.dispose();
    for (const b of this.blocks) b.attn.dispose();
    this.rotary?.dispose();
  }
}
