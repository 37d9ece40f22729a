/**
 * Vision Transformer encoder (Dosovitskiy et al., arXiv 2010.11929) as the MAE of paper A uses it:
 * "Residual Connections Harm Generative Representation Learning", arXiv 2404.10947, official code
 * `MAE/models_mae.py` (a fork of facebookresearch/mae).
 *
 *   tokens  z_0 = [cls + pos_0 ; patch_i W_e + b_e + pos_i]          (pos: fixed 2-D sin-cos, pos_0 = 0)
 *   trunk   pre-LN blocks through a Wiring: x ← α_k x + f_k(x) per sub-layer (attention, MLP separately)
 *   feature mean over ALL tokens (cls included) of the last block's output, no final LayerNorm
 *           (the official `eval_model`: `forward_feat(img)[-1].mean(dim=1)`; paper A, Sec. 3)
 *
 * The trunk is lib/models/transformer.ts's TransformerStack; its `states` (every block's output) feed
 * MAE's encoder→decoder skips and the per-block effective rank. Branch output projections start at 0.
 *
 * Shape letters: B batch, H×W image, C channels, p patch side, h×w patch grid, L = h·w patches,
 * P = p·p·C pixels per patch, T tokens (1 + visible patches), D width.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, checkNumber, checkOneOf, checkPositiveInt } from '../errors';
import type { WiringConfig } from '../residual';
import { Dense, ParamRegistry } from './layers';
import { TransformerStack, TRANSFORMER_DEFAULTS, type ForwardOptions } from './transformer';
import type { Param } from '../train/params';

export interface VitConfig {
  /** Image side in pixels (square images). */
  image: number;
  /** Channels (1 for Fashion-MNIST, 3 for ImageNet). */
  channels: number;
  /** Patch side p in pixels; must divide `image`. */
  patch: number;
  /** Token width D (divisible by 4 for the 2-D sin-cos embedding, and by `heads`). */
  width: number;
  /** Number of transformer blocks. */
  depth: number;
  /** Attention heads. */
  heads: number;
  /** MLP hidden width as a multiple of D (4 in ViT). */
  mlpRatio: number;
  /** How the trunk is wired (paper A's `decayed` applies here, to the encoder). */
  wiring: WiringConfig;
  /** Seed of every initialiser. */
  seed: number;
  /** Model-side recipe (absent = 'project'); see {@link MaeRecipe}. */
  recipe?: MaeRecipe;
}

/**
 * 'official': what paper A's MAE code does — exact GELU, the patch embedding's bias with PyTorch's default
 * init U(±1/√P) (only Linear and LayerNorm are re-initialised there), and (in Mae.params) timm's weight-decay
 * groups: every tensor of rank > 1 decayed, 1-D tensors and biases exempt. 'project': the recipe the first
 * studies ran with — tanh GELU, zero patch bias, decay on Dense weights only.
 */
export type MaeRecipe = 'official' | 'project';
export const MAE_RECIPES: readonly MaeRecipe[] = ['official', 'project'];

export const VIT_DEFAULTS: VitConfig = {
  image: 28,
  channels: 1,
  patch: 7,
  width: 64,
  depth: 8,
  heads: 4,
  mlpRatio: 4,
  wiring: { kind: 'residual' },
  seed: 0,
};

export function validateVit(c: VitConfig, where = 'vit'): void {
  checkPositiveInt(`${where}.image`, c.image);
  checkPositiveInt(`${where}.channels`, c.channels);
  checkPositiveInt(`${where}.patch`, c.patch);
  checkPositiveInt(`${where}.width`, c.width);
  checkPositiveInt(`${where}.depth`, c.depth);
  checkPositiveInt(`${where}.heads`, c.heads);
  checkNumber(`${where}.mlpRatio`, c.mlpRatio, { lo: 0, loOpen: true });
  checkNumber(`${where}.seed`, c.seed, { integer: true });
  if (c.recipe !== undefined) checkOneOf(`${where}.recipe`, c.recipe, MAE_RECIPES);
  if (c.image % c.patch) throw new ConfigError(`${where}.patch must divide image ${c.image}; got ${c.patch}`);
  if (c.width % 4) throw new ConfigError(`${where}.width must be divisible by 4 (2-D sin-cos embedding); got ${c.width}`);
  if (c.width % c.heads) throw new ConfigError(`${where}.width must be divisible by heads; got width ${c.width}, heads ${c.heads}`);
}

/**
 * MAE's fixed 2-D sin-cos position table `get_2d_sincos_pos_embed(D, g, cls_token=True)`:
 * row 0 (cls) is zeros; patch (r, c) at row 1 + r·g + c gets [sincos_{D/2}(c), sincos_{D/2}(r)], where
 * sincos_n(x) = [sin(x ω_j), cos(x ω_j)], ω_j = 10000^(−j/(n/2)), j < n/2.  // [1 + g², D]
 */
export function sincos2d(dim: number, grid: number): Float32Array {
  if (dim % 4) throw new ConfigError(`sin-cos position embeddings need a width divisible by 4; got ${dim}`);
  const out = new Float32Array((1 + grid * grid) * dim);
  const quarter = dim / 4;
  const fill = (row: number, offset: number, x: number) => {
    for (let j = 0; j < quarter; j++) {
      const a = x / Math.pow(10000, j / quarter);
      out[row * dim + offset + j] = Math.sin(a);
      out[row * dim + offset + quarter + j] = Math.cos(a);
    }
  };
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      const row = 1 + r * grid + c;
      fill(row, 0, c); // first half: the w (column) coordinate, as numpy's meshgrid(w, h) gives it
      fill(row, dim / 2, r);
    }
  }
  return out;
}

/** [B, H, W, C] (or [B, H, W] for one channel) -> [B, L, P] in MAE's (row, col, channel) order. */
export function patchify(imgs: tf.Tensor, p: number): tf.Tensor3D {
  const x = imgs.rank === 3 ? imgs.expandDims(-1) : imgs; // [B, H, W, C]
  const [B, H, W, C] = x.shape;
  if (H % p || W % p) throw new ConfigError(`patch ${p} must divide the image ${H}×${W}`);
  const [h, w] = [H / p, W / p];
  return x
    .reshape([B, h, p, w, p, C])
    .transpose([0, 1, 3, 2, 4, 5]) // [B, h, w, p, p, C]
    .reshape([B, h * w, p * p * C]) as tf.Tensor3D;
}

/** Inverse of patchify: [B, L, P] -> [B, H, W, C]. */
export function unpatchify(x: tf.Tensor, p: number, channels: number): tf.Tensor4D {
  const [B, L] = x.shape;
  const h = Math.round(Math.sqrt(L));
  if (h * h !== L) throw new ConfigError(`unpatchify needs a square number of patches; got ${L}`);
  return x
    .reshape([B, h, h, p, p, channels])
    .transpose([0, 1, 3, 2, 4, 5]) // [B, h, p, w, p, C]
    .reshape([B, h * p, h * p, channels]) as tf.Tensor4D;
}

/**
 * x [1, ...] repeated B times along the batch axis, as zeros + x: its gradient is ONE sum over the batch,
 * whereas tf.tile's (and broadcastTo's, built on Tile) is a slice and an add per copy — thousands of kernel
 * calls per step for a batch of mask tokens.
 */
export function expandBatch(x: tf.Tensor, B: number): tf.Tensor {
  return tf.add(tf.zeros([B, ...x.shape.slice(1)]), x);
}

/** The ViT encoder: patch embedding, cls token, fixed sin-cos positions, a trunk wired through lib/residual. */
export class VitEncoder {
  readonly stack: TransformerStack;
  readonly patchEmbed: Dense; // [P, D]
  readonly cls: tf.Variable; // [1, 1, D]
  /** Fixed (not trained, not counted): [1 + L, D]. */
  readonly pos: tf.Tensor2D;
  readonly numPatches: number;
  readonly patchDim: number;
  private readonly reg: ParamRegistry;

  constructor(readonly config: VitConfig, name = 'enc') {
    validateVit(config);
    const c = config;
    const g = c.image / c.patch;
    this.numPatches = g * g;
    this.patchDim = c.patch * c.patch * c.channels;
    this.reg = ParamRegistry.create(name, c.seed);
    // The official code initialises the patch conv like a Linear (Xavier on the flattened kernel).
    const official = c.recipe === 'official';
    this.patchEmbed = new Dense(this.reg.scope('patch'), this.patchDim, c.width, official ? { biasBound: 1 / Math.sqrt(this.patchDim) } : {});
    // timm's trunc_normal_(std=.02) is effectively normal(0, 0.02).
    this.cls = this.reg.add('cls', tf.randomNormal([1, 1, c.width], 0, 0.02, 'float32', this.reg.nextSeed()), false);
    this.pos = tf.keep(tf.tensor2d(sincos2d(c.width, g), [1 + this.numPatches, c.width]));
    this.stack = new TransformerStack(
      {
        ...TRANSFORMER_DEFAULTS,
        width: c.width,
        depth: c.depth,
        heads: c.heads,
        mlpHidden: Math.round(c.width * c.mlpRatio),
        zeroInitBranches: true,
        finalNorm: false,
        wiring: c.wiring,
        seed: c.seed * 7919 + 1,
        ...(official ? { gelu: 'exact' as const } : {}),
      },
      `${name}/trunk`,
    );
  }

  /** Patches [B, L, P] -> patch tokens with position embeddings [B, L, D] (no cls yet). */
  embed(patches: tf.Tensor): tf.Tensor3D {
    const posPatches = this.pos.slice([1, 0], [this.numPatches, this.config.width]); // [L, D]
    return tf.add(this.patchEmbed.apply(patches), posPatches) as tf.Tensor3D;
  }

  /** Prepends the cls token (its position embedding is 0) and runs the trunk: [B, T−1, D] -> [B, T, D] states. */
  run(tokens: tf.Tensor, opts: ForwardOptions = {}): { out: tf.Tensor; states: tf.Tensor[] } {
    const B = tokens.shape[0];
    const cls = expandBatch(this.cls, B); // [B, 1, D]
    return this.stack.forward(tf.concat([cls, tokens], 1), opts);
  }

  /**
   * Evaluation features of unmasked images [B, H, W(, C)]: the mean over tokens of every block's
   * output, `[B, D]` per block; the last one is THE feature (no final norm). Call inside tf.tidy.
   */
  blockFeatures(imgs: tf.Tensor): tf.Tensor2D[] {
    const { states } = this.run(this.embed(patchify(imgs, this.config.patch)));
    return states.map((s) => tf.mean(s, 1) as tf.Tensor2D); // [B, T, D] -> [B, D]
  }

  /** The evaluation feature: mean over tokens of the last block's output. // [B, D] */
  features(imgs: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const f = this.blockFeatures(imgs);
      return f[f.length - 1];
    });
  }

  params(): Param[] {
    return [...this.reg.params(), ...this.stack.params()];
  }

  paramCount(): number {
    return this.params().reduce((n, p) => n + p.variable.size, 0);
  }

  dispose(): void {
    for (const p of this.reg.params()) p.variable.dispose();
    this.stack.dispose();
    this.pos.dispose();
  }
}

/**
 * The batches of feature extraction: each batch's per-block features `[b, D]` and the offset of its first
 * value in the `[N, D]` arrays, disposed when the consumer asks for the next batch (or stops).
 */
function* blockFeatureBatches(enc: VitEncoder, images: Float32Array, n: number, batch: number): Generator<{ at: number; feats: tf.Tensor2D[] }> {
  const { image, channels, width } = enc.config;
  const hw = image * image * channels;
  for (let i = 0; i < n; i += batch) {
    const b = Math.min(batch, n - i);
    const feats = tf.tidy(() => {
      const x = tf.tensor(images.subarray(i * hw, (i + b) * hw), channels === 1 ? [b, image, image] : [b, image, image, channels]);
      return enc.blockFeatures(x);
    });
    try {
      yield { at: i * width, feats };
    } finally {
      tf.dispose(feats);
    }
  }
}

/** `[N, D]` per block, to be filled. */
function featureArrays(enc: VitEncoder, n: number): { blocks: Float32Array[]; dim: number } {
  const D = enc.config.width;
  return { blocks: Array.from({ length: enc.config.depth }, () => new Float32Array(n * D)), dim: D };
}

/** `extractFeatures` reading with await (every engine; webgpu cannot read synchronously). */
export async function extractFeaturesAsync(enc: VitEncoder, images: Float32Array, n: number, batch = 256): Promise<{ blocks: Float32Array[]; dim: number }> {
  const out = featureArrays(enc, n);
  for (const { at, feats } of blockFeatureBatches(enc, images, n, batch)) {
    const values = await Promise.all(feats.map((f) => f.data() as Promise<Float32Array>));
    values.forEach((v, l) => out.blocks[l].set(v, at));
  }
  return out;
}

/**
 * Features of many images in batches, without keeping the graph: `[N, D]` per block (all blocks) as
 * Float32Arrays. `images` is [N, H, W] row-major in [0, 1] (one channel).
 */
export function extractFeatures(
  enc: VitEncoder,
  images: Float32Array,
  n: number,
  batch = 256,
): { blocks: Float32Array[]; dim: number } {
  const out = featureArrays(enc, n);
  for (const { at, feats } of blockFeatureBatches(enc, images, n, batch)) feats.forEach((f, l) => out.blocks[l].set(f.dataSync(), at));
  return out;
}
