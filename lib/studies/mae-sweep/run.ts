/**
 * One run of the MAE sweep: pre-train the MAE (or evaluate a baseline), then evaluate its frozen features.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import { ConfigError } from '../../errors';
import { BatchSampler, BatchSamplerState, gatherImages, limitSet, loadFashionMnist, type ImageSet } from '../../data';
import { imagenetRun } from './imagenet';
import { Mae, maeActivations } from '../../models/mae';
import { extractFeatures } from '../../models/vit';
import { effectiveRank } from '../../metrics';
import { train } from '../../train/loop';
import type { Json, RunContext, RunResult, RunSpec } from '../../runner/types';
import { evaluateFrozen, pixelFeatures } from '../shared/frozen-features';
import { maskSeed, type MaeSweepRunConfig } from './spec';
export async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const c = spec.config as unknown as MaeSweepRunConfig;
  if (c.data.kind === 'imagenet-folder') {
    if (c.baseline) throw new ConfigError(`the ${c.baseline} baseline row reads Fashion-MNIST only; drop it from rows for an ImageNet folder`);
    return imagenetRun(c, spec, ctx);
  }
  const trainSet = limitSet(loadFashionMnist('train'), c.trainExamples);
  const testSet = loadFashionMnist('test');
  const hw = trainSet.height * trainSet.width;
  if (c.baseline) return baselineRun(c, trainSet, testSet);
  const model = new Mae(c.model, `mae-${ctx.runId}`);
  let sampler = new BatchSampler(trainSet.n, c.batch, spec.seed);
  let stepBatch = new Int32Array(0);
  const rankImages = testSet.images.subarray(0, c.rankExamples * hw);
  const blockRanks = (feats: { blocks: Float32Array[]; dim: number }, n: number) => feats.blocks.map((f) => effectiveRank(f, n, feats.dim));
  const wiring = model.encoder.stack.wiring;
  try {
    const result = await train(
      c.train,
      {
        params: model.params(),
        memory: { act: maeActivations(c.model, `mae-sweep ${spec.row}`), batch: c.batch },
        loss: (step, micro) => {
          // train.accumSteps > 1: one batch per step, drawn at its first micro-batch, then sliced
          if (!micro || micro.index === 0) stepBatch = sampler.next();
          const per = micro ? stepBatch.length / micro.count : stepBatch.length;
          const idx = micro ? stepBatch.subarray(micro.index * per, (micro.index + 1) * per) : stepBatch;
          const x = tf.tensor3d(gatherImages(trainSet, idx), [idx.length, trainSet.height, trainSet.width]); // [B, H, W]
          return model.loss(x, micro && micro.count > 1 ? maskSeed(spec.seed, step * micro.count + micro.index) : maskSeed(spec.seed, step));
        },
        getState: () => sampler.state() as unknown as Json,
        setState: (s) => {
          sampler = BatchSampler.fromState(s as unknown as BatchSamplerState);
        },
        evaluate: {
          every: Math.max(1, Math.floor(c.train.steps / c.rankCheckpoints)),
          fn: () => {
            const ranks = blockRanks(extractFeatures(model.encoder, rankImages, c.rankExamples), c.rankExamples);
            return Object.fromEntries([['erank', ranks[ranks.length - 1]], ...ranks.map((r, l) => [`erankBlock${l}`, r])]);
          },
        },
      },
      { checkpointFile: path.join(ctx.checkpointDir, 'ckpt.bin'), progress: ctx.progress, log: ctx.log },
    );
    result.dispose();
    const t0 = Date.now();
    const bank = extractFeatures(model.encoder, trainSet.images.subarray(0, c.evalTrain * hw), c.evalTrain);
    const queries = extractFeatures(model.encoder, testSet.images.subarray(0, c.evalTest * hw), c.evalTest);
    const last = (f: typeof bank, n: number) => ({ data: f.blocks[f.blocks.length - 1], n, dim: f.dim });
    const bankLabels = trainSet.labels.subarray(0, c.evalTrain);
    const testLabels = testSet.labels.subarray(0, c.evalTest);
    const frozen = evaluateFrozen(last(bank, c.evalTrain), bankLabels, last(queries, c.evalTest), testLabels, { knn: c.knn, probe: c.probe, classes: 10 });
    const perBlock = blockRanks(queries, c.evalTest);
    const extra: { [k: string]: Json } = {
      blockErank: perBlock,
      coefficients: wiring.coefficients(),
      rankHistory: {
        step: result.evals.step,
        blocks: result.evals.step.map((_, i) => perBlock.map((__, l) => (result.evals[`erankBlock${l}`] as number[])[i])),
      },
      describe: wiring.describe(),
    };
    if (c.keepReconstructions) extra.reconstructions = await reconstructions(model, testSet.images, c.reconstructions, trainSet.height, trainSet.width);
    const evalSeconds = (Date.now() - t0) / 1000;
    const { step, loss } = result.history;
    return {
      metrics: {
        ...frozen,
        alphaEff: wiring.alphaEff(),
        erank: perBlock[perBlock.length - 1],
        finalLoss: loss[loss.length - 1],
        trainSeconds: result.trainSeconds,
        msPerStep: (1000 * result.trainSeconds) / c.train.steps,
        evalSeconds,
        params: model.paramCount(),
      },
      history: { step, loss, rankStep: result.evals.step, erank: result.evals.erank ?? [] },
      extra,
    };
  } finally {
    model.dispose();
  }
}

/**
 * A baseline row: the kNN and both probes of raw pixels, or of the encoder at its initialisation (same
 * config and seed as the trained rows, zero training steps), with the same effective ranks as a run.
 */
function baselineRun(c: MaeSweepRunConfig, trainSet: ImageSet, testSet: ImageSet): RunResult {
  const hw = trainSet.height * trainSet.width;
  const bankLabels = trainSet.labels.subarray(0, c.evalTrain);
  const testLabels = testSet.labels.subarray(0, c.evalTest);
  const evalCfg = { knn: c.knn, probe: c.probe, classes: 10 };
  const t0 = Date.now();
  if (c.baseline === 'pixels') {
    const queries = pixelFeatures(testSet.images, c.evalTest, hw);
    const metrics = evaluateFrozen(pixelFeatures(trainSet.images, c.evalTrain, hw), bankLabels, queries, testLabels, evalCfg);
    const erank = effectiveRank(queries.data, c.evalTest, hw);
    // No per-block ranks: pixels have no blocks (the rank heatmaps show trained rows and the untrained encoder).
    return { metrics: { ...metrics, erank, finalLoss: null, trainSeconds: 0, evalSeconds: (Date.now() - t0) / 1000, params: 0 } };
  }
  const model = new Mae(c.model, 'mae-untrained');
  try {
    const bank = extractFeatures(model.encoder, trainSet.images.subarray(0, c.evalTrain * hw), c.evalTrain);
    const queries = extractFeatures(model.encoder, testSet.images.subarray(0, c.evalTest * hw), c.evalTest);
    const last = (f: typeof bank, n: number) => ({ data: f.blocks[f.blocks.length - 1], n, dim: f.dim });
    const metrics = evaluateFrozen(last(bank, c.evalTrain), bankLabels, last(queries, c.evalTest), testLabels, evalCfg);
    const perBlock = queries.blocks.map((b) => effectiveRank(b, c.evalTest, queries.dim));
    const wiring = model.encoder.stack.wiring;
    return {
      metrics: { ...metrics, alphaEff: wiring.alphaEff(), erank: perBlock[perBlock.length - 1], finalLoss: null, trainSeconds: 0, evalSeconds: (Date.now() - t0) / 1000, params: model.paramCount() },
      extra: { blockErank: perBlock, coefficients: wiring.coefficients(), describe: wiring.describe() },
    };
  } finally {
    model.dispose();
  }
}

/** The first `n` test images masked with a fixed seed, and the model's reconstructions (3 decimals). */
async function reconstructions(model: Mae, images: Float32Array, n: number, h: number, w: number): Promise<Json> {
  const x = tf.tensor3d(images.subarray(0, n * h * w), [n, h, w]);
  const { recon, mask, loss } = await model.reconstruct(x, 20240416);
  const round = (a: ArrayLike<number>) => Array.from(a, (v) => Math.round(v * 1000) / 1000);
  const out = { n, height: h, width: w, patch: model.config.encoder.patch, maskSeed: 20240416, loss, mask: round(mask.dataSync()), images: round(recon.dataSync()) };
  tf.dispose([x, recon, mask]);
  return out;
}
