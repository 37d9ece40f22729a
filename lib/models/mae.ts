/**
 * Masked autoencoder (He et al., arXiv 2111.06377) as paper A trains it: "Residual Connections Harm
 * Generative Representation Learning", arXiv 2404.10947, official code `MAE/models_mae.py`.
 *
 *   mask     per image, keep the len_keep = ⌊L(1 − r)⌋ patches of smallest noise u ~ U(0,1) (argsort, r = 0.75)
 *   encode   ViT on [cls; kept patches], trunk x ← α_k x + f_k(x) (decayed shortcuts in the ENCODER only)
 *   decode   z_0 = Linear([dec_cls; dec_pos_1..L])                  (a learned token + fixed sin-cos, NOT the latent)
 *            before decoder block j < S: z ← z + MLP([e_j ; z])     (e_j: encoder block output, deepest first,
 *                                                                     masked positions filled with its own mask token)
 *            plain residual pre-LN blocks, final LayerNorm, prediction head
 *   loss     mean over MASKED patches of mean_P (ŷ − t)², t = per-patch normalised pixels (norm_pix_loss)
 *
 * Skips come from encoder blocks 2, 4, …, L (1-based); decoder block 0 gets the deepest. Each skip MLP is
 * Linear(D_e + D_d → D_d), SiLU, Linear(D_d → D_d) with its last weight at 0. Zero-initialised: every
 * branch's output projection (attention proj, MLP fc2, encoder AND decoder, as in the official Block) and
 * the prediction head. `skips: false` is the ablation row: the decoder then reads the encoder the standard
 * MAE way (LayerNorm(latent) → Linear → mask tokens at masked positions + sin-cos positions); without
 * skips and without that path the decoder would see nothing of the encoder.
 *
 * Shape letters: B batch, L patches, K = len_keep visible patches, P pixels per patch,
 * De encoder width, Dd decoder width, T_e = 1 + K encoder tokens, T_d = 1 + L decoder tokens.
 */
import * as tf from '@tensorflow/tfjs';
import { readable } from '../backend/webgpu';
import { ActivationEstimate, transformerActivations } from '../train/memory';
import { ConfigError, checkNumber, checkPositiveInt } from '../errors';
import type { Param } from '../train/params';
import { Dense, LayerNorm, ParamRegistry, silu } from './layers';
import { TransformerStack, TRANSFORMER_DEFAULTS } from './transformer';
import { expandBatch, patchify, sincos2d, unpatchify, validateVit, VitEncoder, VIT_DEFAULTS, type VitConfig } from './vit';

export interface MaeConfig {
  /** The ViT encoder (its wiring is the experiment's subject). */
  encoder: VitConfig;
  /** Decoder width Dd (divisible by 4 and by decoderHeads). */
  decoderWidth: number;
  /** Decoder blocks (plain residuals). */
  decoderDepth: number;
  /** Decoder attention heads. */
  decoderHeads: number;
  /** Decoder MLP hidden width as a multiple of Dd. */
  decoderMlpRatio: number;
  /** Fraction of patches removed, in (0, 1): 0.75 in MAE. */
  maskRatio: number;
  /** Per-patch normalised pixel targets (MAE's norm_pix_loss; paper A trains with it). */
  normPixLoss: boolean;
  /** Encoder→decoder skips (paper A's decoder); false = the ablation row with the standard MAE decoder input. */
  skips: boolean;
  /**
   * Which encoder blocks feed the decoder (with `skips`). 'paper': every second block (2, 4, …, depth), one per
   * decoder block, deepest first, as the official code (`skip_id`); a decoder shallower than depth/2 is a
   * ConfigError. Absent (the records made before this field): the same sources cut to the first `decoderDepth`,
   * so a decoder shallower than depth/2 dropped the SHALLOWEST skips (see `maeSkipSources`).
   */
  skipLayout?: 'paper';
}

/** The runtime list of skip layouts. */
export const MAE_SKIP_LAYOUTS = ['paper'] as const;

/**
 * The encoder blocks (0-based) whose outputs feed the decoder, deepest first: decoder block j takes entry j.
 * Without `skipLayout` (earlier records) the list is cut to the decoder's depth.
 */
export function maeSkipSources(c: Pick<MaeConfig, 'encoder' | 'decoderDepth' | 'skips' | 'skipLayout'>): number[] {
  if (!c.skips) return [];
  const sources: number[] = [];
  for (let l = 1; l < c.encoder.depth; l += 2) sources.push(l);
  sources.reverse();
  return c.skipLayout === 'paper' ? sources : sources.slice(0, c.decoderDepth);
}

/** A small MAE for 28×28 Fashion-MNIST: ViT 8×64, patch 7 (16 patches, 4 visible), decoder 4×64. */
export const MAE_DEFAULTS: MaeConfig = {
  encoder: VIT_DEFAULTS,
  decoderWidth: 64,
  decoderDepth: 4,
  decoderHeads: 4,
  decoderMlpRatio: 4,
  maskRatio: 0.75,
  normPixLoss: true,
  skips: true,
  skipLayout: undefined,
};

/** Named configs, like the official `models_mae.py` constructors. */
export const MAE_PRESETS: Record<string, MaeConfig> = {
  /**
   * ViT-B/16 at 224², decoder 8 blocks × 512, 16 heads: paper A's ImageNet model. 117,038,848 trainable
   * parameters, as the official module (see officialMaeParamCount): the original MAE ViT-B/16 has 111,655,680;
   * paper A adds 6 skip layers (+5,515,776), drops the encoder's final norm (−1,536), trades the decoder mask
   * token for a decoder cls token (±512) and embeds 512-d decoder inputs instead of 768-d latents (−131,072).
   */
  mae_vit_base_patch16_dec512d8b: {
    encoder: { image: 224, channels: 3, patch: 16, width: 768, depth: 12, heads: 12, mlpRatio: 4, wiring: { kind: 'decayed', alphaMin: 0.6 }, seed: 0 },
    decoderWidth: 512,
    decoderDepth: 8,
    decoderHeads: 16,
    decoderMlpRatio: 4,
    maskRatio: 0.75,
    normPixLoss: true,
    skips: true,
    skipLayout: 'paper',
  },
  /** The cpu-preset model of the mae-sweep experiment. */
  'mae-vit-d8w64-p7-dec64d4b': MAE_DEFAULTS,
};

export function validateMae(c: MaeConfig, where = 'mae'): void {
  validateVit(c.encoder, `${where}.encoder`);
  checkPositiveInt(`${where}.decoderWidth`, c.decoderWidth);
  checkPositiveInt(`${where}.decoderDepth`, c.decoderDepth);
  checkPositiveInt(`${where}.decoderHeads`, c.decoderHeads);
  checkNumber(`${where}.decoderMlpRatio`, c.decoderMlpRatio, { lo: 0, loOpen: true });
  checkNumber(`${where}.maskRatio`, c.maskRatio, { lo: 0, hi: 1, loOpen: true, hiOpen: true });
  if (typeof c.normPixLoss !== 'boolean') throw new ConfigError(`${where}.normPixLoss must be true or false; got ${JSON.stringify(c.normPixLoss)}`);
  if (typeof c.skips !== 'boolean') throw new ConfigError(`${where}.skips must be true or false; got ${JSON.stringify(c.skips)}`);
  if (c.skipLayout !== undefined && !(MAE_SKIP_LAYOUTS as readonly unknown[]).includes(c.skipLayout)) {
    throw new ConfigError(`${where}.skipLayout must be one of ${MAE_SKIP_LAYOUTS.join(', ')} (or absent); got ${JSON.stringify(c.skipLayout)}`);
  }
  if (c.skips && c.skipLayout === 'paper' && c.decoderDepth < Math.floor(c.encoder.depth / 2)) {
    throw new ConfigError(
      `${where}.decoderDepth ${c.decoderDepth} cannot take the ${Math.floor(c.encoder.depth / 2)} skips of a ${c.encoder.depth}-block encoder ` +
        `(skipLayout 'paper': one skip per decoder block, from encoder blocks 2, 4, …, ${c.encoder.depth}); use decoderDepth ≥ ${Math.floor(c.encoder.depth / 2)} (the official decoder has 8 blocks)`,
    );
  }
  if (c.decoderWidth % 4) throw new ConfigError(`${where}.decoderWidth must be divisible by 4 (2-D sin-cos embedding); got ${c.decoderWidth}`);
  if (c.decoderWidth % c.decoderHeads) {
    throw new ConfigError(`${where}.decoderWidth must be divisible by decoderHeads; got ${c.decoderWidth}, ${c.decoderHeads}`);
  }
  const L = (c.encoder.image / c.encoder.patch) ** 2;
  if (Math.floor(L * (1 - c.maskRatio)) < 1) {
    throw new ConfigError(`${where}.maskRatio ${c.maskRatio} leaves no visible patch out of ${L}; lower it or use smaller patches`);
  }
}

/** The masking of one batch. */
export interface MaskInfo {
  /** Visible patch indices, in order of increasing noise. // [B, K] int32 */
  idsKeep: tf.Tensor2D;
  /** Rank of each patch in the shuffle (argsort of argsort): gathers [visible; masked] back to patch order. // [B, L] int32 */
  idsRestore: tf.Tensor2D;
  /** 1 where the patch is removed, 0 where visible. // [B, L] */
  mask: tf.Tensor2D;
}

/**
 * MAE's per-sample random masking: noise u ~ U(0, 1) seeded by `seed` (derive it from the run's seed and the
 * step, so a resumed run masks exactly as an uninterrupted one), ids_shuffle = argsort(u) by top-k of −u.
 */
export function randomMasking(B: number, L: number, maskRatio: number, seed: number): MaskInfo {
  const K = Math.floor(L * (1 - maskRatio));
  return tf.tidy(() => {
    const noise = tf.randomUniform([B, L], 0, 1, 'float32', seed); // [B, L]
    const idsShuffle = tf.topk(tf.neg(noise), L).indices; // ascending noise: small is keep
    const idsRestore = tf.topk(tf.neg(tf.cast(idsShuffle, 'float32')), L).indices as tf.Tensor2D; // argsort(ids_shuffle)
    const idsKeep = tf.slice(idsShuffle, [0, 0], [B, K]) as tf.Tensor2D;
    const mask = tf.cast(tf.greaterEqual(idsRestore, K), 'float32') as tf.Tensor2D;
    return { idsKeep, idsRestore, mask };
  });
}

/** x [B, N, D] gathered along tokens by ids [B, M] -> [B, M, D]; a flat gather (fast and differentiable everywhere). */
export function gatherTokens(x: tf.Tensor, ids: tf.Tensor2D): tf.Tensor3D {
  const [B, N, D] = x.shape;
  const M = ids.shape[1];
  const offsets = tf.range(0, B * N, N, 'int32').reshape([B, 1]); // [B, 1]: row b starts at b·N
  const flat = tf.add(ids, offsets).reshape([B * M]); // [B·M]
  return tf.gather(x.reshape([B * N, D]), flat).reshape([B, M, D]) as tf.Tensor3D;
}

/**
 * Visible tokens (cls first) [B, 1 + K, D] -> all positions [B, 1 + L, D] in patch order, the masked
 * ones filled with `maskToken` [1, 1, D] (MAE's unshuffle).
 */
export function unshuffle(visible: tf.Tensor, maskToken: tf.Tensor, m: MaskInfo): tf.Tensor3D {
  const [B, T, D] = visible.shape;
  const L = m.idsRestore.shape[1];
  const patches = tf.slice(visible, [0, 1, 0], [B, T - 1, D]); // [B, K, D]
  const fill = tf.add(tf.zeros([B, L - (T - 1), D]), maskToken); // [B, L − K, D] (see expandBatch)
  const ordered = gatherTokens(tf.concat([patches, fill], 1), m.idsRestore); // [B, L, D]
  return tf.concat([tf.slice(visible, [0, 0, 0], [B, 1, D]), ordered], 1) as tf.Tensor3D;
}

/** Normalised-pixel target: (t − mean) / √(var + 1e-6) per patch, var unbiased as torch's `.var()`. // [B, L, P] */
export function normalisePatches(t: tf.Tensor): { target: tf.Tensor; mean: tf.Tensor; std: tf.Tensor } {
  const P = t.shape[t.rank - 1];
  const mean = tf.mean(t, -1, true);
  const variance = tf.div(tf.sum(tf.square(tf.sub(t, mean)), -1, true), Math.max(1, P - 1));
  const std = tf.sqrt(tf.add(variance, 1e-6));
  return { target: tf.div(tf.sub(t, mean), std), mean, std };
}

/** One encoder→decoder skip: z ← z + fc2(SiLU(fc1([e; z]))), fc2 starting at 0; its own mask token for e. */
class SkipLayer {
  readonly fc1: Dense;
  readonly fc2: Dense;
  readonly maskToken: tf.Variable; // [1, 1, De]
  constructor(reg: ParamRegistry, encWidth: number, decWidth: number) {
    this.fc1 = new Dense(reg.scope('fc1'), encWidth + decWidth, decWidth);
    this.fc2 = new Dense(reg.scope('fc2'), decWidth, decWidth, { zeroInit: true });
    this.maskToken = reg.add('mask_token', tf.randomNormal([1, 1, encWidth], 0, 0.02, 'float32', reg.nextSeed()), false);
  }

  apply(z: tf.Tensor, encVisible: tf.Tensor, m: MaskInfo): tf.Tensor {
    const e = unshuffle(encVisible, this.maskToken, m); // [B, T_d, De]
    return tf.add(z, this.fc2.apply(silu(this.fc1.apply(tf.concat([e, z], -1))))); // [B, T_d, Dd]
  }
}

export class Mae {
  readonly encoder: VitEncoder;
  readonly decoder: TransformerStack;
  readonly pred: Dense; // [Dd, P], zero-initialised
  readonly decEmbed: Dense; // [Dd, Dd] with skips; [De, Dd] without
  readonly decCls: tf.Variable | null; // [1, 1, Dd] (skips)
  readonly decMaskToken: tf.Variable | null; // [1, 1, Dd] (no skips)
  readonly latentNorm: LayerNorm | null; // (no skips)
  readonly skipLayers: SkipLayer[] = [];
  /** Encoder blocks (0-based) whose outputs feed the decoder, deepest first: decoder block j gets skipFrom[j]. */
  readonly skipFrom: number[] = [];
  /** Fixed decoder sin-cos table. // [1 + L, Dd] */
  readonly decPos: tf.Tensor2D;
  readonly numPatches: number;
  readonly numKeep: number;
  private readonly reg: ParamRegistry;

  constructor(readonly config: MaeConfig, name = 'mae') {
    validateMae(config);
    const c = config;
    this.encoder = new VitEncoder(c.encoder, `${name}/enc`);
    const L = (this.numPatches = this.encoder.numPatches);
    this.numKeep = Math.floor(L * (1 - c.maskRatio));
    const [De, Dd] = [c.encoder.width, c.decoderWidth];
    this.reg = ParamRegistry.create(`${name}/dec`, c.encoder.seed * 7919 + 2);
    this.decPos = tf.keep(tf.tensor2d(sincos2d(Dd, c.encoder.image / c.encoder.patch), [1 + L, Dd]));
    if (c.skips) {
      this.decCls = this.reg.add('cls', tf.randomNormal([1, 1, Dd], 0, 0.02, 'float32', this.reg.nextSeed()), false);
      this.decEmbed = new Dense(this.reg.scope('embed'), Dd, Dd);
      this.decMaskToken = null;
      this.latentNorm = null;
      // Encoder blocks 2, 4, …, depth (1-based), deepest first (maeSkipSources: all of them with skipLayout 'paper').
      this.skipFrom = maeSkipSources(c);
      this.skipFrom.forEach((_, j) => this.skipLayers.push(new SkipLayer(this.reg.scope(`skip${j}`), De, Dd)));
    } else {
      this.decCls = null;
      this.latentNorm = new LayerNorm(this.reg.scope('latent_norm'), De);
      this.decEmbed = new Dense(this.reg.scope('embed'), De, Dd);
      this.decMaskToken = this.reg.add('mask_token', tf.randomNormal([1, 1, Dd], 0, 0.02, 'float32', this.reg.nextSeed()), false);
    }
    this.pred = new Dense(this.reg.scope('pred'), Dd, this.encoder.patchDim, { zeroInit: true });
    this.decoder = new TransformerStack(
      {
        ...TRANSFORMER_DEFAULTS,
        width: Dd,
        depth: c.decoderDepth,
        heads: c.decoderHeads,
        mlpHidden: Math.round(Dd * c.decoderMlpRatio),
        zeroInitBranches: true,
        finalNorm: true, // decoder_norm
        wiring: { kind: 'residual' }, // paper A: decayed shortcuts in the encoder only
        seed: c.encoder.seed * 7919 + 3,
        ...(c.encoder.recipe === 'official' ? { gelu: 'exact' as const } : {}),
      },
      `${name}/dec/trunk`,
    );
  }

  /** Encodes the visible patches of `m`: every encoder block's output [B, 1 + K, De] (cls first). */
  encode(patches: tf.Tensor, m: MaskInfo): { out: tf.Tensor; states: tf.Tensor[] } {
    const tokens = gatherTokens(this.encoder.embed(patches), m.idsKeep); // [B, K, De]
    return this.encoder.run(tokens);
  }

  /** Decoder predictions for every patch. // [B, L, P] */
  decode(enc: { out: tf.Tensor; states: tf.Tensor[] }, m: MaskInfo): tf.Tensor3D {
    const B = enc.out.shape[0];
    const L = this.numPatches;
    const Dd = this.config.decoderWidth;
    let z0: tf.Tensor; // [B, 1 + L, Dd]
    let beforeBlock: ((l: number, z: tf.Tensor) => tf.Tensor) | undefined;
    if (this.config.skips) {
      const start = tf.concat([this.decCls!, tf.slice(this.decPos, [1, 0], [L, Dd]).expandDims(0)], 1); // [1, 1 + L, Dd]
      z0 = expandBatch(this.decEmbed.apply(start), B);
      beforeBlock = (l, z) => (l < this.skipLayers.length ? this.skipLayers[l].apply(z, enc.states[this.skipFrom[l]], m) : z);
    } else {
      const latent = this.decEmbed.apply(this.latentNorm!.apply(enc.out)); // [B, 1 + K, Dd]
      z0 = tf.add(unshuffle(latent, this.decMaskToken!, m), this.decPos);
    }
    const { out } = this.decoder.forward(z0, { beforeBlock });
    const y = this.pred.apply(out); // [B, 1 + L, P]
    return tf.slice(y, [0, 1, 0], [B, L, this.encoder.patchDim]) as tf.Tensor3D;
  }

  /** Mean over masked patches of the per-patch mean squared error. */
  maskedLoss(patches: tf.Tensor, pred: tf.Tensor, mask: tf.Tensor): tf.Scalar {
    const target = this.config.normPixLoss ? normalisePatches(patches).target : patches;
    const perPatch = tf.mean(tf.square(tf.sub(pred, target)), -1); // [B, L]
    return tf.div(tf.sum(tf.mul(perPatch, mask)), tf.sum(mask)) as tf.Scalar;
  }

  /** The training loss of a batch of images [B, H, W(, C)] with the mask drawn from `maskSeed`. */
  loss(imgs: tf.Tensor, maskSeed: number): tf.Scalar {
    return tf.tidy(() => {
      const patches = patchify(imgs, this.config.encoder.patch); // [B, L, P]
      const m = randomMasking(imgs.shape[0], this.numPatches, this.config.maskRatio, maskSeed);
      const pred = this.decode(this.encode(patches, m), m);
      return this.maskedLoss(patches, pred, m.mask);
    });
  }

  /**
   * Reconstructions for display: the prediction mapped back to pixels (with each patch's true mean and std
   * when the loss used normalised pixels), visible patches pasted from the input as in MAE's demo.
   * Returns images [B, H, W, C] and the mask [B, L] (1 = removed).
   */
  async reconstruct(imgs: tf.Tensor, maskSeed: number): Promise<{ recon: tf.Tensor4D; mask: tf.Tensor2D; loss: number }> {
    const out = tf.tidy(() => {
      const p = this.config.encoder.patch;
      const patches = patchify(imgs, p);
      const m = randomMasking(imgs.shape[0], this.numPatches, this.config.maskRatio, maskSeed);
      const pred = this.decode(this.encode(patches, m), m);
      const loss = this.maskedLoss(patches, pred, m.mask);
      let pix: tf.Tensor = pred;
      if (this.config.normPixLoss) {
        const { mean, std } = normalisePatches(patches);
        pix = tf.add(tf.mul(pred, std), mean);
      }
      const mk = m.mask.expandDims(-1); // [B, L, 1]
      const pasted = tf.add(tf.mul(pix, mk), tf.mul(patches, tf.sub(1, mk)));
      return { recon: unpatchify(pasted, p, this.config.encoder.channels), mask: m.mask, loss };
    });
    const loss = (await out.loss.data())[0];
    out.loss.dispose();
    await readable([out.recon, out.mask]); // the callers read them with dataSync
    return { recon: out.recon, mask: out.mask, loss };
  }

  /**
   * Every trainable parameter with its weight-decay flag. 'official' recipe: timm's `add_weight_decay` as the
   * official code calls it — decay every tensor of rank > 1 (weights, cls and mask tokens), exempt 1-D tensors
   * (norm gains, wiring scalars) and biases; 'project': Dense weights only.
   */
  params(): Param[] {
    const all = [...this.encoder.params(), ...this.reg.params(), ...this.decoder.params()];
    if (this.config.encoder.recipe !== 'official') return all;
    return all.map((p) => ({ ...p, decay: p.variable.rank > 1 && !p.name.endsWith('/b') }));
  }

  paramCount(): number {
    return this.params().reduce((n, p) => n + p.variable.size, 0);
  }

  dispose(): void {
    this.encoder.dispose();
    for (const p of this.reg.params()) p.variable.dispose();
    this.decoder.dispose();
    this.decPos.dispose();
  }
}

/**
 * Trainable parameters of the official `mae_vit_base_patch16_dec512d8b` of paper A's code, counted from
 * its modules (fixed position tables excluded: `requires_grad=False`). Written out so a test can compare
 * our model with the official architecture rather than with itself.
 */
export function officialMaeParamCount(c: MaeConfig): number {
  const { width: De, depth, patch, channels, mlpRatio } = c.encoder;
  const Dd = c.decoderWidth;
  const P = patch * patch * channels;
  const block = (D: number, F: number) => 2 * D + (D * 3 * D + 3 * D) + (D * D + D) + 2 * D + (D * F + F) + (F * D + D);
  const patchEmbed = P * De + De; // Conv2d(C, De, p, stride p) with bias
  const cls = De;
  const encoderBlocks = depth * block(De, Math.round(De * mlpRatio)); // no encoder final norm in this code
  const nSkips = Math.floor(depth / 2); // skip_id = arange(depth).reshape(-1, 2)[:, -1]
  const skip = (De + Dd) * Dd + Dd + (Dd * Dd + Dd) + De; // fc1, fc2, mask_token
  const decoder = Dd /* decoder_cls_token */ + (Dd * Dd + Dd) /* decoder_embed */ + c.decoderDepth * block(Dd, Math.round(Dd * c.decoderMlpRatio)) + 2 * Dd /* decoder_norm */ + (Dd * P + P);
  return patchEmbed + cls + encoderBlocks + nSkips * skip + decoder;
}

/**
 * Activation memory of one MAE training example (lib/train/memory.ts): the encoder over the
 * visible patches + cls, the decoder over every patch + cls, the per-patch loss; skip layers add
 * one decoder-width tensor per skip.
 */
export function maeActivations(c: MaeConfig, what = 'MAE'): ActivationEstimate {
  const e = c.encoder;
  const L = (e.image / e.patch) ** 2;
  const visible = Math.floor(L * (1 - c.maskRatio)) + 1;
  const enc = transformerActivations({ tokens: visible, width: e.width, heads: e.heads, mlpHidden: e.width * e.mlpRatio, depth: e.depth });
  const dec = transformerActivations({ tokens: L + 1, width: c.decoderWidth, heads: c.decoderHeads, mlpHidden: c.decoderWidth * c.decoderMlpRatio, depth: c.decoderDepth });
  const P = e.patch * e.patch * e.channels;
  const io = 4 * L * P + maeSkipSources(c).length * 3 * (L + 1) * c.decoderWidth;
  return {
    what: `${what} (ViT ${e.width}×${e.depth} on ${e.image}² images, patch ${e.patch}; decoder ${c.decoderWidth}×${c.decoderDepth})`,
    perExample: enc.perExample + dec.perExample + io,
    largestPerExample: Math.max(enc.largestPerExample, dec.largestPerExample, L * P),
  };
}
