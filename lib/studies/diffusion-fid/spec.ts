/**
 * `diffusion-fid`: do decayed identity shortcuts (paper A, arXiv 2404.10947) or ANCRe (paper B,
 * arXiv 2602.09009) improve a small diffusion transformer's samples (FID) and its mid-trunk features
 * (kNN, linear probe)?
 *
 *   Paper A: SiT-XL/2, ImageNet 256², 400k steps: FID 17.2 (baseline) → 16.5 (long skips, α_min = 1)
 *            → 11.8 (α_min = 0.8 with long skips); features of decayed models probe better.
 *   Paper B: DiT-S/2 69.40 → 66.01 and DiT-B/2 44.31 → 41.66 with ANCRe (FID-50K, 400k steps).
 *
 * Here: a DiT on Fashion-MNIST pixels (lib/models/dit.ts), SiT's velocity objective with a Heun ODE
 * sampler (lib/models/diffusion.ts), EMA weights for sampling, and an FID whose features come from a
 * Fashion-MNIST classifier trained by the project (lib/models/fid-classifier.ts, lib/metrics/fid.ts) —
 * NOT comparable with the papers' Inception FIDs. Every FID uses `fidSamples` generated images (labels
 * cycling through the 10 classes) against the Gaussian of `fidReference` training images; the floor is the
 * FID of `fidSamples` real TEST images against the same reference. The paper preset holds the papers'
 * model configs (32×32×4 latents); it cannot run here: the latent autoencoder and ImageNet are out of scope.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import { DeepPartial, PresetName } from '../../config';
import { checkNumber, checkPositiveInt, ConfigError, EnvironmentError, checkSeeds, checkKeys } from '../../errors';
import { BatchSampler, BatchSamplerState, gatherImages, gatherLabels, limitSet, loadFashionMnist, type ImageSet } from '../../data';
import { DiT, DIT_DEFAULTS, DIT_PAPER_CONFIGS, validateDit, type DitConfig } from '../../models/dit';
import { flowMatchingLoss, sampleImages, SAMPLER_DEFAULTS, samplerNfe, stepSeed, toPixels, validateSampler, type SamplerConfig } from '../../models/diffusion';
import { FID_CLASSIFIER_DEFAULTS, loadOrTrainFidClassifier, validateFidClassifier, type FidClassifier, type FidClassifierConfig } from '../../models/fid-classifier';
import { frechetDistance, gaussianStats, type GaussianStats } from '../../metrics/fid';
import { knnAccuracy, type Features } from '../../metrics/knn';
import { linearProbe, PROBE_DEFAULTS, validateProbe, type ProbeConfig } from '../../metrics/probe';
import { validateWiring, type WiringConfig } from '../../residual';
import { train, TrainConfig, TRAIN_DEFAULTS, validateTrain } from '../../train/loop';
import type { Experiment, Json, RunContext, RunResult, RunSpec } from '../../runner/types';

/** One table row: how the trunk is wired. */
export interface DiffusionRow {
  /** Row name in the table. */
  name: string;
  /** The trunk's wiring (decayed: α over all 2·depth sub-layers, linspace(1, α_min, 2·depth) as in paper A's SiT). */
  wiring: WiringConfig;
  /** U-ViT long skips from the first half of the blocks into the second. */
  longSkips: boolean;
}

/** The model's shape; the row supplies wiring and long skips, the run its seed. */
export type DiffusionModelShape = Omit<DitConfig, 'wiring' | 'longSkips' | 'seed'>;

export interface DiffusionFidConfig {
  /** The DiT's shape (patch, width, depth, heads, ...). */
  model: DiffusionModelShape;
  /** The rows compared, same steps and schedule for all. */
  rows: DiffusionRow[];
  /** Seeds: one run per row and seed. */
  seeds: number[];
  /** Training images used (the first N of 60,000). */
  trainExamples: number;
  /** Minibatch size. */
  batch: number;
  /** The training loop (AdamW, warm-up + cosine, EMA decay `ema`: samples and features use EMA weights). */
  train: TrainConfig;
  /** The ODE sampler used for every FID. */
  sampler: SamplerConfig;
  /** Generated images per final FID; also the number of real test images of the floor. */
  fidSamples: number;
  /** Training images whose classifier features form the reference Gaussian. */
  fidReference: number;
  /** FID-vs-step: evaluate every this many steps (and at the end) with EMA weights. */
  curveEvery: number;
  /** Generated images per FID-vs-step point (fewer than fidSamples: the curve's FIDs sit higher). */
  curveSamples: number;
  /** Noise level t ∈ [0, 1) of the images whose mid-trunk features are probed (fixed noise seed). */
  featureT: number;
  /** Training images forming the kNN bank and the probe's training set. */
  featureTrain: number;
  /** Test images for kNN and the probe. */
  featureTest: number;
  /** kNN neighbours (cosine similarity, temperature-weighted votes, T = 0.07). */
  knnK: number;
  /** Linear probe recipe (standardised features, full-batch Adam). */
  probe: ProbeConfig;
  /** The FID classifier (trained once, saved under data/fid-classifier/, reused). */
  classifier: FidClassifierConfig;
  /** The classifier must reach this test accuracy. */
  classifierMinAccuracy: number;
  /** Generated images per class kept for the sample grids. */
  gridPerClass: number;
}

const ROWS: DiffusionRow[] = [
  { name: 'standard', wiring: { kind: 'residual' }, longSkips: false },
  { name: 'long skips (α_min=1)', wiring: { kind: 'residual' }, longSkips: true },
  { name: 'decayed α_min=0.8 + skips', wiring: { kind: 'decayed', alphaMin: 0.8 }, longSkips: true },
  { name: 'decayed α_min=0.6 + skips', wiring: { kind: 'decayed', alphaMin: 0.6 }, longSkips: true },
  { name: 'ANCRe τ=0.01', wiring: { kind: 'ancre', tau: 0.01 }, longSkips: false },
  // The latest official DiT scripts (zhangyilang/ANCRe) use τ = 0.1 (0.01 in an earlier commit).
  { name: 'ANCRe τ=0.1', wiring: { kind: 'ancre', tau: 0.1 }, longSkips: false },
];

const { wiring: _w, longSkips: _l, seed: _s, ...ditShape } = DIT_DEFAULTS;

const defaults: DiffusionFidConfig = {
  model: { ...ditShape, patch: 7, width: 64, depth: 6, heads: 4 },
  rows: ROWS,
  seeds: [0, 1, 2],
  trainExamples: 60000,
  batch: 64,
  train: {
    ...TRAIN_DEFAULTS,
    // 3200 × 64 = 3.4 epochs of Fashion-MNIST (the 800- and 1600-step reference runs stay in runs.jsonl).
    steps: 3200,
    schedule: { lr: 1e-3, warmupFraction: 0.05, minRatio: 0.1 },
    optimizer: { ...TRAIN_DEFAULTS.optimizer, beta2: 0.99, weightDecay: 0 },
    ema: 0.99,
    logEvery: 25,
    checkpointEvery: 100,
  },
  sampler: { ...SAMPLER_DEFAULTS, solver: 'heun', steps: 5 },
  fidSamples: 1000,
  fidReference: 10000,
  curveEvery: 200,
  curveSamples: 200,
  featureT: 0.1,
  featureTrain: 2000,
  featureTest: 1000,
  knnK: 20,
  probe: PROBE_DEFAULTS,
  classifier: FID_CLASSIFIER_DEFAULTS,
  classifierMinAccuracy: 0.9,
  gridPerClass: 2,
};

const presets: Record<PresetName, DeepPartial<DiffusionFidConfig>> = {
  smoke: {
    model: { width: 32, depth: 2, heads: 2 },
    seeds: [0],
    trainExamples: 2000,
    batch: 16,
    train: { steps: 8, logEvery: 2, checkpointEvery: 4 },
    sampler: { steps: 2 },
    fidSamples: 60,
    fidReference: 300,
    curveEvery: 4,
    curveSamples: 30,
    featureTrain: 200,
    featureTest: 100,
    probe: { epochs: 30 },
    // A one-epoch classifier (about 20 s to train when absent): proves the pipeline, not the metric.
    classifier: { channels: 8, hidden: 64, epochs: 1, shift: 0, dropout: 0 },
    classifierMinAccuracy: 0.75,
  },
  cpu: {},
  paper: {
    // The papers' DiT-B/2 shape on 32×32×4 latents (see DIT_PAPER_CONFIGS for S/2 and SiT-XL/2); not runnable here.
    model: (({ wiring: _a, longSkips: _b, seed: _c, ...shape }) => shape)(DIT_PAPER_CONFIGS['DiT-B/2']),
    batch: 256,
    train: { steps: 400000, schedule: { lr: 1e-4, warmupFraction: 0, minRatio: 1 }, ema: 0.9999, logEvery: 100, checkpointEvery: 10000 },
    sampler: { solver: 'heun', steps: 125 },
    fidSamples: 50000,
  },
};

function validate(c: DiffusionFidConfig): void {
  validateDit({ ...c.model, wiring: { kind: 'residual' }, longSkips: false, seed: 0 }, 'model');
  if (!Array.isArray(c.rows) || c.rows.length === 0) throw new ConfigError(`rows must be a non-empty list; got ${JSON.stringify(c.rows)}`);
  const names = new Set<string>();
  c.rows.forEach((r, i) => {
    checkKeys(`rows[${i}]`, r, ['name', 'wiring', 'longSkips']);
    if (typeof r.name !== 'string' || !r.name) throw new ConfigError(`rows[${i}].name must be a non-empty string; got ${JSON.stringify(r.name)}`);
    if (names.has(r.name)) throw new ConfigError(`rows[${i}].name '${r.name}' is used twice`);
    names.add(r.name);
    validateWiring(r.wiring, `rows[${i}] '${r.name}'.wiring`);
    if (typeof r.longSkips !== 'boolean') throw new ConfigError(`rows[${i}].longSkips must be true or false; got ${JSON.stringify(r.longSkips)}`);
    if (r.longSkips && c.model.depth % 2) throw new ConfigError(`rows[${i}] uses long skips: model.depth must be even; got ${c.model.depth}`);
  });
  if (!Array.isArray(c.seeds) || c.seeds.length === 0) throw new ConfigError(`seeds must be a non-empty list of integers; got ${JSON.stringify(c.seeds)}`);
  checkSeeds(c.seeds);
  checkNumber('trainExamples', c.trainExamples, { lo: 1, hi: 60000, integer: true });
  checkNumber('batch', c.batch, { lo: 1, hi: c.trainExamples, integer: true });
  validateTrain(c.train);
  validateSampler(c.sampler);
  checkNumber('fidSamples', c.fidSamples, { lo: 10, hi: 50000, integer: true });
  checkNumber('fidReference', c.fidReference, { lo: 10, hi: 60000, integer: true });
  checkPositiveInt('curveEvery', c.curveEvery);
  checkNumber('curveSamples', c.curveSamples, { lo: 10, integer: true });
  checkNumber('featureT', c.featureT, { lo: 0, hi: 1, hiOpen: true });
  checkNumber('featureTrain', c.featureTrain, { lo: 1, hi: c.trainExamples, integer: true });
  checkNumber('featureTest', c.featureTest, { lo: 1, hi: 10000, integer: true });
  checkPositiveInt('knnK', c.knnK);
  validateProbe(c.probe);
  validateFidClassifier(c.classifier);
  checkNumber('classifierMinAccuracy', c.classifierMinAccuracy, { lo: 0, hi: 1 });
  checkNumber('gridPerClass', c.gridPerClass, { lo: 0, hi: 10, integer: true });
  if (c.gridPerClass * c.model.classes > c.fidSamples) throw new ConfigError(`gridPerClass ${c.gridPerClass} × ${c.model.classes} classes exceeds fidSamples ${c.fidSamples}`);
}

function runs(c: DiffusionFidConfig): RunSpec[] {
  const { rows, seeds, ...rest } = c;
  return rows.flatMap((row) => seeds.map((seed) => ({ row: row.name, seed, config: { ...rest, row } as unknown as { [k: string]: Json } })));
}

type RunConfig = Omit<DiffusionFidConfig, 'rows' | 'seeds'> & { row: DiffusionRow };

/** Images (pixels in [0, 1]) to the model's scale 2·x − 1. // [B, 28, 28, 1] */
export function modelInput(set: ImageSet, idx: ArrayLike<number>): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(gatherImages(set, idx), [idx.length, set.height, set.width, 1]), 2), 1) as tf.Tensor4D);
}

/** FID statistics of n images (pixels in [0, 1]). */
function statsOf(clf: FidClassifier, pixels: Float32Array, n: number): GaussianStats {
  return gaussianStats(clf.features(pixels, n), n, clf.featureDim);
}

/** Balanced labels 0, 1, …, K−1, 0, 1, … for n generated images. */
export function cyclingLabels(n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i % classes);
}

/**
 * `features` of the first n images of `set` noised to level t, x_t = (1 − t)·x + t·ε, in batches of 250 with
 * fixed noise (batch i's ε from stepSeed(seed, i, 21)): the mid-trunk features and the noisy-pixel baseline
 * see the same inputs. features: (x_t [m, 28, 28, 1], m) -> [m, dim]. // -> [n, dim]
 */
export function noisedFeatures(set: ImageSet, n: number, t: number, seed: number, dim: number, features: (xt: tf.Tensor4D, m: number) => tf.Tensor): Features {
  const data = new Float32Array(n * dim);
  const B = 250;
  for (let i = 0; i < n; i += B) {
    const m = Math.min(B, n - i);
    const f = tf.tidy(() => {
      const x = modelInput(set, Int32Array.from({ length: m }, (_, j) => i + j));
      const eps = tf.randomNormal(x.shape, 0, 1, 'float32', stepSeed(seed, i, 21));
      const xt = tf.add(tf.mul(x, 1 - t), tf.mul(eps, t)) as tf.Tensor4D;
      return features(xt, m).dataSync();
    });
    data.set(f as Float32Array, i * dim);
  }
  return { data, n, dim };
}

/** Mid-trunk features of n images at noise level t (fixed noise), batched. // -> [n, D] */
export function midFeatures(model: DiT, set: ImageSet, n: number, t: number, seed: number): Features {
  return noisedFeatures(set, n, t, seed, model.config.width, (xt, m) => model.midFeatures(xt, tf.fill([m], t) as tf.Tensor1D));
}

/** Pixels in [0, 1] to a base64 string of bytes (sample grids kept in runs.jsonl). */
export function encodeGrid(pixels: Float32Array): string {
  return Buffer.from(Uint8Array.from(pixels, (v) => Math.round(255 * Math.min(1, Math.max(0, v))))).toString('base64');
}

export function decodeGrid(b64: string): Float32Array {
  return Float32Array.from(Buffer.from(b64, 'base64'), (v) => v / 255);
}

async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const c = spec.config as unknown as RunConfig;
  if (c.model.imageSize !== 28 || c.model.channels !== 1) {
    throw new EnvironmentError(
      `diffusion-fid runs on 28×28 Fashion-MNIST pixels; this config is ${c.model.imageSize}×${c.model.imageSize}×${c.model.channels} ` +
        '(the paper preset\'s ImageNet latents need an autoencoder and ImageNet, out of scope: use it for the configs and parameter counts)',
    );
  }
  if (c.fidSamples > 10000) throw new ConfigError(`fidSamples ${c.fidSamples} exceeds the 10,000 Fashion-MNIST test images the floor needs`);
  const trainSet = limitSet(loadFashionMnist('train'), c.trainExamples);
  const testSet = loadFashionMnist('test');
  const P = 28 * 28;
  const { model: clf, info } = await loadOrTrainFidClassifier(c.classifier, { minAccuracy: c.classifierMinAccuracy, log: (m) => ctx.log({ message: m }) });
  const fullTrain = loadFashionMnist('train');
  const reference = statsOf(clf, fullTrain.images.subarray(0, c.fidReference * P), c.fidReference);
  const fidFloor = frechetDistance(statsOf(clf, testSet.images.subarray(0, c.fidSamples * P), c.fidSamples), reference);
  const fidOf = (pixels: Float32Array, n: number) => frechetDistance(statsOf(clf, pixels, n), reference);

  const model = new DiT({ ...c.model, wiring: c.row.wiring, longSkips: c.row.longSkips, seed: spec.seed }, 'dit');
  let sampler = new BatchSampler(trainSet.n, c.batch, spec.seed);
  const sampleSeed = 1000 + spec.seed; // the same noise for every row: rows differ only by their network
  try {
    const result = await train(
      c.train,
      {
        params: model.params(),
        ownsEma: true, // sampling and features below run under result.ema.withEmaWeights
        loss: (step) => {
          const idx = sampler.next();
          const x = modelInput(trainSet, idx);
          const y = tf.tensor1d(gatherLabels(trainSet, idx), 'int32');
          return flowMatchingLoss(model, x, y, stepSeed(spec.seed, step, 0));
        },
        getState: () => sampler.state() as unknown as Json,
        setState: (s) => {
          sampler = BatchSampler.fromState(s as unknown as BatchSamplerState);
        },
        evaluate: {
          every: c.curveEvery,
          fn: async () => {
            const n = c.curveSamples;
            return { fid: fidOf(toPixels(await sampleImages(model, cyclingLabels(n, c.model.classes), c.sampler, sampleSeed)), n) };
          },
        },
      },
      { checkpointFile: path.join(ctx.checkpointDir, 'ckpt.bin'), progress: ctx.progress, log: ctx.log },
    );
    const t0 = Date.now();
    const final = async () => {
      const n = c.fidSamples;
      const pixels = toPixels(await sampleImages(model, cyclingLabels(n, c.model.classes), c.sampler, sampleSeed));
      const fid = fidOf(pixels, n);
      const K = c.model.classes;
      // The first gridPerClass·K samples hold gridPerClass per class (labels cycle): row r = sample r·K … r·K + K − 1.
      const grid = encodeGrid(pixels.subarray(0, c.gridPerClass * K * P));
      const bank = midFeatures(model, trainSet, c.featureTrain, c.featureT, 7);
      const queries = midFeatures(model, testSet, c.featureTest, c.featureT, 8);
      const bankLabels = trainSet.labels.subarray(0, c.featureTrain);
      const queryLabels = testSet.labels.subarray(0, c.featureTest);
      const knn = knnAccuracy(bank, bankLabels, queries, queryLabels, { k: c.knnK, classes: K });
      const lp = linearProbe(bank, bankLabels, queries, queryLabels, { ...c.probe, classes: K }).testAccuracy;
      return { fid, grid, knn, lp };
    };
    const m = result.ema ? await result.ema.withEmaWeights(final) : await final();
    const evalSeconds = (Date.now() - t0) / 1000;
    const coefficients = model.stack.wiring.coefficients();
    const alphaEff = model.stack.wiring.alphaEff();
    result.dispose();
    const { step, loss } = result.history;
    return {
      metrics: {
        fid: m.fid,
        fidFloor,
        knn: m.knn,
        lp: m.lp,
        finalLoss: loss[loss.length - 1],
        trainSeconds: result.trainSeconds,
        msPerStep: (1000 * result.trainSeconds) / c.train.steps,
        evalSeconds,
        params: model.paramCount(),
        alphaEff,
        nfe: samplerNfe(c.sampler),
        classifier: info.sha256.slice(0, 12),
        classifierAccuracy: info.testAccuracy,
      },
      history: { step, loss, fidStep: result.evals.step, fid: result.evals.fid ?? [] },
      extra: { grid: m.grid, gridRows: c.gridPerClass, gridCols: c.model.classes, coefficients },
    };
  } finally {
    model.dispose();
    clf.dispose();
  }
}

export const experiment: Experiment<DiffusionFidConfig> = {
  name: 'diffusion-fid',
  title: 'Decayed shortcuts and ANCRe in a small diffusion transformer: FID, kNN and linear probe',
  defaults,
  presets,
  data: ['fashion-mnist'],
  validate,
  runs,
  runOne,
};
