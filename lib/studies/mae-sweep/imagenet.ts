/**
 * mae-sweep on an ImageNet-style folder (the `paper` preset; data.kind 'imagenet-folder'): paper A's
 * pre-training through lib/data/imagefolder.ts (RandomResizedCrop(0.2–1) + flip, ImageNet mean/std,
 * decoded in a worker pool while the engine trains), the training loop's memory check and gradient
 * accumulation, then paper A's headline metric: kNN top-1 of the frozen encoder (the last block's mean
 * token, as the official `eval_model`) with val images (resize 256 → centre 224) as queries against
 * `evalTrain` train images as the bank, plus the masked-patch loss on val.
 *
 * Every read of GPU memory is asynchronous, so this path runs on webgpu as on every other engine; the
 * kNN itself runs on the pure-JS cpu engine (plain feature arrays, no GPU data).
 * Not on this path (yet): the linear probes and the per-block effective ranks of the Fashion-MNIST runs.
 */
import * as tf from '@tensorflow/tfjs';
import { extractFeaturesAsync } from '../../models/vit';
import { knnAccuracy } from '../../metrics/knn';
import { CROP_FLIP_DEFAULTS } from '../../data/augment';
import { ImageLoader, imageFolderKey, scanImageFolder } from '../../data/imagefolder';
import { readable } from '../../backend/webgpu';
import { DataError } from '../../errors';
import type { RunContext, RunResult, RunSpec } from '../../runner/types';
import { withPretrainedMae } from '../shared/mae-pretrain';
import type { MaeSweepRunConfig } from './spec';

/** `n` images of `loader`'s folder in order, decoded in batches: [n, S, S, 3]. */
async function decodeFirst(loader: ImageLoader, n: number, batch: number): Promise<{ images: Float32Array; labels: Int32Array }> {
  const S = loader.size;
  const images = new Float32Array(n * S * S * 3);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i += batch) {
    const idx = Array.from({ length: Math.min(batch, n - i) }, (_, j) => i + j);
    const b = await loader.batch(idx, 0);
    images.set(b.images, i * S * S * 3);
    labels.set(b.labels, i);
  }
  return { images, labels };
}

export async function imagenetRun(c: MaeSweepRunConfig, spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const S = c.model.encoder.image;
  if (!c.data.dir) throw new DataError(`mae-sweep preset '${ctx.preset}' reads an ImageNet folder: set data.dir (or $REPRO_IMAGENET) to a folder holding train/<class>/*.JPEG and val/<class>/*`);
  const trainFolder = scanImageFolder(c.data.dir, 'train');
  const valFolder = scanImageFolder(c.data.dir, 'val', trainFolder.classes);
  if (c.folderKey !== undefined && imageFolderKey(c.data.dir) !== c.folderKey) {
    throw new DataError(`ImageNet folder ${c.data.dir} changed between planning this run and starting it (classes or images added, removed or renamed); rerun to plan the runs on its present contents`);
  }
  const pretrain = new ImageLoader(trainFolder, { kind: 'train', size: S, crop: CROP_FLIP_DEFAULTS }, spec.seed);
  const evalOf = (folder: typeof trainFolder) => new ImageLoader(folder, { kind: 'eval', size: S, resize: Math.round(S / 0.875) }, 0);
  const n = Math.min(c.trainExamples, trainFolder.files.length);
  const images = { n, shape: [S, S, 3], batch: async (idx: Int32Array, step: number) => (await pretrain.batch(idx, step)).images };
  try {
    return await withPretrainedMae(
      { model: { ...c.model, encoder: { ...c.model.encoder, channels: 3 } }, name: `mae-${ctx.runId}`, train: c.train, seed: spec.seed, batch: c.batch, images, memory: `mae-sweep ${spec.row}` },
      ctx,
      async (model, pretrained) => {
        const t0 = Date.now();
        const bankN = Math.min(c.evalTrain, trainFolder.files.length);
        const queryN = Math.min(c.evalTest, valFolder.files.length);
        const evalBatch = Math.max(1, Math.min(64, c.batch));
        const bankLoader = evalOf(trainFolder);
        const queryLoader = evalOf(valFolder);
        const bank = await decodeFirst(bankLoader, bankN, evalBatch);
        const queries = await decodeFirst(queryLoader, queryN, evalBatch);
        await Promise.all([bankLoader.close(), queryLoader.close()]);
        const last = async (images: Float32Array, m: number) => {
          const f = await extractFeaturesAsync(model.encoder, images, m, evalBatch);
          return { data: f.blocks[f.blocks.length - 1], n: m, dim: f.dim };
        };
        const bankF = await last(bank.images, bankN);
        const queryF = await last(queries.images, queryN);
        // masked-patch loss on the val queries (the pre-training objective, held out)
        let valLoss = 0;
        for (let i = 0; i < queryN; i += evalBatch) {
          const m = Math.min(evalBatch, queryN - i);
          const l = tf.tidy(() => model.loss(tf.tensor4d(queries.images.subarray(i * S * S * 3, (i + m) * S * S * 3), [m, S, S, 3]), 20240416 + i));
          valLoss += (await l.data())[0] * m;
          l.dispose();
        }
        // kNN on plain arrays: on the pure-JS engine, whatever engine trained
        const engine = tf.getBackend();
        await tf.setBackend('cpu');
        let knn: number;
        try {
          knn = knnAccuracy(bankF, bank.labels, queryF, queries.labels, { k: Math.min(c.knn.k, bankN), temperature: c.knn.temperature });
        } finally {
          await tf.setBackend(engine);
        }
        const wiring = model.encoder.stack.wiring;
        await readable(wiring.variables);
        return {
          metrics: {
            knn,
            valLoss: valLoss / queryN,
            finalLoss: pretrained.finalLoss,
            alphaEff: wiring.alphaEff(),
            trainSeconds: pretrained.trainSeconds,
            msPerStep: (1000 * pretrained.trainSeconds) / c.train.steps,
            evalSeconds: (Date.now() - t0) / 1000,
            params: model.paramCount(),
            images: trainFolder.files.length,
            classes: trainFolder.classes.length,
          },
          history: pretrained.history,
          extra: {
            coefficients: wiring.coefficients(),
            describe: wiring.describe(),
            protocol: `kNN k=${Math.min(c.knn.k, bankN)} T=${c.knn.temperature} cosine on the last block's mean token; bank: the first ${bankN} train images, queries: the first ${queryN} val images (resize ${Math.round(S / 0.875)}, centre ${S})`,
          },
        };
      },
    );
  } finally {
    await pretrain.close();
  }
}
