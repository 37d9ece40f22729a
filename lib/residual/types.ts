/**
 * The wiring interface: how a stack of layers combines earlier outputs into the next input.
 * A model hands over its trunk as blocks of sub-layer branches and never branches on the kind.
 *
 * Shapes: any; every state has the shape of h0 (e.g. [B, T, D] for a transformer, [d, N] for a linear net).
 */
import type * as tf from '@tensorflow/tfjs';
import type { WiringConfig, ResolvedWiringConfig } from './config';

/** A branch f(x) WITHOUT the residual add (e.g. Attn(Norm x) or MLP(Norm x)). Same shape in and out. */
export type Branch = (x: tf.Tensor) => tf.Tensor;

/** One block = its sub-layer branches in order, e.g. [attn_l, mlp_l] for a pre-LN transformer block. */
export type Block = Branch[];

/**
 * Runs before block l with that block's input state; its result replaces the state (it becomes the
 * block's input and, for block-routing wirings, the routed source h_l). Used for MAE's encoder→decoder
 * skips and U-ViT long skips: `x ← x + MLP(concat[x, skip])`.
 */
export type BeforeBlockHook = (block: number, h: tf.Tensor) => tf.Tensor;

export interface RunOptions {
  beforeBlock?: BeforeBlockHook;
}

/** The stack's output and the output of every block (h_1 … h_K), for skips and per-block rank. */
export interface RunResult {
  out: tf.Tensor;
  states: tf.Tensor[];
}

/** Parameter overhead of a wiring, in scalars. */
export interface WiringOverhead {
  /** Scalars the wiring stores (learnable and frozen): ANCRe K(K+1)/2. */
  stored: number;
  /** Scalars the optimiser updates (= total size of `variables`). */
  trainable: number;
  /** Degrees of freedom after the softmax's shift invariance: ANCRe K(K−1)/2. */
  free: number;
}

export interface Wiring {
  /** A built-in kind (WIRING_KINDS) or a registered one (registerWiring). */
  readonly kind: WiringConfig['kind'];
  readonly config: ResolvedWiringConfig;
  /**
   * 'sublayer': every branch is one routed layer (x ← α_k x + β_k f_k(x));
   * 'block': a whole block is one routed layer and applies its branches with plain residuals x + f(x) inside.
   */
  readonly granularity: 'sublayer' | 'block';
  /** Number of blocks the wiring was built for. */
  readonly blocks: number;
  /** Sub-layer branches per block. */
  readonly sublayersPerBlock: number;
  /** Number of routed layers: blocks·sublayersPerBlock ('sublayer') or blocks ('block'). */
  readonly n: number;
  /** The learnable scalars; names start with `wiring/` so optimisers can leave them out of weight decay. */
  readonly variables: tf.Variable[];
  /**
   * True when zero-initialised branch outputs would leave the network dead: ReZero (its branch gates start
   * at 0, so gate and branch would both get zero gradients forever) and plain (no shortcut carries the
   * signal past a zero branch). Models then keep their default init for the branch output layers.
   */
  readonly needsLiveBranches: boolean;
  /** Runs the trunk. Call inside the caller's `tf.tidy`; returns new tensors only. */
  run(h0: tf.Tensor, blocks: Block[], options?: RunOptions): RunResult;
  /**
   * Current coefficients, for plots. Sub-layer wirings: two rows, [α_k] (shortcut) and [β_k] (branch),
   * k = 0…n−1. Block routings: the routing matrix p as K rows of length K, p[l][i] = weight of
   * source h_i into h_{l+1} (0 for i > l).
   */
  coefficients(): number[][];
  /** ∏ α_k for sub-layer wirings; null for block routings, where it is not defined. */
  alphaEff(): number | null;
  /** Parameter overhead in scalars. */
  overhead(): WiringOverhead;
  /** One line, e.g. `decayed α_min=0.6 over 24 sub-layers (α_eff=2.1e-3)`. */
  describe(): string;
  /** Frees the wiring's variables. */
  dispose(): void;
}
