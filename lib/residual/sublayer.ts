/**
 * Sub-layer wirings: every branch f_k (attention or MLP, counted separately as in paper A's
 * official MAE code) is one routed layer,
 *
 *     x_{k+1} = α_k · x_k + β_k · f_k(x_k),        k = 0 … n−1,
 *
 *   residual         α = 1,                   β = 1          (x + f(x))
 *   plain            α = 0,                   β = 1          (no shortcut anywhere, not even inside blocks)
 *   scaled           α = √0.5,                β = √0.5       (√0.5 (x + f), paper A's ablation)
 *   decayed          α_k = 1 − (1 − α_min)·k/(n − 1), β = 1  (paper A, arXiv 2404.10947, Sec. 3)
 *   learnable-alpha  α_k learned, initialised to the decayed schedule, β = 1 (paper A's ablation)
 *   rezero           α = 1, β_k learned, initialised to 0       (ReZero / SkipInit)
 *
 * `residual` is the same network whatever the granularity (a block with internal residuals is the
 * composition of its sub-layer residuals); it is listed as 'sublayer' so α/β rows are reported like
 * the other comparison rows.
 */
import * as tf from '@tensorflow/tfjs';
import type { ResolvedWiringConfig } from './config';
import { decayedSchedule } from './config';
import type { Block, RunOptions, RunResult, Wiring, WiringOverhead } from './types';
import { makeVariable } from './variables';

const SQRT_HALF = Math.SQRT1_2;

export class SublayerWiring implements Wiring {
  readonly granularity = 'sublayer' as const;
  readonly kind: ResolvedWiringConfig['kind'];
  readonly n: number;
  readonly variables: tf.Variable[] = [];
  readonly needsLiveBranches: boolean;
  /** Fixed coefficients (null where learned). */
  private readonly alphaFixed: number[] | null;
  private readonly betaFixed: number[] | null;
  private readonly alphaVar: tf.Variable | null = null; // [n]
  private readonly betaVar: tf.Variable | null = null; // [n]

  constructor(
    readonly config: ResolvedWiringConfig,
    readonly blocks: number,
    readonly sublayersPerBlock: number,
  ) {
    this.kind = config.kind;
    const n = (this.n = blocks * sublayersPerBlock);
    const ones = new Array<number>(n).fill(1);
    this.needsLiveBranches = this.kind === 'rezero' || this.kind === 'plain';
    switch (this.kind) {
      case 'residual':
        [this.alphaFixed, this.betaFixed] = [ones, ones];
        break;
      case 'plain':
        [this.alphaFixed, this.betaFixed] = [new Array<number>(n).fill(0), ones];
        break;
      case 'scaled':
        [this.alphaFixed, this.betaFixed] = [new Array<number>(n).fill(SQRT_HALF), new Array<number>(n).fill(SQRT_HALF)];
        break;
      case 'decayed':
        [this.alphaFixed, this.betaFixed] = [decayedSchedule(n, config.alphaMin), ones];
        break;
      case 'learnable-alpha':
        this.alphaFixed = null;
        this.betaFixed = ones;
        this.alphaVar = makeVariable(tf.tensor1d(decayedSchedule(n, config.alphaMin)), 'wiring/learnable-alpha/alpha');
        this.variables.push(this.alphaVar);
        break;
      case 'rezero':
        this.alphaFixed = ones;
        this.betaFixed = null;
        this.betaVar = makeVariable(tf.zeros([n]), 'wiring/rezero/beta');
        this.variables.push(this.betaVar);
        break;
      default:
        throw new Error(`SublayerWiring cannot build '${this.kind}'`);
    }
  }

  run(h0: tf.Tensor, blocks: Block[], options: RunOptions = {}): RunResult {
    checkBlocks(blocks, this.blocks, this.sublayersPerBlock);
    // Unstacked once per run so each k gets a scalar tensor that still carries the gradient.
    const alphas: (number | tf.Tensor)[] = this.alphaVar ? tf.unstack(this.alphaVar) : this.alphaFixed!;
    const betas: (number | tf.Tensor)[] = this.betaVar ? tf.unstack(this.betaVar) : this.betaFixed!;
    const states: tf.Tensor[] = [];
    let x = h0;
    let k = 0;
    blocks.forEach((block, l) => {
      if (options.beforeBlock) x = options.beforeBlock(l, x);
      for (const f of block) {
        x = combine(alphas[k], x, betas[k], f(x));
        k++;
      }
      states.push(x);
    });
    return { out: x, states };
  }

  alphas(): number[] {
    return this.alphaVar ? Array.from(this.alphaVar.dataSync()) : this.alphaFixed!.slice();
  }

  betas(): number[] {
    return this.betaVar ? Array.from(this.betaVar.dataSync()) : this.betaFixed!.slice();
  }

  coefficients(): number[][] {
    return [this.alphas(), this.betas()];
  }

  alphaEff(): number {
    return this.alphas().reduce((p, a) => p * a, 1);
  }

  overhead(): WiringOverhead {
    const trainable = this.variables.reduce((s, v) => s + v.size, 0);
    return { stored: trainable, trainable, free: trainable };
  }

  describe(): string {
    const n = `${this.n} sub-layers`;
    const eff = this.alphaEff().toExponential(2);
    switch (this.kind) {
      case 'residual':
        return `residual x + f(x) over ${n}`;
      case 'plain':
        return `plain f(x), no shortcut, over ${n}`;
      case 'scaled':
        return `scaled √0.5 (x + f(x)) over ${n} (α_eff=${eff})`;
      case 'decayed':
        return `decayed α_min=${this.config.alphaMin} over ${n} (α_eff=${eff})`;
      case 'learnable-alpha':
        return `learnable α (init decayed α_min=${this.config.alphaMin}) over ${n} (α_eff=${eff} now)`;
      default:
        return `rezero x + β f(x), β init 0, over ${n}`;
    }
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

/** α x + β y, skipping the multiply where the coefficient is a plain 1 (and the term where it is 0). */
function combine(alpha: number | tf.Tensor, x: tf.Tensor, beta: number | tf.Tensor, y: tf.Tensor): tf.Tensor {
  const term = (c: number | tf.Tensor, t: tf.Tensor): tf.Tensor | null =>
    typeof c === 'number' ? (c === 0 ? null : c === 1 ? t : tf.mul(t, c)) : tf.mul(t, c);
  const a = term(alpha, x);
  const b = term(beta, y);
  if (a && b) return tf.add(a, b);
  return (a ?? b ?? tf.zerosLike(x)) as tf.Tensor;
}

export function checkBlocks(blocks: Block[], expectedBlocks: number, perBlock: number): void {
  if (blocks.length !== expectedBlocks) {
    throw new Error(`wiring built for ${expectedBlocks} blocks was given ${blocks.length}`);
  }
  blocks.forEach((b, l) => {
    if (b.length !== perBlock) {
      throw new Error(`wiring built for ${perBlock} sub-layers per block; block ${l} has ${b.length}`);
    }
  });
}
