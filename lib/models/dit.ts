/**
 * A DiT/SiT-style diffusion transformer whose trunk runs through the wiring library.
 *
 *   DiT: Peebles & Xie, "Scalable Diffusion Models with Transformers", arXiv 2212.09748 (adaLN-Zero).
 *   SiT: Ma et al., "SiT: Exploring Flow and Diffusion-based Generative Models with Scalable
 *        Interpolant Transformers", arXiv 2401.08740 (the same network, velocity objective).
 *   Paper A: "Residual Connections Harm Generative Representation Learning", arXiv 2404.10947 —
 *        decayed shortcuts x ← α_k x + f_k(x) over ALL 2·depth sub-layers, α = linspace(1, α_min, 2·depth),
 *        plus U-ViT-style long skips into the second half of the blocks.
 *   Paper B: "ANCRe", arXiv 2602.09009 — h_{l+1} = Block_l(h_l) + Σ_{i≤l} softmax(c_l/τ)_i h_i.
 *
 * Forward pass (x: [B, S, S, C] images or latents, t: [B] in [0, 1], y: [B] class ids):
 *   tokens   h0 = Linear(patchify(x)) + pos                       [B, T, D],  T = (S/p)²
 *   cond     c  = MLP(freq(1000·t)) + Embed(y)                    [B, D]
 *   trunk    per block l: (shift, scale, gate)×2 = Linear_l(SiLU(c))   (adaLN-Zero: Linear_l starts at 0)
 *            attn branch gate ⊙ Attn(LN(x)·(1+scale)+shift), mlp branch likewise, composed by the wiring
 *   skips    block l ≥ depth/2 first does x ← x + Linear_l(h_mirror), h_mirror = output of block depth−1−l
 *            (the official SiT code of paper A adds Linear(skip); U-ViT's Linear(concat[x, skip]) is the same
 *            map up to the identity part, which the shortcut already carries)
 *   out      Linear(LN(x)·(1+scale)+shift) → unpatchify          [B, S, S, C] (first C of 2C when learnSigma)
 *
 * Zero init (adaLN-Zero): every adaLN Linear and the final Linear start at 0, so the model outputs exactly
 * 0 at init and every block starts as the identity of its wiring. The branch output projections keep their
 * Xavier init: zeroing them as well would leave gate and branch with zero gradients forever. For the same
 * reason the wirings that need live branches (ReZero's β starts at 0; plain has no shortcut) start with
 * gates of 1 (adaLN bias) instead of 0.
 *
 * Letters: B batch, S image side, C channels, p patch, T tokens, D width, F MLP width, P = p·p·C per token.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, checkNumber, checkPositiveInt } from '../errors';
import { makeWiring, validateWiring, type WiringConfig } from '../residual';
import type { Param } from '../train/params';
import { Dense, LayerNorm, ParamRegistry, silu } from './layers';
import { TransformerStack, TRANSFORMER_DEFAULTS, type Modulation } from './transformer';
import { patchify, unpatchify, sincos2d as sincos2dWithCls } from './vit';

export interface DitConfig {
  /** Image (or latent) side S in pixels; 28 for Fashion-MNIST, 32 for 256² ImageNet latents. */
  imageSize: number;
  /** Input channels C (1 grey pixels; 4 SD-VAE latents). */
  channels: number;
  /** Patch side p (S divisible by p). */
  patch: number;
  /** Width D. */
  width: number;
  /** Blocks (each attention + MLP). */
  depth: number;
  /** Attention heads. */
  heads: number;
  /** MLP hidden width F = mlpRatio·D. */
  mlpRatio: number;
  /** Number of classes (the label embedding gets one more row, the null class, when classDropout > 0). */
  classes: number;
  /** Probability of replacing the label with the null class in training (classifier-free guidance; DiT 0.1). */
  classDropout: number;
  /** Predict 2C channels and use the first C (DiT/SiT learn the variance; kept for the paper's parameter counts). */
  learnSigma: boolean;
  /** U-ViT long skips from the first half of the blocks into the mirrored second half (paper A's SiT). */
  longSkips: boolean;
  /** Size of the sinusoidal timestep features fed to the timestep MLP (DiT: 256). */
  freqDim: number;
  /** How the trunk is wired. */
  wiring: WiringConfig;
  /** Seed of every initialiser. */
  seed: number;
}

export const DIT_DEFAULTS: DitConfig = {
  imageSize: 28,
  channels: 1,
  patch: 4,
  width: 64,
  depth: 6,
  heads: 4,
  mlpRatio: 4,
  classes: 10,
  classDropout: 0.1,
  learnSigma: false,
  longSkips: false,
  freqDim: 256,
  wiring: { kind: 'residual' },
  seed: 0,
};

/**
 * The papers' configurations on 32×32×4 latents of 256² ImageNet (the latent autoencoder is out of scope).
 * DiT-S/2 and DiT-B/2 are paper B's rows (ANCRe), SiT-XL/2 paper A's (with its long skips).
 */
export const DIT_PAPER_CONFIGS: Record<'DiT-S/2' | 'DiT-B/2' | 'SiT-XL/2', DitConfig> = {
  'DiT-S/2': { ...DIT_DEFAULTS, imageSize: 32, channels: 4, patch: 2, width: 384, depth: 12, heads: 6, classes: 1000, learnSigma: true },
  'DiT-B/2': { ...DIT_DEFAULTS, imageSize: 32, channels: 4, patch: 2, width: 768, depth: 12, heads: 12, classes: 1000, learnSigma: true },
  'SiT-XL/2': { ...DIT_DEFAULTS, imageSize: 32, channels: 4, patch: 2, width: 1152, depth: 28, heads: 16, classes: 1000, learnSigma: true },
};

export function validateDit(c: DitConfig, where = 'model'): void {
  checkPositiveInt(`${where}.imageSize`, c.imageSize);
  checkPositiveInt(`${where}.channels`, c.channels);
  checkPositiveInt(`${where}.patch`, c.patch);
  checkPositiveInt(`${where}.width`, c.width);
  checkPositiveInt(`${where}.depth`, c.depth);
  checkPositiveInt(`${where}.heads`, c.heads);
  checkNumber(`${where}.mlpRatio`, c.mlpRatio, { lo: 0, loOpen: true });
  checkPositiveInt(`${where}.classes`, c.classes);
  checkNumber(`${where}.classDropout`, c.classDropout, { lo: 0, hi: 1, hiOpen: true });
  checkPositiveInt(`${where}.freqDim`, c.freqDim);
  checkNumber(`${where}.seed`, c.seed, { integer: true });
  if (c.imageSize % c.patch) throw new ConfigError(`${where}.imageSize must be divisible by patch; got imageSize ${c.imageSize}, patch ${c.patch}`);
  if (c.width % 4) throw new ConfigError(`${where}.width must be divisible by 4 (2-D sin-cos position embeddings); got ${c.width}`);
  if (c.width % c.heads) throw new ConfigError(`${where}.width must be divisible by heads; got width ${c.width}, heads ${c.heads}`);
  if (c.freqDim % 2) throw new ConfigError(`${where}.freqDim must be even; got ${c.freqDim}`);
  if (c.longSkips && c.depth % 2) throw new ConfigError(`${where}.depth must be even with longSkips (mirrored halves); got ${c.depth}`);
  validateWiring(c.wiring);
}

/**
 * Fixed 2-D sin-cos position embeddings (MAE/DiT) for a g×g grid of tokens: MAE's table without its
 * cls row (DiT has no cls token). Returns [g·g, D] row-major.
 */
export function sincos2d(D: number, g: number): Float32Array {
  return sincos2dWithCls(D, g).slice(D);
}

/** Sinusoidal features of (fractional) timesteps: [cos(t·ω_i), sin(t·ω_i)], ω_i = 10000^(−i/half). t [B] -> [B, dim]. */
export function timestepFeatures(t: tf.Tensor1D, dim: number): tf.Tensor2D {
  return tf.tidy(() => {
    const half = dim / 2;
    const freqs = tf.tensor1d(Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half)));
    const args = tf.mul(tf.expandDims(t, 1), tf.expandDims(freqs, 0)); // [B, half]
    return tf.concat([tf.cos(args), tf.sin(args)], 1) as tf.Tensor2D;
  });
}

// patchify / unpatchify are the ViT's (same token order): [B, S, S, C] <-> [B, T, p·p·C].
export { patchify, unpatchify };

function normalInit(shape: number[], std: number, seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, std, 'float32', seed);
}

export interface DitOutput {
  /** The prediction (velocity or noise, per the objective) [B, S, S, C]. */
  out: tf.Tensor4D;
  /** Every block's output [B, T, D] (mid-trunk features: states[midBlock]). */
  states: tf.Tensor[];
}

export class DiT {
  readonly config: DitConfig;
  readonly stack: TransformerStack;
  /** The block whose output is the mid-trunk feature (the end of the first half). */
  readonly midBlock: number;
  readonly tokens: number;
  private readonly reg: ParamRegistry;
  private readonly xEmbed: Dense;
  private readonly tMlp1: Dense;
  private readonly tMlp2: Dense;
  private readonly yTable: tf.Variable; // [classes (+1 null), D]
  private readonly adaLN: Dense[] = []; // per block, D -> 6D, zero init
  private readonly skips: Dense[] = []; // per second-half block, D -> D
  private readonly finalNorm: LayerNorm;
  private readonly finalAdaLN: Dense; // D -> 2D, zero init
  private readonly finalLinear: Dense; // D -> p·p·outC, zero init
  private readonly pos: tf.Tensor2D; // [T, D], fixed

  constructor(config: DitConfig, name = 'dit') {
    validateDit(config);
    this.config = config;
    const c = config;
    const D = c.width;
    const g = c.imageSize / c.patch;
    this.tokens = g * g;
    this.midBlock = Math.max(0, Math.floor(c.depth / 2) - 1);
    this.reg = ParamRegistry.create(name, c.seed);
    const outC = c.learnSigma ? 2 * c.channels : c.channels;
    this.xEmbed = new Dense(this.reg.scope('x_embed'), c.patch * c.patch * c.channels, D);
    this.tMlp1 = new Dense(this.reg.scope('t_embed/fc1'), c.freqDim, D);
    this.tMlp2 = new Dense(this.reg.scope('t_embed/fc2'), D, D);
    // DiT: N(0, 0.02) for the timestep MLP weights and the label table.
    // The assigns inside the tidy: the initial values are copied, and the tidy frees them.
    tf.tidy(() => this.tMlp1.w.assign(normalInit([c.freqDim, D], 0.02, this.reg.nextSeed())));
    tf.tidy(() => this.tMlp2.w.assign(normalInit([D, D], 0.02, this.reg.nextSeed())));
    const rows = c.classes + (c.classDropout > 0 ? 1 : 0);
    this.yTable = this.reg.add('y_embed/table', normalInit([rows, D], 0.02, this.reg.nextSeed()), true);
    for (let l = 0; l < c.depth; l++) this.adaLN.push(new Dense(this.reg.scope(`block${l}/adaLN`), D, 6 * D, { zeroInit: true }));
    if (c.longSkips) {
      for (let l = c.depth / 2; l < c.depth; l++) this.skips.push(new Dense(this.reg.scope(`block${l}/skip`), D, D));
    }
    this.finalNorm = new LayerNorm(this.reg.scope('final/norm'), D, 1e-6, false);
    this.finalAdaLN = new Dense(this.reg.scope('final/adaLN'), D, 2 * D, { zeroInit: true });
    this.finalLinear = new Dense(this.reg.scope('final/linear'), D, c.patch * c.patch * outC, { zeroInit: true });
    this.pos = tf.keep(tf.tensor2d(sincos2d(D, g), [this.tokens, D]));
    this.stack = new TransformerStack(
      {
        ...TRANSFORMER_DEFAULTS,
        width: D,
        depth: c.depth,
        heads: c.heads,
        mlpHidden: Math.round(c.mlpRatio * D),
        normAffine: false,
        bias: true,
        zeroInitBranches: false, // adaLN-Zero's gates do it (see the header)
        finalNorm: false,
        wiring: c.wiring,
        seed: this.reg.nextSeed(),
      },
      `${name}/trunk`,
      { modulation: (l, cond) => this.modulation(l, cond) },
    );
    if (this.stack.wiring.needsLiveBranches) {
      // ReZero (β = 0) and plain (no shortcut) would be dead with zero gates too: start the gates at 1
      // (adaLN bias), keeping the adaLN weights and the final layer at 0 (the output is still 0 at init).
      const gateBias = new Float32Array(6 * D);
      gateBias.fill(1, 2 * D, 3 * D);
      gateBias.fill(1, 5 * D, 6 * D);
      for (const a of this.adaLN) tf.tidy(() => a.b!.assign(tf.tensor1d(gateBias)));
    }
  }

  /** The null-class id (classifier-free guidance and label-free features); -1 without it. */
  get nullClass(): number {
    return this.config.classDropout > 0 ? this.config.classes : -1;
  }

  private modulation(l: number, siluC: tf.Tensor): { attn: Modulation; mlp: Modulation } {
    const [shiftA, scaleA, gateA, shiftM, scaleM, gateM] = tf.split(this.adaLN[l].apply(siluC), 6, 1); // [B, D] each
    return { attn: { shift: shiftA, scale: scaleA, gate: gateA }, mlp: { shift: shiftM, scale: scaleM, gate: gateM } };
  }

  /** Conditioning c = MLP(freq(1000·t)) + Embed(y). t [B] in [0, 1], y [B] int32 -> [B, D]. */
  condition(t: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      // ×1000 puts t on DiT's integer-timestep scale, where the frequency bank was designed to resolve it.
      const f = timestepFeatures(tf.mul(t, 1000) as tf.Tensor1D, this.config.freqDim);
      const te = this.tMlp2.apply(silu(this.tMlp1.apply(f)));
      return tf.add(te, tf.gather(this.yTable, y)) as tf.Tensor2D;
    });
  }

  /** x [B, S, S, C], t [B], y [B] int32 -> prediction [B, S, S, C] and every block's output. Call inside tf.tidy. */
  forward(x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D): DitOutput {
    const c = this.config;
    const h0 = tf.add(this.xEmbed.apply(patchify(x, c.patch)), this.pos); // [B, T, D]
    const siluC = silu(this.condition(t, y)); // [B, D]
    const half = c.depth / 2;
    const mirror: tf.Tensor[] = [];
    const beforeBlock = c.longSkips
      ? (l: number, h: tf.Tensor) => {
          // h is the output of block l−1: keep the first half's outputs, feed them back deepest first.
          if (l >= 1 && l <= half) mirror.push(h);
          return l >= half ? tf.add(h, this.skips[l - half].apply(mirror[c.depth - 1 - l])) : h;
        }
      : undefined;
    const { out: hK, states } = this.stack.forward(h0, { cond: siluC, beforeBlock });
    const [shift, scale] = tf.split(this.finalAdaLN.apply(siluC), 2, 1); // [B, D] each
    const mod = tf.add(tf.mul(this.finalNorm.apply(hK), tf.add(tf.expandDims(scale, 1), 1)), tf.expandDims(shift, 1));
    const outC = c.learnSigma ? 2 * c.channels : c.channels;
    let out = unpatchify(this.finalLinear.apply(mod), c.patch, outC); // [B, S, S, outC]
    if (c.learnSigma) out = tf.slice(out, [0, 0, 0, 0], [-1, -1, -1, c.channels]);
    return { out: out as tf.Tensor4D, states };
  }

  /** Prediction only. */
  predict(x: tf.Tensor, t: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor4D {
    return tf.tidy(() => this.forward(x, t, y).out);
  }

  /**
   * Mid-trunk features for kNN / linear probe: mean over tokens of the output of block `midBlock`,
   * with the null label (so no label information enters) at noise level t. x [B, S, S, C] -> [B, D].
   */
  midFeatures(x: tf.Tensor, t: tf.Tensor1D): tf.Tensor2D {
    return tf.tidy(() => {
      const y = tf.fill([x.shape[0]], Math.max(0, this.nullClass), 'int32') as tf.Tensor1D;
      return tf.mean(this.forward(x, t, y).states[this.midBlock], 1) as tf.Tensor2D;
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
 * Trainable parameters of a DiT config, counted from the shapes the constructor creates (so the paper
 * configs can be checked without allocating 675M floats; a test checks it equals `new DiT(c).paramCount()`).
 * The fixed position table is not counted (DiT's pos_embed has requires_grad=False).
 */
export function ditParamCount(c: DitConfig): number {
  validateDit(c);
  const D = c.width;
  const F = Math.round(c.mlpRatio * D);
  const P = c.patch * c.patch * c.channels;
  const outP = c.patch * c.patch * (c.learnSigma ? 2 * c.channels : c.channels);
  const dense = (i: number, o: number) => i * o + o;
  const embed = dense(P, D) + dense(c.freqDim, D) + dense(D, D) + (c.classes + (c.classDropout > 0 ? 1 : 0)) * D;
  const block = dense(D, 3 * D) + dense(D, D) + dense(D, F) + dense(F, D) + dense(D, 6 * D);
  const skips = c.longSkips ? (c.depth / 2) * dense(D, D) : 0;
  const final = dense(D, 2 * D) + dense(D, outP);
  const wiring = makeWiring(c.wiring, c.depth, 2);
  const wiringScalars = wiring.overhead().trainable;
  wiring.dispose();
  return embed + c.depth * block + skips + final + wiringScalars;
}
