/**
 * Paper A's MAE pre-training and frozen-feature evaluation, shared by mae-sweep (Fashion-MNIST and its
 * ImageNet-folder path) and mae-clutter: build the MAE, train it with one mask seed per step (and
 * micro-batch), the per-block effective ranks during training, then the kNN / probes / ranks of the frozen
 * encoder and the kept reconstructions.
 *
 * The mask seed of a step, the batch order (lib/data/batches.ts) and the images a step sees are what the
 * studies' records were made with: a run's metrics do not depend on which study calls this.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import { BatchSampler, type BatchSamplerState } from '../../data/batches';
import { Mae, maeActivations, type MaeConfig } from '../../models/mae';
import { extractFeatures } from '../../models/vit';
import { effectiveRank } from '../../metrics';
import { train, type TrainConfig } from '../../train/loop';
import type { Json, RunContext, RunResult } from '../../runner/types';
import { evaluateFrozen, type FrozenEvalConfig } from './frozen-features';

/** The mask seed of a run's step: one stream per seed, one mask per step. */
export function maskSeed(seed: number, step: number): number {
  return seed * 100003 + step;
}

/** The mask seed of a step's micro-batch (gradient accumulation): micro-batches count as steps of their own. */
export function microMaskSeed(seed: number, step: number, micro?: { index: number; count: number }): number {
  return maskSeed(seed, micro && micro.count > 1 ? step * micro.count + micro.index : step);
}

/** The seed of the reconstructions kept with a run (the same mask for every row). */
export const RECONSTRUCTION_MASK_SEED = 20240416;

/** What the MAE trains on: `n` examples, each of `shape` ([H, W] one channel, or [H, W, C]). */
export interface MaeTrainImages {
  n: number;
  shape: number[];
  /** The images of one step's batch (indices from the batch sampler), row-major [idx.length, ...shape]. */
  batch(idx: Int32Array, step: number): Float32Array | Promise<Float32Array>;
}

export interface MaePretrainSpec {
  model: MaeConfig;
  /** The model's parameter-name prefix. */
  name: string;
  train: TrainConfig;
  /** Batch order and mask seeds. */
  seed: number;
  batch: number;
  images: MaeTrainImages;
  /** Check the step's memory before the first step (the label names the run in the message). */
  memory?: string;
  /** Effective rank of every block `checkpoints` times during training, on the first `n` of `images`. */
  rank?: { images: Float32Array; n: number; checkpoints: number };
  /** Build the model but do not train it (the untrained-encoder baseline). */
  untrained?: boolean;
  /**
   * A fuller evaluation at these steps (and after the last), with the block ranks of `rank` added; it replaces
   * the `rank.checkpoints` schedule. `fn` returns the same metric names every time: the record's curve.
   */
  evalAt?: { steps: readonly number[]; fn(model: Mae, step: number): Promise<Record<string, number>> };
}

/** What pre-training leaves for the record (null fields when the model was not trained). */
export interface MaePretrained {
  /** False for the untrained-encoder baseline. */
  trained: boolean;
  /** The loss curve `{ step, loss }` and, with `rank`, `rankStep`, `erank` (the last block's). */
  history: { [k: string]: number[] };
  /** The per-block ranks by evaluation step: `{ step, blocks: [eval][block] }`; null without training or `rank`. */
  rankHistory: Json;
  /** With `evalAt`: every evaluation by step (`{ step: [...], <metric>: [...] }`); null otherwise. */
  curve: { [k: string]: number[] } | null;
  finalLoss: number | null;
  trainSeconds: number;
}

/** The effective rank of each block's features. */
export function blockRanks(f: { blocks: Float32Array[]; dim: number }, n: number): number[] {
  return f.blocks.map((b) => effectiveRank(b, n, f.dim));
}

/**
 * Builds the MAE, pre-trains it (resuming from the run's checkpoint), hands it to `evaluate`, and disposes
 * of it whatever happens.
 */
export async function withPretrainedMae<T>(s: MaePretrainSpec, ctx: RunContext, evaluate: (model: Mae, pretrained: MaePretrained) => Promise<T>): Promise<T> {
  const model = new Mae(s.model, s.name);
  try {
    return await evaluate(model, s.untrained ? { trained: false, history: {}, rankHistory: null, curve: null, finalLoss: null, trainSeconds: 0 } : await pretrain(model, s, ctx));
  } finally {
    model.dispose();
  }
}

async function pretrain(model: Mae, s: MaePretrainSpec, ctx: RunContext): Promise<MaePretrained> {
  const size = s.images.shape.reduce((a, b) => a * b, 1);
  let sampler = new BatchSampler(s.images.n, s.batch, s.seed);
  let stepImages = new Float32Array(0);
  let stepCount = 0;
  const rank = s.rank;
  const result = await train(
    s.train,
    {
      params: model.params(),
      ...(s.memory ? { memory: { act: maeActivations(model.config, s.memory), batch: s.batch } } : {}),
      // One batch per step, drawn before its first micro-batch; train.accumSteps > 1 slices it.
      prepare: async (step) => {
        const idx = sampler.next();
        stepCount = idx.length;
        stepImages = await s.images.batch(idx, step);
      },
      loss: (step, micro) => {
        const per = micro ? stepCount / micro.count : stepCount;
        const o = micro ? micro.index * per : 0;
        const x = tf.tensor(stepImages.subarray(o * size, (o + per) * size), [per, ...s.images.shape]); // [B, H, W(, C)]
        return model.loss(x, microMaskSeed(s.seed, step, micro));
      },
      getState: () => sampler.state() as unknown as Json,
      setState: (st) => {
        sampler = BatchSampler.fromState(st as unknown as BatchSamplerState);
      },
      ...(rank
        ? {
            evaluate: {
              every: s.evalAt ? 0 : Math.max(1, Math.floor(s.train.steps / rank.checkpoints)),
              at: s.evalAt?.steps,
              fn: async (step: number) => {
                const ranks = blockRanks(extractFeatures(model.encoder, rank.images, rank.n), rank.n);
                const more = s.evalAt ? await s.evalAt.fn(model, step) : {};
                return { ...Object.fromEntries([['erank', ranks[ranks.length - 1]], ...ranks.map((r, l) => [`erankBlock${l}`, r])]), ...more };
              },
            },
          }
        : {}),
    },
    { checkpointFile: path.join(ctx.checkpointDir, 'ckpt.bin'), progress: ctx.progress, log: ctx.log },
  );
  result.dispose();
  const { step, loss } = result.history;
  const evals = result.evals;
  const depth = model.config.encoder.depth;
  return {
    trained: true,
    history: rank ? { step, loss, rankStep: evals.step, erank: evals.erank ?? [] } : { step, loss },
    rankHistory: rank ? { step: evals.step, blocks: evals.step.map((_, i) => Array.from({ length: depth }, (__, l) => (evals[`erankBlock${l}`] as number[])[i])) } : null,
    curve: rank && s.evalAt ? Object.fromEntries(Object.entries(evals).filter(([k]) => !k.startsWith('erankBlock'))) : null,
    finalLoss: loss[loss.length - 1],
    trainSeconds: result.trainSeconds,
  };
}

/** Images [n, ...] of one split for the frozen evaluation, with their labels. */
export interface LabelledImages {
  images: Float32Array;
  labels: ArrayLike<number>;
  n: number;
}

/**
 * kNN and both probes of the encoder's frozen features (the last block's mean token; bank = `bank`,
 * queries = `queries`), and each block's effective rank on the queries.
 */
export function frozenMaeEval(model: Mae, bank: LabelledImages, queries: LabelledImages, c: FrozenEvalConfig): { metrics: { [k: string]: number | boolean }; perBlock: number[] } {
  const b = extractFeatures(model.encoder, bank.images, bank.n);
  const q = extractFeatures(model.encoder, queries.images, queries.n);
  const last = (f: typeof b, n: number) => ({ data: f.blocks[f.blocks.length - 1], n, dim: f.dim });
  const metrics = evaluateFrozen(last(b, bank.n), bank.labels, last(q, queries.n), queries.labels, c);
  return { metrics, perBlock: blockRanks(q, queries.n) };
}

/**
 * The MAE's reconstruction loss on held-out images [n, h, w] with the fixed mask seed (the training loss's
 * definition, no augmentation): at step 0 it is the loss of predicting zero (the head starts at zero), so
 * runs compare at equal loss on the same images and masks.
 */
export async function heldOutLoss(model: Mae, images: Float32Array, n: number, h: number, w: number): Promise<number> {
  const x = tf.tensor3d(images.subarray(0, n * h * w), [n, h, w]);
  const { recon, mask, loss } = await model.reconstruct(x, RECONSTRUCTION_MASK_SEED);
  tf.dispose([x, recon, mask]);
  return loss;
}

/** The first `n` images [n, h, w] masked with the fixed seed, and the model's reconstructions (3 decimals). */
export async function maeReconstructions(model: Mae, images: Float32Array, n: number, h: number, w: number): Promise<Json> {
  const x = tf.tensor3d(images.subarray(0, n * h * w), [n, h, w]);
  const { recon, mask, loss } = await model.reconstruct(x, RECONSTRUCTION_MASK_SEED);
  const round = (a: ArrayLike<number>) => Array.from(a, (v) => Math.round(v * 1000) / 1000);
  const out = { n, height: h, width: w, patch: model.config.encoder.patch, maskSeed: RECONSTRUCTION_MASK_SEED, loss, mask: round(mask.dataSync()), images: round(recon.dataSync()) };
  tf.dispose([x, recon, mask]);
  return out;
}

export interface MaeEvalSpec {
  bank: LabelledImages;
  queries: LabelledImages;
  eval: FrozenEvalConfig;
  /** Reconstructions of the first `n` of `images` ([n, height, width]) kept in the record; none when n is 0. */
  reconstructions: { images: Float32Array; n: number; height: number; width: number };
  /** The run's training steps (for msPerStep). */
  steps: number;
  /** Metrics of the study placed after msPerStep. */
  metrics?: { [k: string]: number | string | boolean | null };
}

/**
 * The record of a pre-trained (or untrained) MAE on a one-channel image set: the frozen-feature metrics,
 * α_eff, the last block's rank, the loss and timings; the per-block ranks, the wiring and the
 * reconstructions in `extra`.
 */
export async function maeRunResult(model: Mae, pretrained: MaePretrained, e: MaeEvalSpec): Promise<RunResult> {
  const t0 = Date.now();
  const wiring = model.encoder.stack.wiring;
  const { metrics, perBlock } = frozenMaeEval(model, e.bank, e.queries, e.eval);
  const extra: { [k: string]: Json } = { blockErank: perBlock, coefficients: wiring.coefficients(), rankHistory: pretrained.rankHistory, describe: wiring.describe() };
  if (pretrained.curve) extra.curve = pretrained.curve;
  const r = e.reconstructions;
  if (r.n > 0) extra.reconstructions = await maeReconstructions(model, r.images, r.n, r.height, r.width);
  return {
    metrics: {
      ...metrics,
      alphaEff: wiring.alphaEff(),
      erank: perBlock[perBlock.length - 1],
      finalLoss: pretrained.finalLoss,
      trainSeconds: pretrained.trainSeconds,
      msPerStep: pretrained.trained ? (1000 * pretrained.trainSeconds) / e.steps : null,
      ...(e.metrics ?? {}),
      evalSeconds: (Date.now() - t0) / 1000,
      params: model.paramCount(),
    },
    history: pretrained.history,
    extra,
  };
}
