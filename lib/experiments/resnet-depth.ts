/**
 * `resnet-depth`: paper B's depth-efficiency claim (ANCRe, arXiv 2602.09009, Sec. 5.3): "a 16-layer ResNet
 * with ANCRe matches or beats a 4× deeper 64-layer baseline" (goal-conditioned RL there). Here: residual MLP
 * classifiers of the same shape as the paper's RL networks (lib/models/resmlp.ts) on Fashion-MNIST, ANCRe
 * (h_{l+1} = Block_l(h_l) + Σ_{i≤l} softmax(c_l/τ)_i h_i) at a few depths against standard residuals at depths
 * up to 4× deeper, identical data, steps and schedule. Rows = wiring × depth; each row at every seed.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import { DeepPartial, PresetName } from '../config';
import { checkNumber, checkPositiveInt, ConfigError, show, checkSeeds } from '../errors';
import { BatchSampler, BatchSamplerState, gatherImages, gatherLabels, limitSet, loadFashionMnist } from '../data';
import { ResMlpClassifier } from '../models/resmlp';
import { validateWiring, type WiringConfig } from '../residual';
import type { RunRecord } from '../report/runs';
import { train, TrainConfig, TRAIN_DEFAULTS, validateTrain } from '../train/loop';
import type { Experiment, RunResult, RunSpec, RunContext, Json } from './types';

/** One wiring and the depths (in blocks) it runs at. */
export interface DepthSweepEntry {
  /** The trunk's wiring, e.g. `{ kind: 'ancre', tau: 0.01 }` or `{ kind: 'residual' }`. */
  wiring: WiringConfig;
  /** Depths K in residual blocks. */
  blocks: number[];
}

export interface ResnetDepthConfig {
  /** Width W of the residual stream and of every hidden layer. */
  width: number;
  /** Dense → LayerNorm → swish layers per residual block (the official RL code: 4). */
  layersPerBlock: number;
  /** The rows: each wiring at each of its depths. */
  sweep: DepthSweepEntry[];
  /** Training images used (the first N of the 60,000). */
  trainExamples: number;
  /** Test images for accuracy (the first N of the 10,000). */
  testExamples: number;
  /** Minibatch size. */
  batch: number;
  /** Seeds: one run per row each (model init and batch order). */
  seeds: number[];
  /** The training loop's settings (identical for every row). */
  train: TrainConfig;
}

/** What one run's `config` holds (the sweep resolved to one wiring and one depth). */
export interface ResnetDepthRunConfig {
  width: number;
  layersPerBlock: number;
  blocks: number;
  wiring: WiringConfig;
  trainExamples: number;
  testExamples: number;
  batch: number;
  train: TrainConfig;
}

const defaults: ResnetDepthConfig = {
  width: 128,
  layersPerBlock: 1,
  sweep: [
    { wiring: { kind: 'ancre', tau: 0.01 }, blocks: [4, 8, 16] },
    { wiring: { kind: 'residual' }, blocks: [4, 8, 16, 32, 64] },
    // The official RL scripts also run τ = 0.1.
    { wiring: { kind: 'ancre', tau: 0.1 }, blocks: [4, 8, 16] },
  ],
  trainExamples: 60000,
  testExamples: 10000,
  batch: 128,
  seeds: [0, 1],
  train: {
    ...TRAIN_DEFAULTS,
    steps: 1500,
    schedule: { lr: 1e-3, warmupFraction: 0.05, minRatio: 0 },
    // The official RL code uses Adam without weight decay.
    optimizer: { ...TRAIN_DEFAULTS.optimizer, weightDecay: 0 },
    logEvery: 25,
    checkpointEvery: 250,
  },
};

const presets: Record<PresetName, DeepPartial<ResnetDepthConfig>> = {
  smoke: {
    width: 32,
    sweep: [
      { wiring: { kind: 'ancre', tau: 0.01 }, blocks: [2] },
      { wiring: { kind: 'residual' }, blocks: [2, 4] },
    ],
    trainExamples: 2000,
    testExamples: 1000,
    seeds: [0],
    train: { steps: 60, logEvery: 10, checkpointEvery: 30 },
  },
  // Sized on this machine (2 shared cores, wasm + OpenBLAS, one worker): see notebooks/04-resnet-depth.ipynb.
  cpu: {},
  // The official RL networks (zhangyilang/ANCRe rl/train.py): width 256, blocks of 4 Dense-LN-swish layers,
  // depth counted in layers (64 layers = 16 blocks), Adam lr 3e-4, batch 512. The RL training length does not
  // transfer to classification; 10k steps is our choice.
  paper: {
    width: 256,
    layersPerBlock: 4,
    sweep: [
      { wiring: { kind: 'ancre', tau: 0.01 }, blocks: [2, 4, 8] },
      { wiring: { kind: 'residual' }, blocks: [1, 2, 4, 8, 16] },
    ],
    batch: 512,
    seeds: [0, 1, 2],
    train: { steps: 10000, schedule: { lr: 3e-4, warmupFraction: 0.05, minRatio: 0 }, logEvery: 50, checkpointEvery: 1000 },
  },
};

function validate(c: ResnetDepthConfig): void {
  checkPositiveInt('width', c.width);
  checkNumber('layersPerBlock', c.layersPerBlock, { lo: 1, integer: true });
  if (!Array.isArray(c.sweep) || c.sweep.length === 0) throw new ConfigError(`sweep must be a non-empty list of {wiring, blocks}; got ${show(c.sweep)}`);
  c.sweep.forEach((e, i) => {
    if (typeof e !== 'object' || e === null) throw new ConfigError(`sweep[${i}] must be {wiring, blocks}; got ${show(e)}`);
    for (const k of Object.keys(e)) if (k !== 'wiring' && k !== 'blocks') throw new ConfigError(`unknown key '${k}' in sweep[${i}]; expected wiring, blocks`);
    validateWiring(e.wiring);
    if (!Array.isArray(e.blocks) || e.blocks.length === 0) throw new ConfigError(`sweep[${i}].blocks must be a non-empty list of depths; got ${show(e.blocks)}`);
    e.blocks.forEach((b, j) => checkNumber(`sweep[${i}].blocks[${j}] (depth in blocks)`, b, { lo: 1, integer: true }));
  });
  checkNumber('trainExamples', c.trainExamples, { lo: 1, hi: 60000, integer: true });
  checkNumber('testExamples', c.testExamples, { lo: 1, hi: 10000, integer: true });
  checkNumber('batch', c.batch, { lo: 1, hi: c.trainExamples, integer: true });
  if (!Array.isArray(c.seeds) || c.seeds.length === 0) throw new ConfigError(`seeds must be a non-empty list of integers; got ${show(c.seeds)}`);
  checkSeeds(c.seeds);
  validateTrain(c.train);
}

/** The row's wiring as a label: `ancre τ=0.01`, `residual`. */
export function wiringLabel(w: WiringConfig): string {
  return w.kind === 'ancre' ? `ancre τ=${w.tau ?? 0.01}${w.normalisation === 'outgoing' ? ' outgoing' : ''}` : w.kind;
}

/** Seed-major order: a session cut short still holds every row at the first seed. */
function runs(c: ResnetDepthConfig): RunSpec[] {
  const out: RunSpec[] = [];
  for (const seed of c.seeds) {
    for (const e of c.sweep) {
      for (const blocks of e.blocks) {
        const config: ResnetDepthRunConfig = {
          width: c.width,
          layersPerBlock: c.layersPerBlock,
          blocks,
          wiring: e.wiring,
          trainExamples: c.trainExamples,
          testExamples: c.testExamples,
          batch: c.batch,
          train: c.train,
        };
        out.push({ row: `${wiringLabel(e.wiring)} · ${blocks} blocks`, seed, config: config as unknown as { [k: string]: Json } });
      }
    }
  }
  return out;
}

async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const c = spec.config as unknown as ResnetDepthRunConfig;
  const trainSet = limitSet(loadFashionMnist('train'), c.trainExamples);
  const testSet = limitSet(loadFashionMnist('test'), c.testExamples);
  const P = trainSet.height * trainSet.width;
  const model = new ResMlpClassifier(
    { inputs: P, width: c.width, blocks: c.blocks, layersPerBlock: c.layersPerBlock, classes: trainSet.classes.length, wiring: c.wiring },
    spec.seed,
  );
  let sampler = new BatchSampler(trainSet.n, c.batch, spec.seed);
  try {
    const cpu0 = process.cpuUsage();
    const result = await train(
      c.train,
      {
        params: model.params,
        loss: () => {
          const idx = sampler.next();
          const x = tf.tensor2d(gatherImages(trainSet, idx), [idx.length, P]); // [B, P]
          const y = tf.tensor1d(gatherLabels(trainSet, idx), 'int32'); // [B]
          return model.loss(x, y);
        },
        getState: () => sampler.state() as unknown as Json,
        setState: (s) => {
          sampler = BatchSampler.fromState(s as unknown as BatchSamplerState);
        },
      },
      { checkpointFile: path.join(ctx.checkpointDir, 'ckpt.bin'), progress: ctx.progress, log: ctx.log },
    );
    const cpu = process.cpuUsage(cpu0);
    const stepsThisSession = c.train.steps - (result.resumedFrom ?? 0);
    const testAccuracy = model.accuracy(testSet.images, testSet.labels);
    const nTrainEval = Math.min(trainSet.n, 10000);
    const trainAccuracy = model.accuracy(trainSet.images.subarray(0, nTrainEval * P), trainSet.labels.subarray(0, nTrainEval));
    const coefficients = model.wiring.coefficients();
    const overhead = model.wiring.overhead();
    result.dispose();
    const { step, loss } = result.history;
    return {
      metrics: {
        wiring: wiringLabel(c.wiring),
        blocks: c.blocks,
        layers: c.blocks * c.layersPerBlock,
        testAccuracy,
        trainAccuracy,
        finalLoss: loss[loss.length - 1],
        params: model.paramCount(),
        wiringParams: overhead.trainable,
        msPerStep: (1000 * result.trainSeconds) / c.train.steps,
        // One core's CPU time per step in this session (wall time is inflated when the cores are shared).
        cpuMsPerStep: stepsThisSession > 0 ? (cpu.user + cpu.system) / 1000 / stepsThisSession : null,
        trainSeconds: result.trainSeconds,
      },
      history: { step, loss },
      extra: { routing: coefficients, wiringDescription: model.wiring.describe() },
    };
  } finally {
    model.dispose();
  }
}

export const experiment: Experiment<ResnetDepthConfig> = {
  name: 'resnet-depth',
  title: 'Depth efficiency: shallow ANCRe residual MLPs against deeper standard residual MLPs on Fashion-MNIST',
  defaults,
  presets,
  data: ['fashion-mnist'],
  validate,
  runs,
  runOne,
};

// ---------------------------------------------------------------------------------------------
// Tables and the verdict, from runs.jsonl records (never from notebook state)
// ---------------------------------------------------------------------------------------------

/** Mean and sample std (null for fewer than 2 values). */
function meanStd(xs: number[]): { mean: number; std: number | null } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : null;
  return { mean, std };
}

/** One row per wiring × depth: accuracy (mean ± std over seeds) and the cost columns. */
export interface DepthRow {
  wiring: string;
  blocks: number;
  layers: number;
  seeds: number;
  accMean: number;
  accStd: number | null;
  lossMean: number;
  params: number;
  msPerStep: number;
  cpuMsPerStep: number | null;
}

export function depthRows(records: RunRecord[]): DepthRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = `${r.metrics.wiring}|${r.metrics.blocks}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: DepthRow[] = [];
  for (const rs of groups.values()) {
    const m = rs[0].metrics;
    const num = (k: string) => rs.map((r) => r.metrics[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const acc = meanStd(num('testAccuracy'));
    const cpu = num('cpuMsPerStep');
    rows.push({
      wiring: String(m.wiring),
      blocks: Number(m.blocks),
      layers: Number(m.layers),
      seeds: rs.length,
      accMean: acc.mean,
      accStd: acc.std,
      lossMean: meanStd(num('finalLoss')).mean,
      params: Number(m.params),
      msPerStep: meanStd(num('msPerStep')).mean,
      cpuMsPerStep: cpu.length ? meanStd(cpu).mean : null,
    });
  }
  return rows.sort((a, b) => (a.wiring === b.wiring ? a.blocks - b.blocks : a.wiring < b.wiring ? -1 : 1));
}

export interface Verdict {
  /** True when shallow ANCRe's mean accuracy ≥ the deep baseline's mean accuracy. */
  matches: boolean;
  /** Within one pooled std of the seeds (a tie at this number of seeds). */
  withinNoise: boolean;
  shallow: DepthRow;
  deep: DepthRow;
  text: string;
}

/**
 * The paper's claim on this table: does the `ancre` row (a wiring label) at `shallowBlocks` match or beat the
 * `baseline` row at `deepBlocks` (4× deeper)? Null when either row is missing.
 */
export function depthVerdict(
  rows: DepthRow[],
  shallowBlocks: number,
  deepBlocks: number,
  ancre = 'ancre τ=0.01',
  baseline = 'residual',
): Verdict | null {
  const shallow = rows.find((r) => r.wiring === ancre && r.blocks === shallowBlocks);
  const deep = rows.find((r) => r.wiring === baseline && r.blocks === deepBlocks);
  if (!shallow || !deep) return null;
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const sd = (x: number | null) => (x === null ? '' : ` ± ${(100 * x).toFixed(2)}`);
  const diff = shallow.accMean - deep.accMean;
  const pooled = Math.sqrt(((shallow.accStd ?? 0) ** 2 + (deep.accStd ?? 0) ** 2) / 2);
  const matches = diff >= 0;
  const withinNoise = Math.abs(diff) <= pooled;
  const speed = deep.msPerStep / shallow.msPerStep;
  const text =
    `${matches ? 'Yes' : 'No'}: ${shallow.wiring} with ${shallow.blocks} blocks reaches ${pct(shallow.accMean)}${sd(shallow.accStd)} test accuracy, ` +
    `${baseline} with ${deep.blocks} blocks ${pct(deep.accMean)}${sd(deep.accStd)} (difference ${diff >= 0 ? '+' : ''}${(100 * diff).toFixed(2)} points, ` +
    `${withinNoise ? 'within' : 'outside'} one seed std of ${(100 * pooled).toFixed(2)}), ` +
    `with ${(deep.params / shallow.params).toFixed(1)}× fewer parameters and ${speed.toFixed(1)}× less time per step.`;
  return { matches, withinNoise, shallow, deep, text };
}
