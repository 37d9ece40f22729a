/**
 * One run of the MAE sweep: pre-train the MAE (or evaluate a baseline), then evaluate its frozen features.
 */
import { ConfigError } from '../../errors';
import { gatherImages, limitSet, loadFashionMnist, type ImageSet } from '../../data';
import { imagenetRun } from './imagenet';
import { Mae } from '../../models/mae';
import { effectiveRank } from '../../metrics';
import type { RunContext, RunResult, RunSpec } from '../../runner/types';
import { evaluateFrozen, pixelFeatures } from '../shared/frozen-features';
import { frozenMaeEval, maeRunResult, withPretrainedMae } from '../shared/mae-pretrain';
import type { MaeSweepRunConfig } from './spec';

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
  const rankImages = testSet.images.subarray(0, c.rankExamples * hw);
  return withPretrainedMae(
    {
      model: c.model,
      name: `mae-${ctx.runId}`,
      train: c.train,
      seed: spec.seed,
      batch: c.batch,
      images: { n: trainSet.n, shape: [trainSet.height, trainSet.width], batch: (idx) => gatherImages(trainSet, idx) },
      memory: `mae-sweep ${spec.row}`,
      rank: { images: rankImages, n: c.rankExamples, checkpoints: c.rankCheckpoints },
    },
    ctx,
    (model, pretrained) =>
      maeRunResult(model, pretrained, {
        bank: { images: trainSet.images.subarray(0, c.evalTrain * hw), labels: trainSet.labels.subarray(0, c.evalTrain), n: c.evalTrain },
        queries: { images: testSet.images.subarray(0, c.evalTest * hw), labels: testSet.labels.subarray(0, c.evalTest), n: c.evalTest },
        eval: { knn: c.knn, probe: c.probe, classes: 10 },
        reconstructions: { images: testSet.images, n: c.keepReconstructions ? c.reconstructions : 0, height: trainSet.height, width: trainSet.width },
        steps: c.train.steps,
      }),
  );
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
    const bank = { images: trainSet.images.subarray(0, c.evalTrain * hw), labels: bankLabels, n: c.evalTrain };
    const queries = { images: testSet.images.subarray(0, c.evalTest * hw), labels: testLabels, n: c.evalTest };
    const { metrics, perBlock } = frozenMaeEval(model, bank, queries, evalCfg);
    const wiring = model.encoder.stack.wiring;
    return {
      metrics: { ...metrics, alphaEff: wiring.alphaEff(), erank: perBlock[perBlock.length - 1], finalLoss: null, trainSeconds: 0, evalSeconds: (Date.now() - t0) / 1000, params: model.paramCount() },
      extra: { blockErank: perBlock, coefficients: wiring.coefficients(), describe: wiring.describe() },
    };
  } finally {
    model.dispose();
  }
}
