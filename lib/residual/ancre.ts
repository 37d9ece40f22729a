/**
 * Block routings: ANCRe (paper B, "ANCRe: Adaptive Neural Connection Reassignment for Efficient
 * Depth Scaling", arXiv 2602.09009) and its constant-averaging ablation.
 *
 *     h_{l+1} = Block_l(h_l) + Σ_{i=0..l} p_{l,i} h_i,     l = 0 … K−1,
 *
 * where Block_l keeps its own internal residuals (y ← y + f(y) for each of its sub-layer branches, as
 * a LLaMA decoder layer does), so at c = 0, h_1 = 2 h_0 + F_0(h_0): not a plain residual net at step 0.
 *
 * Normalisations (both defined in the official code; every official run uses incoming, outgoing is an unexported
 * class no official experiment uses, kept here as an extra variant):
 *   incoming  p_{l,·} = softmax(c_l / τ) over the sources i = 0…l; c_l has l+1 logits; c_0 is a frozen 0.
 *   outgoing  each source i has logits over its destinations l = i…K−1, and p_{l,i} = softmax(c_i / τ)[l − i];
 *             the last source's single logit is frozen.
 * Logits start at 0 (uniform weights); `constant-average` keeps them frozen at 0.
 * Stored scalars K(K+1)/2; free ones K(K−1)/2 (the softmax is shift invariant).
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedWiringConfig } from './config';
import type { Block, RunOptions, RunResult, Wiring, WiringOverhead } from './types';
import { checkBlocks } from './sublayer';
import { makeVariable } from './variables';

export class BlockRouting implements Wiring {
  readonly granularity = 'block' as const;
  readonly kind: ResolvedWiringConfig['kind'];
  readonly n: number;
  readonly needsLiveBranches = false;
  readonly variables: tf.Variable[] = [];
  /** Logit vectors: row l (incoming) or source i (outgoing); null = frozen zeros of that length. */
  private readonly c: (tf.Variable | null)[] = [];
  private readonly lengths: number[] = [];

  constructor(
    readonly config: ResolvedWiringConfig,
    readonly blocks: number,
    readonly sublayersPerBlock: number,
  ) {
    this.kind = config.kind;
    const K = (this.n = blocks);
    const learn = this.kind === 'ancre';
    const incoming = config.normalisation === 'incoming';
    for (let r = 0; r < K; r++) {
      const len = incoming ? r + 1 : K - r;
      this.lengths.push(len);
      // A single logit is frozen (c_0 incoming; the last source outgoing): its softmax is 1 anyway.
      if (learn && len > 1) {
        const v = makeVariable(tf.zeros([len]), `wiring/ancre/c_${incoming ? 'in' : 'out'}${r}`);
        this.c.push(v);
        this.variables.push(v);
      } else {
        this.c.push(null);
      }
    }
  }

  /** p as K×K nested arrays of scalar tensors or numbers: p[l][i], i ≤ l. Call inside tidy. */
  private routing(): (number | tf.Tensor)[][] {
    const K = this.blocks;
    const p: (number | tf.Tensor)[][] = Array.from({ length: K }, () => new Array<number | tf.Tensor>(K).fill(0));
    for (let r = 0; r < K; r++) {
      const cr = this.c[r];
      const len = this.lengths[r];
      const w: (number | tf.Tensor)[] = cr
        ? tf.unstack(tf.softmax(tf.div(cr, this.config.tau)))
        : new Array<number>(len).fill(1 / len);
      for (let j = 0; j < len; j++) {
        if (this.config.normalisation === 'incoming') p[r][j] = w[j]; // row r = target l, j = source i
        else p[r + j][r] = w[j]; // r = source i, j = l − i
      }
    }
    return p;
  }

  run(h0: tf.Tensor, blocks: Block[], options: RunOptions = {}): RunResult {
    checkBlocks(blocks, this.blocks, this.sublayersPerBlock);
    const p = this.routing();
    const h: tf.Tensor[] = [h0]; // h_0 … h_l, the routed sources
    blocks.forEach((block, l) => {
      if (options.beforeBlock) h[l] = options.beforeBlock(l, h[l]);
      let y = h[l];
      for (const f of block) y = tf.add(y, f(y)); // the block's own internal residuals
      for (let i = 0; i <= l; i++) {
        const pli = p[l][i];
        y = tf.add(y, typeof pli === 'number' ? (pli === 1 ? h[i] : tf.mul(h[i], pli)) : tf.mul(h[i], pli));
      }
      h.push(y);
    });
    return { out: h[h.length - 1], states: h.slice(1) };
  }

  coefficients(): number[][] {
    if (tf.getBackend() === 'webgpu') return this.coefficientsFromLogits();
    return tf.tidy(() => this.routing().map((row) => row.map((x) => (typeof x === 'number' ? x : x.dataSync()[0]))));
  }

  /**
   * On webgpu (no synchronous reads of computed tensors in Node): the softmax of each logit
   * vector in float64 from the variables' values, which `readable(wiring.variables)` makes
   * available. Equal to the engine's float32 softmax to ~1e-7.
   */
  private coefficientsFromLogits(): number[][] {
    const K = this.blocks;
    const p: number[][] = Array.from({ length: K }, () => new Array<number>(K).fill(0));
    for (let r = 0; r < K; r++) {
      const len = this.lengths[r];
      const cr = this.c[r];
      let w = new Array<number>(len).fill(1 / len);
      if (cr) {
        const z = Array.from(cr.dataSync(), (v) => v / this.config.tau);
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const sum = e.reduce((a, b) => a + b, 0);
        w = e.map((v) => v / sum);
      }
      for (let j = 0; j < len; j++) {
        if (this.config.normalisation === 'incoming') p[r][j] = w[j];
        else p[r + j][r] = w[j];
      }
    }
    return p;
  }

  alphaEff(): null {
    return null;
  }

  overhead(): WiringOverhead {
    const K = this.blocks;
    const trainable = this.variables.reduce((s, v) => s + v.size, 0);
    return { stored: (K * (K + 1)) / 2, trainable, free: this.kind === 'ancre' ? (K * (K - 1)) / 2 : 0 };
  }

  describe(): string {
    const K = this.blocks;
    return this.kind === 'ancre'
      ? `ancre softmax routing over ${K} blocks (τ=${this.config.tau}, ${this.config.normalisation}, ${this.overhead().stored} scalars)`
      : `constant-average uniform routing over ${K} blocks (${this.config.normalisation}, frozen)`;
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}
