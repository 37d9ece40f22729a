/**
 * A residual MLP classifier in the shape of ANCRe's goal-conditioned RL networks (paper B, "ANCRe: Adaptive
 * Neural Connection Reassignment for Efficient Depth Scaling", arXiv 2602.09009; its code builds on scaling-crl):
 *
 *     h_0     = swish(LN(x W_in + b_in))                                   input projection
 *     F_l(h)  = [swish ∘ LN ∘ Dense]^{L}(h)                                one block, L layers (official code: L = 4)
 *     h_{l+1} = wiring(h_0 … h_l, F_l)                                      l = 0 … K−1
 *     logits  = h_K W_out + b_out                                           head, no final norm (as in the code)
 *
 * The trunk runs through a lib/residual wiring with ONE branch per block (the block's L layers are the branch
 * F_l, without its residual add). So `residual` gives h_{l+1} = h_l + F_l(h_l) (the code's `residual_block`),
 * `ancre` gives h_{l+1} = h_l + F_l(h_l) + Σ_{i≤l} softmax(c_l/τ)_i h_i (the code's ANCRe after each residual
 * block), `plain` gives h_{l+1} = F_l(h_l), and so on, without this file branching on the kind.
 *
 * The official code counts depth in Dense layers (`network_depth // 4` residual blocks of 4 layers); here depth
 * is K blocks of `layersPerBlock` layers, so "paper depth" = K · layersPerBlock.
 * Initialisation as in the code: LeCun uniform, U(±√(1/fanIn)) (variance_scaling(1/3, fan_in, uniform)),
 * zero biases. Weight decay only on Dense weights (transformer.ts's rule); none on biases, LN gains, wiring scalars.
 *
 * Letters: B batch, P input pixels, W width, C classes, K blocks, L layers per block.
 */
import * as tf from '@tensorflow/tfjs';
import type { Param } from '../train/params';
import { Dense, LayerNorm, ParamRegistry, silu } from './layers';
import { makeWiring, type Block, type Wiring, type WiringConfig } from '../residual';
import { checkNumber, checkPositiveInt } from '../errors';
import { top1Accuracy } from '../metrics/accuracy';

export interface ResMlpConfig {
  /** Input size (pixels per image, 784 for Fashion-MNIST). */
  inputs: number;
  /** Width W of the residual stream and of every hidden layer (official code: 256 by default). */
  width: number;
  /** Number K of residual blocks (the routed layers of block wirings such as ANCRe). */
  blocks: number;
  /** Dense → LayerNorm → swish layers per block (official code: 4). */
  layersPerBlock: number;
  /** Number of classes C. */
  classes: number;
  /** How the trunk of blocks is wired (residual, ancre, constant-average, decayed, plain, …). */
  wiring: WiringConfig;
}

/** Checks the model config; ConfigError names the field and the value. The wiring is checked by makeWiring. */
export function validateResMlp(c: ResMlpConfig, where = 'model'): void {
  checkPositiveInt(`${where}.inputs`, c.inputs);
  checkPositiveInt(`${where}.width`, c.width);
  checkNumber(`${where}.blocks`, c.blocks, { lo: 1, integer: true });
  checkNumber(`${where}.layersPerBlock`, c.layersPerBlock, { lo: 1, integer: true });
  checkNumber(`${where}.classes`, c.classes, { lo: 2, integer: true });
}

/** LeCun uniform U(±√(1/fanIn)) on a Dense layer's weight: what the official RL code uses. */
function lecunUniform(dense: Dense, seed: number): void {
  const a = Math.sqrt(1 / dense.inDim);
  tf.tidy(() => dense.w.assign(tf.randomUniform([dense.inDim, dense.outDim], -a, a, 'float32', seed)));
}

/** Dense → LayerNorm → swish: one layer of the code's `four_layer_block`. */
class DenseNormSwish {
  readonly dense: Dense;
  readonly norm: LayerNorm;
  constructor(reg: ParamRegistry, inDim: number, outDim: number) {
    this.dense = new Dense(reg.scope('dense'), inDim, outDim);
    lecunUniform(this.dense, reg.nextSeed());
    // flax's nn.LayerNorm default epsilon
    this.norm = new LayerNorm(reg.scope('norm'), outDim, 1e-6);
  }

  apply(x: tf.Tensor): tf.Tensor {
    return silu(this.norm.apply(this.dense.apply(x))); // [B, in] -> [B, out]
  }
}

export class ResMlpClassifier {
  readonly params: Param[];
  readonly wiring: Wiring;
  private readonly input: DenseNormSwish;
  private readonly layers: DenseNormSwish[][]; // [K][L]
  private readonly head: Dense;
  /** The branches handed to the wiring: one per block. */
  private readonly trunk: Block[];

  constructor(readonly config: ResMlpConfig, seed: number) {
    validateResMlp(config);
    const { inputs, width, blocks, layersPerBlock, classes } = config;
    // The wiring first: an unknown kind or a bad τ fails before any variable exists.
    this.wiring = makeWiring(config.wiring, blocks, 1);
    const reg = ParamRegistry.create('resmlp', seed);
    this.input = new DenseNormSwish(reg.scope('input'), inputs, width);
    this.layers = [];
    for (let l = 0; l < blocks; l++) {
      const r = reg.scope(`block${l}`);
      this.layers.push(Array.from({ length: layersPerBlock }, (_, j) => new DenseNormSwish(r.scope(`layer${j}`), width, width)));
    }
    this.head = new Dense(reg.scope('head'), width, classes);
    lecunUniform(this.head, reg.nextSeed());
    reg.adopt(this.wiring.variables, false);
    this.params = reg.params();
    this.trunk = this.layers.map((layers) => [
      (x: tf.Tensor) => layers.reduce((y, layer) => layer.apply(y), x), // F_l: [B, W] -> [B, W]
    ]);
  }

  /** Class logits. // x: [B, P] -> [B, C] */
  logits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const h0 = this.input.apply(x); // [B, W]
      const { out } = this.wiring.run(h0, this.trunk); // [B, W]
      return this.head.apply(out) as tf.Tensor2D; // [B, C]
    });
  }

  /** Mean softmax cross-entropy. // x: [B, P], labels: [B] int32 */
  loss(x: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, this.config.classes), this.logits(x)) as tf.Scalar);
  }

  /** Fraction of correct top-1 predictions over a whole set, evaluated in batches. images: [N·P] */
  accuracy(images: Float32Array, labels: Int32Array, batch = 1000): number {
    return top1Accuracy((x) => this.logits(x), images, labels, this.config.inputs, batch);
  }

  /** Scalars in the model, the wiring's included. */
  paramCount(): number {
    return this.params.reduce((s, p) => s + p.variable.size, 0);
  }

  dispose(): void {
    // The wiring's variables are in params too (adopted); dispose each once.
    for (const p of this.params) if (!p.variable.isDisposed) p.variable.dispose();
  }
}
