/**
 * One run of mae-clutter: a baseline (raw pixels of the cluttered canvas beside the plain 28×28 ones, or
 * the untrained encoder), or the MAE pre-trained on cluttered, translated Fashion-MNIST with the row's
 * recipe, then its frozen features (lib/studies/shared/mae-pretrain.ts).
 */
import { loadFashionMnist, Rng } from '../../data';
import { clutteredImages } from '../../data/cluttered';
import { randomResizedCropFlip } from '../../data/augment';
import { effectiveRank } from '../../metrics';
import type { RunContext, RunResult, RunSpec } from '../../runner/types';
import { evaluateFrozen, pixelFeatures } from '../shared/frozen-features';
import { frozenMaeEval, heldOutLoss, maeRunResult, withPretrainedMae } from '../shared/mae-pretrain';
import type { MaeClutterRunConfig } from './spec';

export async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const c = spec.config as unknown as MaeClutterRunConfig;
  const trainSrc = loadFashionMnist('train');
  const testSrc = loadFashionMnist('test');
  const S = c.data.canvas;
  const S2 = S * S;
  const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const bankImages = clutteredImages(trainSrc, 'train', range(c.evalTrain), c.data);
  const queryImages = clutteredImages(testSrc, 'test', range(c.evalTest), c.data);
  const bankLabels = trainSrc.labels.subarray(0, c.evalTrain);
  const testLabels = testSrc.labels.subarray(0, c.evalTest);
  const evalCfg = { knn: c.knn, probe: c.probe, classes: 10 };
  const t0 = Date.now();
  if (c.baseline === 'pixels') {
    const metrics = evaluateFrozen(pixelFeatures(bankImages, c.evalTrain, S2), bankLabels, pixelFeatures(queryImages, c.evalTest, S2), testLabels, evalCfg);
    // The same protocol on the plain 28×28 images of the same indices: how much the clutter costs pixels.
    const plain = evaluateFrozen(pixelFeatures(trainSrc.images, c.evalTrain, 784), bankLabels, pixelFeatures(testSrc.images, c.evalTest, 784), testLabels, evalCfg);
    const erank = effectiveRank(queryImages.subarray(0, c.rankExamples * S2), c.rankExamples, S2);
    return {
      metrics: { ...metrics, plainKnn: plain.knn, plainLpConverged: plain.lpConverged, plainLinearProbe: plain.linearProbe, erank, erankExamples: c.rankExamples, evalSeconds: (Date.now() - t0) / 1000, trainSeconds: 0 },
    };
  }
  // Pre-training batches: cluttered train images, cropped and flipped under the official recipe.
  const batch = (idx: Int32Array, step: number) => {
    const imgs = clutteredImages(trainSrc, 'train', idx, c.data);
    return c.augment ? randomResizedCropFlip(imgs, idx.length, S, S, c.augment, Rng.derive(spec.seed, 'augment', step)) : imgs;
  };
  return withPretrainedMae(
    {
      model: c.model,
      name: `mae-${ctx.runId}`,
      train: c.train,
      seed: spec.seed,
      batch: c.batch,
      images: { n: trainSrc.n, shape: [S, S], batch },
      rank: { images: queryImages.subarray(0, c.rankExamples * S2), n: c.rankExamples, checkpoints: c.rankCheckpoints },
      untrained: c.baseline === 'untrained',
      ...(c.evalSteps
        ? {
            evalAt: {
              steps: c.evalSteps,
              fn: async (model) => {
                const { metrics } = frozenMaeEval(model, { images: bankImages, labels: bankLabels, n: c.evalTrain }, { images: queryImages, labels: testLabels, n: c.evalTest }, evalCfg);
                const nums = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, typeof v === 'boolean' ? Number(v) : v]));
                return { ...nums, evalLoss: await heldOutLoss(model, queryImages, c.rankExamples, S, S), alphaEff: model.encoder.stack.wiring.alphaEff() ?? NaN };
              },
            },
          }
        : {}),
    },
    ctx,
    async (model, pretrained) =>
      maeRunResult(model, pretrained, {
        bank: { images: bankImages, labels: bankLabels, n: c.evalTrain },
        queries: { images: queryImages, labels: testLabels, n: c.evalTest },
        eval: evalCfg,
        reconstructions: { images: queryImages, n: c.reconstructions, height: S, width: S },
        steps: c.train.steps,
        // With evaluation points, the held-out loss too (for the untrained encoder: the loss of predicting zero).
        metrics: { peakLr: c.train.schedule.lr, ...(c.evalSteps ? { evalLoss: await heldOutLoss(model, queryImages, c.rankExamples, S, S) } : {}) },
      }),
  );
}
