/**
 * The feature network of this project's FID: a Fashion-MNIST classifier trained here, whose penultimate
 * layer plays the role Inception-v3's pool3 plays in the usual FID (Heusel et al., arXiv 1706.08500).
 * FIDs computed with it are comparable with each other only, never with the Inception FIDs of papers.
 *
 *   x [B, 28, 28] → conv 4×4 stride 2 (K channels, valid) → ReLU → [B, 13·13·K]
 *     → ReLU(· W₁ + b₁) [B, H] = features → · W₂ + b₂ [B, 10]
 *
 * The convolution is written as im2col (a constant gather of the input's 4×4 windows at stride 2,
 * [B, 169, 16]) times a [16, K] matrix: on this project's CPU engine (wasm + native BLAS) tf.conv2d's
 * backprop falls back to pure-JS kernels and one step takes minutes, and pooling layers cost several times
 * the rest of the step, while matmuls are fast.
 * Light augmentation (horizontal flips, ±1-pixel shifts) and dropout; ≥ 90% test accuracy is required.
 *
 * The reference network (the default config) is committed: `data/fid-classifier/fid-cnn-10c42544c6e9.bin`
 * (5.5 MB, SHA-256 in the `.sha256` file beside it and in REFERENCE_FID_CLASSIFIER; 90.66 % test accuracy,
 * trained here once with the default config). It is loaded and verified, never retrained silently:
 * retraining the same config on another engine or BLAS gives another network (90.55 % on one fresh
 * clone) and FIDs in another feature space. A missing or altered reference file is a DataError;
 * `REPRO_FID_RETRAIN=1` retrains it on explicit request (into data/fid-classifier/retrained/).
 * Other configs (the smoke preset's one-epoch network) are trained when absent and saved under
 * `data/fid-classifier/` (git-ignored), named by the hash of the config, with a sidecar JSON holding the
 * SHA-256 of the weight file, the test accuracy and the training time; loading verifies the SHA-256.
 * A lock file keeps two processes from training one at once. Every FID record stores the SHA-256 prefix
 * of the classifier it used (`metrics.classifier`), and tables never average FIDs of different networks.
 *
 * Letters: B batch, K conv channels, H hidden (feature) width.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { configHash } from '../config';
import { checkNumber, checkPositiveInt, DataError } from '../errors';
import { BatchSampler, Rng, loadFashionMnist, type ImageSet } from '../data';
import { dataRoot, REPO_ROOT } from '../paths';
import { releaseLock, tryAcquireLock } from '../io/lock';
import { loadCheckpoint, restoreVariables, saveCheckpoint } from '../train/checkpoint';
import { train, TRAIN_DEFAULTS, type TrainConfig } from '../train/loop';
import type { Param } from '../train/params';
import { xavierUniform } from './layers';

export interface FidClassifierConfig {
  /** Channels K of the 4×4 stride-2 convolution. */
  channels: number;
  /** Hidden width H after the convolution: the FID feature width. */
  hidden: number;
  /** Dropout rate on the features during training. */
  dropout: number;
  /** Augment training images with random horizontal flips and shifts of up to this many pixels (0: none). */
  shift: number;
  /** Minibatch size. */
  batch: number;
  /** Training epochs over the 60,000 training images. */
  epochs: number;
  /** Peak learning rate (AdamW, warm-up + cosine). */
  lr: number;
  /** Decoupled weight decay on the weight matrices. */
  weightDecay: number;
  /** Seed of the init, batch order, augmentation and dropout. */
  seed: number;
}

export const FID_CLASSIFIER_DEFAULTS: FidClassifierConfig = {
  channels: 32,
  hidden: 256,
  dropout: 0.2,
  shift: 1,
  batch: 128,
  epochs: 8,
  lr: 1e-3,
  weightDecay: 1e-4,
  seed: 0,
};

export function validateFidClassifier(c: FidClassifierConfig, where = 'classifier'): void {
  checkPositiveInt(`${where}.channels`, c.channels);
  checkPositiveInt(`${where}.hidden`, c.hidden);
  checkNumber(`${where}.dropout`, c.dropout, { lo: 0, hi: 1, hiOpen: true });
  checkNumber(`${where}.shift`, c.shift, { lo: 0, hi: 8, integer: true });
  checkPositiveInt(`${where}.batch`, c.batch);
  checkPositiveInt(`${where}.epochs`, c.epochs);
  checkNumber(`${where}.lr`, c.lr, { lo: 0, loOpen: true });
  checkNumber(`${where}.weightDecay`, c.weightDecay, { lo: 0 });
  checkNumber(`${where}.seed`, c.seed, { integer: true });
}

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const CLASSES = 10;

const KERNEL = 4;
const STRIDE = 2;
const GRID = (SIDE - KERNEL) / STRIDE + 1; // 13

/** Flat pixel indices of every 4×4 window (stride 2) of a 28×28 image, window-major: [13·13·16]. */
function windowIndices(): Int32Array {
  const idx = new Int32Array(GRID * GRID * KERNEL * KERNEL);
  let k = 0;
  for (let r = 0; r < GRID; r++) {
    for (let q = 0; q < GRID; q++) {
      for (let dr = 0; dr < KERNEL; dr++) for (let dq = 0; dq < KERNEL; dq++) idx[k++] = (STRIDE * r + dr) * SIDE + STRIDE * q + dq;
    }
  }
  return idx;
}

export class FidClassifier {
  readonly params: Param[];
  private readonly conv: { w: tf.Variable; b: tf.Variable }; // [16, K], [K]
  private readonly fc1: { w: tf.Variable; b: tf.Variable }; // [13·13·K, H], [H]
  private readonly fc2: { w: tf.Variable; b: tf.Variable }; // [H, 10], [10]
  private readonly windows: tf.Tensor1D;

  constructor(readonly config: FidClassifierConfig) {
    validateFidClassifier(config);
    const { channels: K, hidden: H, seed } = config;
    const layer = (name: string, fanIn: number, fanOut: number, k: number) => {
      const w = tf.tidy(() => tf.variable(xavierUniform(fanIn, fanOut, seed * 7 + k), true));
      const b = tf.tidy(() => tf.variable(tf.zeros([fanOut]), true));
      return { name, w, b };
    };
    const layers = [layer('conv', KERNEL * KERNEL, K, 1), layer('fc1', GRID * GRID * K, H, 2), layer('fc2', H, CLASSES, 3)];
    [this.conv, this.fc1, this.fc2] = layers;
    this.params = layers.flatMap((l) => [
      { name: `fid-classifier/${l.name}/w`, variable: l.w, decay: true },
      { name: `fid-classifier/${l.name}/b`, variable: l.b, decay: false },
    ]);
    this.windows = tf.keep(tf.tensor1d(windowIndices(), 'int32'));
  }

  /** Width of the FID features. */
  get featureDim(): number {
    return this.config.hidden;
  }

  /** x [B, 784] -> { features [B, H], logits [B, 10] }; dropout only when `dropoutSeed` is given. */
  private run(x: tf.Tensor2D, dropoutSeed?: number): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    const B = x.shape[0];
    const K = this.config.channels;
    const cols = tf.gather(x, this.windows, 1).reshape([B * GRID * GRID, KERNEL * KERNEL]); // im2col [B·169, 16] (constant: no gradient)
    const conv = tf.relu(tf.add(tf.matMul(cols, this.conv.w as tf.Tensor2D), this.conv.b)).reshape([B, GRID * GRID * K]); // [B, 169·K]
    const features = tf.relu(tf.add(tf.matMul(conv, this.fc1.w as tf.Tensor2D), this.fc1.b)) as tf.Tensor2D; // [B, H]
    const dropped = dropoutSeed === undefined || this.config.dropout === 0 ? features : tf.dropout(features, this.config.dropout, undefined, dropoutSeed);
    const logits = tf.add(tf.matMul(dropped, this.fc2.w as tf.Tensor2D), this.fc2.b) as tf.Tensor2D; // [B, 10]
    return { features, logits };
  }

  /** Training loss of one batch. x [B, 784], labels [B] int32. */
  loss(x: tf.Tensor2D, labels: tf.Tensor1D, dropoutSeed: number): tf.Scalar {
    return tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, CLASSES), this.run(x, dropoutSeed).logits) as tf.Scalar);
  }

  /** Penultimate-layer features of n images (pixels in [0, 1], [n, 784] row-major) -> [n, H₂] row-major. */
  features(images: Float32Array, n: number, batch = 1000): Float32Array {
    if (images.length !== n * PIXELS) throw new DataError(`FidClassifier.features: ${n} images need ${n * PIXELS} values; got ${images.length}`);
    const out = new Float32Array(n * this.featureDim);
    for (let i = 0; i < n; i += batch) {
      const m = Math.min(batch, n - i);
      const f = tf.tidy(() => this.run(tf.tensor2d(images.subarray(i * PIXELS, (i + m) * PIXELS), [m, PIXELS])).features.dataSync());
      out.set(f as Float32Array, i * this.featureDim);
    }
    return out;
  }

  /** Top-1 accuracy on a set. */
  accuracy(set: ImageSet, batch = 1000): number {
    let correct = 0;
    for (let i = 0; i < set.n; i += batch) {
      const m = Math.min(batch, set.n - i);
      const pred = tf.tidy(() => tf.argMax(this.run(tf.tensor2d(set.images.subarray(i * PIXELS, (i + m) * PIXELS), [m, PIXELS])).logits, 1).dataSync());
      for (let j = 0; j < m; j++) if (pred[j] === set.labels[i + j]) correct++;
    }
    return correct / set.n;
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
    this.windows.dispose();
  }
}

/** Copies batch `idx` with a random horizontal flip and a random shift (zero fill) per image. */
function augmentedBatch(set: ImageSet, idx: Int32Array, shift: number, rng: Rng): Float32Array {
  const out = new Float32Array(idx.length * PIXELS);
  for (let b = 0; b < idx.length; b++) {
    const src = idx[b] * PIXELS;
    const flip = rng.uniform() < 0.5;
    const dy = shift ? rng.int(2 * shift + 1) - shift : 0;
    const dx = shift ? rng.int(2 * shift + 1) - shift : 0;
    for (let y = 0; y < SIDE; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= SIDE) continue;
      for (let x = 0; x < SIDE; x++) {
        let sx = x - dx;
        if (sx < 0 || sx >= SIDE) continue;
        if (flip) sx = SIDE - 1 - sx;
        out[b * PIXELS + y * SIDE + x] = set.images[src + sy * SIDE + sx];
      }
    }
  }
  return out;
}

/** What is known about a saved classifier. */
export interface FidClassifierInfo {
  /** The weight file. */
  file: string;
  /** SHA-256 (hex) of the weight file; its first 12 characters identify the classifier in results. */
  sha256: string;
  /** Hash of the config (the file name). */
  configHash: string;
  config: FidClassifierConfig;
  testAccuracy: number;
  trainSeconds: number;
  featureDim: number;
}


/** Training takes minutes: a live owner's lock is never stale before this; a dead owner's is broken at once. */
const FID_LOCK_STALE_MS = 6 * 3600_000;

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** The committed reference classifier (the default config's network). */
export const REFERENCE_FID_CLASSIFIER = {
  configHash: '10c42544c6e9',
  sha256: 'eaaa87ef900defea1a31e94a39659f009af4524c0a97a20070ef5069ce9ba956',
  testAccuracy: 0.9066,
  dir: path.join(REPO_ROOT, 'data', 'fid-classifier'),
} as const;

/** Where a config's classifier lives: `data/fid-classifier/fid-cnn-<hash>.{bin,json}`. */
export function fidClassifierFiles(config: FidClassifierConfig, dir = path.join(dataRoot(), 'fid-classifier')): { bin: string; json: string; lock: string } {
  const h = configHash({ kind: 'fid-cnn', ...config });
  const base = path.join(dir, `fid-cnn-${h}`);
  return { bin: `${base}.bin`, json: `${base}.json`, lock: `${base}.lock` };
}

/** Trains a classifier from scratch (deterministic given the config). */
export async function trainFidClassifier(config: FidClassifierConfig, log?: (msg: string) => void): Promise<{ model: FidClassifier; trainSeconds: number }> {
  const trainSet = loadFashionMnist('train');
  const model = new FidClassifier(config);
  const sampler = new BatchSampler(trainSet.n, config.batch, config.seed);
  const steps = config.epochs * sampler.batchesPerEpoch;
  const trainConfig: TrainConfig = {
    ...TRAIN_DEFAULTS,
    steps,
    schedule: { lr: config.lr, warmupFraction: 0.02, minRatio: 0 },
    optimizer: { ...TRAIN_DEFAULTS.optimizer, weightDecay: config.weightDecay },
    logEvery: sampler.batchesPerEpoch,
    checkpointEvery: 0,
  };
  const result = await train(
    trainConfig,
    {
      params: model.params,
      loss: (step) => {
        const idx = sampler.next();
        const rng = Rng.derive(config.seed, 'augment', step);
        const x = tf.tensor2d(augmentedBatch(trainSet, idx, config.shift, rng), [idx.length, PIXELS]);
        const y = tf.tensor1d(Array.from(idx, (i) => trainSet.labels[i]), 'int32');
        return model.loss(x, y, config.seed * 1000003 + step);
      },
    },
    { checkpointFile: null, log: (l) => log?.(`fid-classifier step ${l.step}/${steps}: loss ${Number(l.loss).toFixed(4)}`) },
  );
  result.dispose();
  return { model, trainSeconds: result.trainSeconds };
}

/**
 * The project's FID classifier for `config`: loaded from data/ (SHA-256 verified) or, when absent,
 * trained (minutes), checked to reach ≥ 90% test accuracy, and saved. Safe to call from several processes.
 */
export async function loadOrTrainFidClassifier(
  config: FidClassifierConfig = FID_CLASSIFIER_DEFAULTS,
  opts: { dir?: string; log?: (msg: string) => void; minAccuracy?: number } = {},
): Promise<{ model: FidClassifier; info: FidClassifierInfo }> {
  validateFidClassifier(config);
  const isReference = configHash({ kind: 'fid-cnn', ...config }) === REFERENCE_FID_CLASSIFIER.configHash;
  const retrain = process.env.REPRO_FID_RETRAIN === '1';
  if (isReference && opts.dir === undefined && !retrain) return loadReferenceFidClassifier(config);
  if (isReference && retrain && opts.dir === undefined) {
    opts = { ...opts, dir: path.join(dataRoot(), 'fid-classifier', 'retrained') };
    opts.log?.(`REPRO_FID_RETRAIN=1: retraining the reference FID classifier config into ${opts.dir}; its FIDs are not comparable with the committed ones`);
  }
  const files = fidClassifierFiles(config, opts.dir);
  fs.mkdirSync(path.dirname(files.bin), { recursive: true });
  const tryLoad = (): { model: FidClassifier; info: FidClassifierInfo } | null => {
    if (!fs.existsSync(files.bin) || !fs.existsSync(files.json)) return null;
    const info = JSON.parse(fs.readFileSync(files.json, 'utf8')) as FidClassifierInfo;
    const sha = sha256File(files.bin);
    if (sha !== info.sha256) throw new DataError(`FID classifier ${files.bin} has SHA-256 ${sha} but ${files.json} records ${info.sha256}; delete both to retrain`);
    const ck = loadCheckpoint(files.bin);
    if (!ck) return null;
    const model = new FidClassifier(config);
    restoreVariables(ck, model.params.map((p) => ({ name: p.name, variable: p.variable })), files.bin);
    return { model, info: { ...info, file: files.bin } };
  };
  const found = tryLoad();
  if (found) return found;
  // One process trains; the others wait for its files (a lock whose owner died is broken).
  let token: string | null;
  while (!(token = tryAcquireLock(files.lock, FID_LOCK_STALE_MS))) {
    await new Promise((r) => setTimeout(r, 2000));
    const other = tryLoad();
    if (other) return other;
  }
  try {
    const again = tryLoad();
    if (again) return again;
    opts.log?.(`training the FID classifier (${config.epochs} epochs, a few minutes of one core) -> ${files.bin}`);
    const { model, trainSeconds } = await trainFidClassifier(config, opts.log);
    const testAccuracy = model.accuracy(loadFashionMnist('test'));
    const min = opts.minAccuracy ?? 0.9;
    if (testAccuracy < min) {
      model.dispose();
      throw new DataError(`the FID classifier reached ${(100 * testAccuracy).toFixed(2)}% test accuracy; at least ${100 * min}% is required`);
    }
    saveCheckpoint(files.bin, model.params.map((p) => ({ name: p.name, tensor: p.variable })), { kind: 'fid-cnn' });
    const info: FidClassifierInfo = {
      file: files.bin,
      sha256: sha256File(files.bin),
      configHash: path.basename(files.bin, '.bin').replace('fid-cnn-', ''),
      config,
      testAccuracy,
      trainSeconds,
      featureDim: model.featureDim,
    };
    fs.writeFileSync(files.json, JSON.stringify(info, null, 1) + '\n');
    return { model, info };
  } finally {
    releaseLock(files.lock, token);
  }
}

/** Loads the committed reference classifier, verifying its SHA-256; a DataError when it is missing or altered. */
export function loadReferenceFidClassifier(
  config: FidClassifierConfig = FID_CLASSIFIER_DEFAULTS,
  dir: string = REFERENCE_FID_CLASSIFIER.dir,
): { model: FidClassifier; info: FidClassifierInfo } {
  const files = fidClassifierFiles(config, dir);
  const fix = `restore it with 'git checkout -- data/fid-classifier', or set REPRO_FID_RETRAIN=1 to train a new network (its FIDs are then not comparable with the committed ones)`;
  if (!fs.existsSync(files.bin)) throw new DataError(`the reference FID classifier ${files.bin} is missing; ${fix}`);
  const sha = sha256File(files.bin);
  if (sha !== REFERENCE_FID_CLASSIFIER.sha256) {
    throw new DataError(`the reference FID classifier ${files.bin} has SHA-256 ${sha}, not the committed ${REFERENCE_FID_CLASSIFIER.sha256}; ${fix}`);
  }
  let info: FidClassifierInfo;
  try {
    info = JSON.parse(fs.readFileSync(files.json, 'utf8')) as FidClassifierInfo;
  } catch (e) {
    throw new DataError(`the reference FID classifier's sidecar ${files.json} cannot be read (${(e as Error).message}); ${fix}`);
  }
  const ck = loadCheckpoint(files.bin)!;
  const model = new FidClassifier(config);
  restoreVariables(ck, model.params.map((p) => ({ name: p.name, variable: p.variable })), files.bin);
  return { model, info: { ...info, sha256: sha, file: files.bin } };
}
