/**
 * A LLaMA-style decoder-only language model (Touvron et al. 2023, arXiv 2302.13971), as pre-trained on C4
 * in paper B, "ANCRe: Adaptive Neural Connection Reassignment for Efficient Depth Scaling" (arXiv 2602.09009):
 *
 *   h_0 = E[tokens]                                   token embeddings, no position table (rotary instead)
 *   h_{l+1} = wiring(Block_l, h_0 … h_l)              Block_l(y) = y' + SwiGLU(RMSNorm y'), y' = y + Attn(RMSNorm y)
 *   logits = RMSNorm(h_K) · W_head                    untied head (the GaLore/ANCRe LLaMA configs)
 *
 * The trunk is lib/models/transformer.ts's TransformerStack with LLAMA_STACK settings (causal rotary MHA,
 * SwiGLU, RMSNorm, no biases), so every wiring of lib/residual runs here: ANCRe routes whole decoder layers
 * (h_{l+1} = Block_l(h_l) + Σ_{i≤l} softmax(c_l/τ)_i h_i, paper B eq. 2), paper A's `decayed` scales each
 * sub-layer's shortcut. No code here branches on the wiring's kind.
 *
 * Parameter counting (the convention of the paper's size names, which count embeddings and head):
 *   V·D (embeddings) + D·V (head) + K·(4D² + 3·D·F + 2D) (attention qkv+out, SwiGLU gate/up/down, 2 norms)
 *   + D (final norm) + the wiring's trainable scalars. LLaMA-60M: 58.07M; 130M: 134.11M; 350M: 367.97M; 1B: 1.339B.
 *
 * Shape letters: B batch, T tokens (≤ maxSeqLen), D width, V vocabulary, K depth (decoder layers).
 */
import * as tf from '@tensorflow/tfjs';
import { ActivationEstimate, transformerActivations } from '../train/memory';
import { makeWiring, type Wiring, type WiringConfig } from '../residual';
import { ConfigError, checkNumber, checkPositiveInt, show } from '../errors';
import { ParamRegistry } from './layers';
import { LLAMA_STACK, TransformerStack, TRANSFORMER_DEFAULTS, validateTransformerStack, type TransformerStackConfig } from './transformer';
import type { Param } from '../train/params';
import { maskedTokenCrossEntropy, tokenCrossEntropy } from '../metrics/perplexity';

export interface LlamaConfig {
  /** Vocabulary size V (embedding rows and head columns). Paper: 32000 (T5 tokenizer). */
  vocabSize: number;
  /** Width D. */
  width: number;
  /** Decoder layers K. */
  depth: number;
  /** Attention heads (D divisible by heads, even head width for rotary). */
  heads: number;
  /** SwiGLU hidden width F (LLaMA-60M: 1376 ≈ 8D/3 rounded). */
  mlpHidden: number;
  /** Longest sequence the model takes (paper: 256); longer inputs are a ConfigError. */
  maxSeqLen: number;
  /** How the trunk of decoder layers is wired. */
  wiring: WiringConfig;
  /**
   * Zero-initialise each branch's output projection. LLaMA does not (false); paper A's recipe does.
   * Kept identical across the wirings compared in one experiment.
   */
  zeroInitBranches: boolean;
  /** Std of the normal initialisation of the token embeddings (HF LLaMA initializer_range 0.02). */
  embedInitStd: number;
  /**
   * Initialisation of every Linear (trunk projections and head): 0 = Xavier-uniform (this project's
   * earlier recipe); > 0 = N(0, linearInitStd²), the official LLaMA/ANCRe `_init_weights` (0.02).
   * Needs zeroInitBranches false (it would overwrite the zero-initialised projections).
   */
  linearInitStd: number;
  /** Seed of every initialiser. */
  seed: number;
}

export const LLAMA_DEFAULTS: LlamaConfig = {
  vocabSize: 4096,
  width: 128,
  depth: 4,
  heads: 4,
  mlpHidden: 344,
  maxSeqLen: 256,
  wiring: { kind: 'residual' },
  zeroInitBranches: false,
  embedInitStd: 0.02,
  linearInitStd: 0,
  seed: 0,
};

export type LlamaPresetName = 'llama-60m' | 'llama-130m' | 'llama-350m' | 'llama-1b';
export const LLAMA_PRESET_NAMES: readonly LlamaPresetName[] = ['llama-60m', 'llama-130m', 'llama-350m', 'llama-1b'];

/** Paper B's model sizes (layers / hidden / FFN / heads; vocabulary 32000; sequence 256), from the GaLore configs. */
export const LLAMA_PRESETS: Record<LlamaPresetName, LlamaConfig> = {
  'llama-60m': { ...LLAMA_DEFAULTS, vocabSize: 32000, maxSeqLen: 256, depth: 8, width: 512, mlpHidden: 1376, heads: 8 },
  'llama-130m': { ...LLAMA_DEFAULTS, vocabSize: 32000, maxSeqLen: 256, depth: 12, width: 768, mlpHidden: 2048, heads: 12 },
  'llama-350m': { ...LLAMA_DEFAULTS, vocabSize: 32000, maxSeqLen: 256, depth: 24, width: 1024, mlpHidden: 2736, heads: 16 },
  'llama-1b': { ...LLAMA_DEFAULTS, vocabSize: 32000, maxSeqLen: 256, depth: 24, width: 2048, mlpHidden: 5461, heads: 32 },
};

/** The size each preset's name claims, for the parameter-count check. */
export const LLAMA_NOMINAL_PARAMS: Record<LlamaPresetName, number> = {
  'llama-60m': 60e6,
  'llama-130m': 130e6,
  'llama-350m': 350e6,
  'llama-1b': 1e9,
};

function stackConfig(c: LlamaConfig): TransformerStackConfig {
  return {
    ...TRANSFORMER_DEFAULTS,
    ...LLAMA_STACK,
    width: c.width,
    depth: c.depth,
    heads: c.heads,
    mlpHidden: c.mlpHidden,
    zeroInitBranches: c.zeroInitBranches,
    wiring: c.wiring,
    seed: c.seed,
  } as TransformerStackConfig;
}

export function validateLlama(c: LlamaConfig, where = 'llama'): void {
  checkNumber(`${where}.vocabSize`, c.vocabSize, { lo: 2, hi: 1 << 20, integer: true });
  checkPositiveInt(`${where}.maxSeqLen`, c.maxSeqLen);
  checkNumber(`${where}.embedInitStd`, c.embedInitStd, { lo: 0, loOpen: true });
  checkNumber(`${where}.linearInitStd`, c.linearInitStd ?? 0, { lo: 0 });
  if ((c.linearInitStd ?? 0) > 0 && c.zeroInitBranches) {
    throw new ConfigError(`${where}.linearInitStd ${c.linearInitStd} re-initialises every Linear, zero-initialised branch outputs included: set zeroInitBranches false`);
  }
  validateTransformerStack(stackConfig(c), where);
}

/** Parameter count by component, without allocating anything but the wiring's few scalars. */
export interface LlamaParamCount {
  embedding: number;
  head: number;
  /** One decoder layer: 4D² + 3DF + 2D. */
  perLayer: number;
  layers: number;
  finalNorm: number;
  /** Trainable wiring scalars (ANCRe incoming: K(K+1)/2 − 1, the frozen c_0 excluded). */
  wiring: number;
  total: number;
}

export function llamaParamCount(c: LlamaConfig): LlamaParamCount {
  validateLlama(c);
  const { vocabSize: V, width: D, mlpHidden: F, depth: K } = c;
  const perLayer = 4 * D * D + 3 * D * F + 2 * D;
  let wiring = 0;
  const w: Wiring = makeWiring(c.wiring, K, 2);
  try {
    wiring = w.overhead().trainable;
  } finally {
    w.dispose();
  }
  const parts = { embedding: V * D, head: D * V, perLayer, layers: K * perLayer, finalNorm: D, wiring };
  return { ...parts, total: parts.embedding + parts.head + parts.layers + parts.finalNorm + wiring };
}

export class Llama {
  readonly trunk: TransformerStack;
  readonly embedding: tf.Variable; // [V, D]
  readonly head: tf.Variable; // [D, V]
  private readonly reg: ParamRegistry;

  constructor(readonly config: LlamaConfig, name = 'llama') {
    validateLlama(config);
    const c = config;
    this.reg = ParamRegistry.create(name, c.seed + 7919);
    // tidy: the initial values are freed once the variables hold their copies.
    this.embedding = this.reg.add('embed', tf.randomNormal([c.vocabSize, c.width], 0, c.embedInitStd, 'float32', this.reg.nextSeed()), true);
    this.trunk = new TransformerStack(stackConfig(c), `${name}/trunk`);
    const a = Math.sqrt(6 / (c.width + c.vocabSize));
    this.head = this.reg.add('head', tf.randomUniform([c.width, c.vocabSize], -a, a, 'float32', this.reg.nextSeed()), true);
    const std = c.linearInitStd ?? 0;
    if (std > 0) {
      // Every Linear weight (the rank-2 parameters: attention qkv/out, SwiGLU gate/up/down, head) ~ N(0, std²);
      // norm gains and routing logits (rank 1) keep their initial values. Seeds drawn after the head's, so
      // linearInitStd 0 builds exactly the earlier models.
      for (const p of [...this.trunk.params(), { variable: this.head }]) {
        if (p.variable.rank !== 2) continue;
        const v = p.variable;
        tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, std, 'float32', this.reg.nextSeed())));
      }
    }
  }

  get wiring(): Wiring {
    return this.trunk.wiring;
  }

  private checkInputs(tokens: tf.Tensor): void {
    if (tokens.rank !== 2) throw new ConfigError(`token ids must be [batch, sequence]; got shape ${show(tokens.shape)}`);
    const T = tokens.shape[1] as number;
    if (T < 1 || T > this.config.maxSeqLen) {
      throw new ConfigError(`sequence length ${T} is outside what this model takes: [1, ${this.config.maxSeqLen}] (maxSeqLen)`);
    }
    if (tokens.dtype !== 'int32') throw new ConfigError(`token ids must be int32; got ${tokens.dtype}`);
  }

  /** Final hidden states after the last norm. tokens [B, T] int32 -> [B, T, D]. Call inside tf.tidy. */
  hidden(tokens: tf.Tensor2D): { out: tf.Tensor3D; states: tf.Tensor[] } {
    this.checkInputs(tokens);
    const [B, T] = tokens.shape;
    const h0 = tf.gather(this.embedding, tokens.reshape([B * T])).reshape([B, T, this.config.width]); // [B, T, D]
    const { out, states } = this.trunk.forward(h0);
    return { out: out as tf.Tensor3D, states };
  }

  /** tokens [B, T] int32 -> logits [B, T, V]. */
  logits(tokens: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const { out } = this.hidden(tokens);
      const [B, T, D] = out.shape;
      return tf.matMul(out.reshape([B * T, D]), this.head).reshape([B, T, this.config.vocabSize]) as tf.Tensor3D; // [N, D]·[D, V]
    });
  }

  /**
   * Mean next-token cross-entropy (nats): inputs, targets [B, T] int32. With `mask` [B, T] (1 = a real target,
   * 0 = a pad of a document row), the mean over the unmasked positions only.
   */
  loss(inputs: tf.Tensor2D, targets: tf.Tensor2D, mask?: tf.Tensor2D): tf.Scalar {
    if (mask) return tf.tidy(() => tf.div(maskedTokenCrossEntropy(this.logits(inputs), targets, mask), tf.maximum(tf.sum(mask), 1)) as tf.Scalar);
    return tf.tidy(() => tf.div(tokenCrossEntropy(this.logits(inputs), targets), inputs.size) as tf.Scalar);
  }

  /** Every parameter (embeddings, trunk, wiring scalars, head) with its weight-decay flag. */
  params(): Param[] {
    const own = this.reg.params();
    return [own[0], ...this.trunk.params(), ...own.slice(1)];
  }

  paramCount(): number {
    return this.params().reduce((n, p) => n + p.variable.size, 0);
  }

  dispose(): void {
    this.trunk.dispose();
    this.embedding.dispose();
    this.head.dispose();
  }
}

/**
 * Activation memory of one training sequence of `seqLen` tokens (lib/train/memory.ts): the decoder
 * layers (SwiGLU keeps three hidden-width tensors), the embedding and, dominant at V = 32000, the
 * logits with their softmax and gradient (3 · T · V).
 */
export function llamaActivations(c: LlamaConfig, seqLen: number, what = 'LLaMA'): ActivationEstimate {
  const trunk = transformerActivations({ tokens: seqLen, width: c.width, heads: c.heads, mlpHidden: c.mlpHidden, depth: c.depth });
  const logits = seqLen * c.vocabSize;
  return {
    what: `${what} (${c.width}×${c.depth}, vocabulary ${c.vocabSize}, ${seqLen} tokens)`,
    perExample: trunk.perExample + c.depth * 2 * c.mlpHidden * seqLen + 2 * seqLen * c.width + 3 * logits,
    largestPerExample: Math.max(trunk.largestPerExample, logits),
  };
}
