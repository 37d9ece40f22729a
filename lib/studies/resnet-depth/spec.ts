/**
 * `resnet-depth`: paper B's depth-efficiency claim (ANCRe, arXiv 2602.09009, Sec. 5.3): "a 16-layer ResNet
 * with ANCRe matches or beats a 4× deeper 64-layer baseline" (goal-conditioned RL there). Residual MLPs of the
 * shape of the paper's RL networks (lib/models/resmlp.ts; official rl/train.py: width 256, blocks of 4
 * Dense–LayerNorm–swish layers, ANCRe over depth/4 blocks), ANCRe (h_{l+1} = Block_l(h_l) + Σ_{i≤l}
 * softmax(c_l/τ)_i h_i) at 16 layers against standard residuals at 16, 32 and 64 layers; identical data, steps
 * and schedule. Rows = wiring × depth; each row at every seed.
 *
 * Tasks: 'teacher' (the cpu preset: regression onto a deep random tanh network, lib/data/teacher.ts, a task
 * chosen because a residual baseline can gain from depth on it) and 'fashion-mnist' (the first study: one-layer
 * blocks on Fashion-MNIST, where the residual baseline was flat from 4 to 64 blocks; its records stay).
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import { DeepPartial, PresetName } from '../../config';
import { checkNumber, checkOneOf, checkPositiveInt, ConfigError, show, checkSeeds } from '../../errors';
import { BatchSampler, BatchSamplerState, gatherImages, gatherLabels, limitSet, loadFashionMnist } from '../../data';
import { ResMlpClassifier } from '../../models/resmlp';
import { validateWiring, type WiringConfig } from '../../residual';
import type { RunRecord } from '../../runner/store/runs';
import { train, TrainConfig, TRAIN_DEFAULTS, validateTrain } from '../../train/loop';
import { Teacher, teacherInputs, validateTeacher, type TeacherConfig } from '../../data/teacher';
import type { Experiment, RunResult, RunSpec, RunContext, Json } from '../../runner/types';

/** One wiring and the depths it runs at: in blocks (`blocks`) or in Dense layers (`layers`, the official count). */
export interface DepthSweepEntry {
  /** The trunk's wiring, e.g. `{ kind: 'ancre', tau: 0.01 }` or `{ kind: 'residual' }`. */
  wiring: WiringConfig;
  /** Depths K in residual blocks (give this or `layers`). */
  blocks?: number[];
  /** Depths in Dense layers, each a multiple of layersPerBlock (ANCRe routes layers / layersPerBlock blocks). */
  layers?: number[];
}

/** The task: 'teacher' (deep random tanh network regression) or 'fashion-mnist' (10-class images). */
export type ResnetDepthTask = 'teacher' | 'fashion-mnist';
export const RESNET_DEPTH_TASKS: readonly ResnetDepthTask[] = ['teacher', 'fashion-mnist'];

export interface ResnetDepthConfig {
  /** The task (see the file header). */
  task: ResnetDepthTask;
  /** The teacher network of the 'teacher' task (ignored otherwise). */
  teacher: TeacherConfig;
  /** Width W of the residual stream and of every hidden layer. */
  width: number;
  /** Dense → LayerNorm → swish layers per residual block (the official RL code: 4). */
  layersPerBlock: number;
  /** The rows: each wiring at each of its depths. */
  sweep: DepthSweepEntry[];
  /** Training images used (the first N of the 60,000); the teacher task draws fresh inputs every step instead. */
  trainExamples: number;
  /** Test images for accuracy (the first N of the 10,000), or test inputs of the teacher task. */
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
  /** Absent in the records of the Fashion-MNIST study. */
  task?: ResnetDepthTask;
  teacher?: TeacherConfig;
  width: number;
  layersPerBlock: number;
  blocks: number;
  wiring: WiringConfig;
  trainExamples: number;
  testExamples: number;
  batch: number;
  train: TrainConfig;
}

/**
 * The teacher of the cpu preset: 16 inputs, 64 tanh layers of width 64 at gain 1.0 (the edge of chaos), 4 outputs
 * (see lib/data/teacher.ts). The first teacher study used 16 layers at gain 1.5 (FIRST_TEACHER in ./resnet-depth-search.ts).
 */
export const CPU_TEACHER: TeacherConfig = { inputs: 16, width: 64, depth: 64, gain: 1.0, outputs: 4, seed: 1000 };

const defaults: ResnetDepthConfig = {
  task: 'fashion-mnist',
  teacher: CPU_TEACHER,
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
  // The teacher task (the cpu preset's path) at toy size; the Fashion-MNIST path is `{ task: 'fashion-mnist' }`.
  smoke: {
    task: 'teacher',
    teacher: { inputs: 8, width: 16, depth: 4, gain: 1.2, outputs: 2, seed: 3 },
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
  // The official shape on the teacher task: ANCRe at 16 layers (4 blocks of 4) against residual at 16/32/64.
  // The teacher and the width come from the depth search (lib/studies/resnet-depth/search.ts): at width 256
  // the residual network fitted no better at 64 layers than at 16 on any teacher tried; a student of width 32
  // on a 64-layer teacher at the edge of chaos did (one-seed pilot: test MSE 0.0635 → 0.0554, −13 %).
  // 15 runs, about 50 min of one core (see notebooks/04-resnet-depth.ipynb).
  cpu: {
    task: 'teacher',
    teacher: CPU_TEACHER,
    width: 32,
    layersPerBlock: 4,
    sweep: [
      { wiring: { kind: 'residual' }, layers: [16, 32, 64] },
      { wiring: { kind: 'ancre', tau: 0.01 }, layers: [16] },
      { wiring: { kind: 'ancre', tau: 0.1 }, layers: [16] },
    ],
    testExamples: 4096,
    batch: 256,
    seeds: [0, 1, 2],
    train: { steps: 4000, schedule: { lr: 1e-3, warmupFraction: 0.05, minRatio: 0 }, logEvery: 25, checkpointEvery: 500 },
  },
  // The official RL networks (zhangyilang/ANCRe rl/train.py): width 256, blocks of 4 Dense-LN-swish layers,
  // depth counted in layers (64 layers = 16 blocks), Adam lr 3e-4, batch 512. The RL training length does not
  // transfer to classification; 10k steps is our choice.
  paper: {
    task: 'teacher',
    width: 256,
    layersPerBlock: 4,
    sweep: [
      { wiring: { kind: 'residual' }, layers: [16, 32, 64] },
      { wiring: { kind: 'ancre', tau: 0.01 }, layers: [16, 32] },
      { wiring: { kind: 'ancre', tau: 0.1 }, layers: [16, 32] },
    ],
    testExamples: 16384,
    batch: 512,
    seeds: [0, 1, 2],
    train: { steps: 10000, schedule: { lr: 3e-4, warmupFraction: 0.05, minRatio: 0 }, logEvery: 50, checkpointEvery: 1000 },
  },
};

/** Overrides of the cpu preset that give back the first study (Fashion-MNIST, one-layer blocks), whose records stay. */
export const FASHION_STUDY: DeepPartial<ResnetDepthConfig> = {
  task: 'fashion-mnist',
  width: defaults.width,
  layersPerBlock: defaults.layersPerBlock,
  sweep: defaults.sweep,
  testExamples: defaults.testExamples,
  batch: defaults.batch,
  seeds: defaults.seeds,
  train: defaults.train,
};

function validate(c: ResnetDepthConfig): void {
  checkOneOf('task', c.task, RESNET_DEPTH_TASKS);
  if (c.task === 'teacher') validateTeacher(c.teacher);
  checkPositiveInt('width', c.width);
  checkNumber('layersPerBlock', c.layersPerBlock, { lo: 1, integer: true });
  if (!Array.isArray(c.sweep) || c.sweep.length === 0) throw new ConfigError(`sweep must be a non-empty list of {wiring, blocks}; got ${show(c.sweep)}`);
  c.sweep.forEach((e, i) => {
    if (typeof e !== 'object' || e === null) throw new ConfigError(`sweep[${i}] must be {wiring, blocks}; got ${show(e)}`);
    for (const k of Object.keys(e)) if (!['wiring', 'blocks', 'layers'].includes(k)) throw new ConfigError(`unknown key '${k}' in sweep[${i}]; expected wiring, blocks or layers`);
    validateWiring(e.wiring);
    if ((e.blocks === undefined) === (e.layers === undefined)) throw new ConfigError(`sweep[${i}] must give exactly one of blocks (depths in blocks) or layers (depths in Dense layers)`);
    if (e.layers !== undefined) {
      if (!Array.isArray(e.layers) || e.layers.length === 0) throw new ConfigError(`sweep[${i}].layers must be a non-empty list of depths; got ${show(e.layers)}`);
      e.layers.forEach((n, j) => {
        checkNumber(`sweep[${i}].layers[${j}] (depth in layers)`, n, { lo: 1, integer: true });
        if (n % c.layersPerBlock !== 0) {
          throw new ConfigError(`sweep[${i}].layers[${j}] = ${n} is not a multiple of layersPerBlock ${c.layersPerBlock}: the block size must divide the depth`);
        }
      });
    } else {
      if (!Array.isArray(e.blocks) || e.blocks.length === 0) throw new ConfigError(`sweep[${i}].blocks must be a non-empty list of depths; got ${show(e.blocks)}`);
      e.blocks.forEach((b, j) => checkNumber(`sweep[${i}].blocks[${j}] (depth in blocks)`, b, { lo: 1, integer: true }));
    }
  });
  checkNumber('trainExamples', c.trainExamples, { lo: 1, hi: 60000, integer: true });
  checkNumber('testExamples', c.testExamples, { lo: 1, hi: c.task === 'teacher' ? 1 << 20 : 10000, integer: true });
  checkNumber('batch', c.batch, { lo: 1, hi: c.task === 'teacher' ? 1 << 16 : c.trainExamples, integer: true });
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
      for (const blocks of e.blocks ?? e.layers!.map((n) => n / c.layersPerBlock)) {
        const config: ResnetDepthRunConfig = {
          // The Fashion-MNIST study's run configs had no task field: keep their run ids.
          ...(c.task === 'teacher' ? { task: c.task, teacher: c.teacher } : {}),
          width: c.width,
          layersPerBlock: c.layersPerBlock,
          blocks,
          wiring: e.wiring,
          trainExamples: c.trainExamples,
          testExamples: c.testExamples,
          batch: c.batch,
          train: c.train,
        };
        const row = c.layersPerBlock > 1 ? `${wiringLabel(e.wiring)} · ${blocks * c.layersPerBlock} layers` : `${wiringLabel(e.wiring)} · ${blocks} blocks`;
        out.push({ row, seed, config: config as unknown as { [k: string]: Json } });
      }
    }
  }
  return out;
}

async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const c = spec.config as unknown as ResnetDepthRunConfig;
  return c.task === 'teacher' ? runTeacher(spec, c, ctx) : runFashion(spec, c, ctx);
}

/** The teacher task: fresh inputs each step (seeded by the run's seed and the step), MSE on standardised targets. */
async function runTeacher(spec: RunSpec, c: ResnetDepthRunConfig, ctx: RunContext): Promise<RunResult> {
  const t = c.teacher!;
  const teacher = new Teacher(t);
  // Test inputs from the teacher's seed: the same test set for every run of the study.
  const testX = teacherInputs(t.inputs, c.testExamples, t.seed + 2);
  const testY = teacher.targets(testX);
  const model = new ResMlpClassifier({ inputs: t.inputs, width: c.width, blocks: c.blocks, layersPerBlock: c.layersPerBlock, classes: t.outputs, wiring: c.wiring }, spec.seed);
  const mse = (x: tf.Tensor2D, y: tf.Tensor2D) => tf.tidy(() => tf.mean(tf.square(tf.sub(model.logits(x), y))) as tf.Scalar);
  const testMse = () =>
    tf.tidy(() => mse(tf.tensor2d(testX, [c.testExamples, t.inputs]), tf.tensor2d(testY, [c.testExamples, t.outputs])).dataSync()[0]);
  try {
    const cpu0 = process.cpuUsage();
    const result = await train(
      c.train,
      {
        params: model.params,
        loss: (step) => {
          // Batch `step` of seed s is drawn from (s, step) alone: a resumed run sees the same batches.
          const x = teacherInputs(t.inputs, c.batch, 1_000_003 * (spec.seed + 1) + step);
          const y = teacher.targets(x);
          return tf.tidy(() => mse(tf.tensor2d(x, [c.batch, t.inputs]), tf.tensor2d(y, [c.batch, t.outputs])));
        },
        evaluate: { every: Math.max(c.train.logEvery, Math.floor(c.train.steps / 12 / c.train.logEvery) * c.train.logEvery), fn: () => ({ testMse: testMse() }) },
      },
      { checkpointFile: path.join(ctx.checkpointDir, 'ckpt.bin'), progress: ctx.progress, log: ctx.log },
    );
    const cpu = process.cpuUsage(cpu0);
    const stepsThisSession = c.train.steps - (result.resumedFrom ?? 0);
    const overhead = model.wiring.overhead();
    const coefficients = model.wiring.coefficients();
    result.dispose();
    const { step, loss } = result.history;
    return {
      metrics: {
        task: 'teacher',
        wiring: wiringLabel(c.wiring),
        blocks: c.blocks,
        layers: c.blocks * c.layersPerBlock,
        testMse: result.evals.testMse[result.evals.testMse.length - 1],
        finalLoss: loss[loss.length - 1],
        params: model.paramCount(),
        wiringParams: overhead.trainable,
        msPerStep: (1000 * result.trainSeconds) / c.train.steps,
        cpuMsPerStep: stepsThisSession > 0 ? (cpu.user + cpu.system) / 1000 / stepsThisSession : null,
        trainSeconds: result.trainSeconds,
      },
      history: { step, loss, evalStep: result.evals.step, testMse: result.evals.testMse },
      extra: { routing: coefficients, wiringDescription: model.wiring.describe() },
    };
  } finally {
    model.dispose();
  }
}

async function runFashion(spec: RunSpec, c: ResnetDepthRunConfig, ctx: RunContext): Promise<RunResult> {
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
  /** Test accuracy (Fashion-MNIST; NaN for the teacher task). */
  accMean: number;
  accStd: number | null;
  /** Test MSE on standardised targets (teacher task; null for Fashion-MNIST). Lower is better. */
  mseMean: number | null;
  mseStd: number | null;
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
    const mseVals = num('testMse');
    const mse = mseVals.length ? meanStd(mseVals) : null;
    const cpu = num('cpuMsPerStep');
    rows.push({
      wiring: String(m.wiring),
      blocks: Number(m.blocks),
      layers: Number(m.layers),
      seeds: rs.length,
      accMean: acc.mean,
      accStd: acc.std,
      mseMean: mse ? mse.mean : null,
      mseStd: mse ? mse.std : null,
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
  if (shallow.mseMean !== null && deep.mseMean !== null) return mseVerdict(shallow, deep, baseline);
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

function mseVerdict(shallow: DepthRow, deep: DepthRow, baseline: string): Verdict {
  const sd = (x: number | null) => (x === null ? '' : ` ± ${x.toPrecision(3)}`);
  const diff = shallow.mseMean! - deep.mseMean!;
  const pooled = Math.sqrt(((shallow.mseStd ?? 0) ** 2 + (deep.mseStd ?? 0) ** 2) / 2);
  const matches = diff <= 0;
  const withinNoise = Math.abs(diff) <= pooled;
  const text =
    `${matches ? 'Yes' : 'No'}: ${shallow.wiring} with ${shallow.layers} layers reaches test MSE ${shallow.mseMean!.toPrecision(3)}${sd(shallow.mseStd)}, ` +
    `${baseline} with ${deep.layers} layers ${deep.mseMean!.toPrecision(3)}${sd(deep.mseStd)} (difference ${diff >= 0 ? '+' : ''}${diff.toPrecision(3)}, ` +
    `${withinNoise ? 'within' : 'outside'} one seed std of ${pooled.toPrecision(3)}), ` +
    `with ${(deep.params / shallow.params).toFixed(1)}× fewer parameters and ${(deep.msPerStep / shallow.msPerStep).toFixed(1)}× less time per step.`;
  return { matches, withinNoise, shallow, deep, text };
}

/** Does the residual baseline gain from depth? Each deeper row against the next shallower one, beyond seed spread. */
export interface BaselineDepthCheck {
  /** True when every step deeper lowers the test MSE (or raises accuracy) by more than the larger seed std. */
  gains: boolean;
  /**
   * True when the deepest row beats the shallowest by more than the larger seed std: the pair a depth-efficiency
   * claim compares (shallow ANCRe against the deep residual net is a test only where this depth gain exists).
   */
  endGains: boolean;
  text: string;
}

export function baselineDepthCheck(rows: DepthRow[], baseline = 'residual'): BaselineDepthCheck | null {
  const rs = rows.filter((r) => r.wiring === baseline).sort((a, b) => a.layers - b.layers);
  if (rs.length < 2) return null;
  const mse = rs[0].mseMean !== null;
  const val = (r: DepthRow) => (mse ? r.mseMean! : r.accMean);
  const sd = (r: DepthRow) => (mse ? r.mseStd : r.accStd);
  const f = (x: number) => (mse ? x.toPrecision(3) : `${(100 * x).toFixed(2)}%`);
  const steps: string[] = [];
  let gains = true;
  for (let i = 1; i < rs.length; i++) {
    const [a, b] = [rs[i - 1], rs[i]];
    const better = mse ? val(b) < val(a) : val(b) > val(a);
    const noise = Math.max(sd(a) ?? NaN, sd(b) ?? NaN);
    const beyond = Number.isFinite(noise) && Math.abs(val(b) - val(a)) > noise;
    if (!(better && beyond)) gains = false;
    steps.push(`${a.layers} → ${b.layers} layers: ${f(val(a))} → ${f(val(b))} (${better ? 'better' : 'worse'}, ${Number.isFinite(noise) ? `${beyond ? 'beyond' : 'within'} the seed std ${mse ? noise.toPrecision(3) : (100 * noise).toFixed(2)}` : 'one seed: no spread'})`);
  }
  const what = mse ? 'test MSE' : 'test accuracy';
  const [lo, hi] = [rs[0], rs[rs.length - 1]];
  const endBetter = mse ? val(hi) < val(lo) : val(hi) > val(lo);
  const endNoise = Math.max(sd(lo) ?? NaN, sd(hi) ?? NaN);
  const endBeyond = Number.isFinite(endNoise) && Math.abs(val(hi) - val(lo)) > endNoise;
  const endGains = endBetter && endBeyond;
  const end =
    rs.length > 2
      ? ` From the shallowest to the deepest (${lo.layers} → ${hi.layers} layers): ${f(val(lo))} → ${f(val(hi))} (${endBetter ? 'better' : 'worse'}, ` +
        `${Number.isFinite(endNoise) ? `${endBeyond ? 'beyond' : 'within'} the seed std ${mse ? endNoise.toPrecision(3) : (100 * endNoise).toFixed(2)}` : 'one seed: no spread'}).`
      : '';
  return { gains, endGains, text: `${gains ? 'Yes' : 'No'}, the ${baseline} baseline ${gains ? 'gains' : 'does not gain'} from depth in ${what} at every step: ${steps.join('; ')}.${end}` };
}

/**
 * How much of the residual network's depth gain a shallow wiring recovers: (residual@shallow − wiring@shallow) /
 * (residual@shallow − residual@deep), on test MSE (or accuracy, sign-adjusted). 1 = matches the deep residual net,
 * 0 = no better than the residual net of its own depth. Null when a row is missing or residual gained nothing.
 */
export function depthGapClosed(rows: DepthRow[], wiring: string, shallowLayers: number, deepLayers: number, baseline = 'residual'): { fraction: number; text: string } | null {
  const find = (w: string, layers: number) => rows.find((r) => r.wiring === w && r.layers === layers);
  const [s, rs, rd] = [find(wiring, shallowLayers), find(baseline, shallowLayers), find(baseline, deepLayers)];
  if (!s || !rs || !rd) return null;
  const mse = s.mseMean !== null && rs.mseMean !== null && rd.mseMean !== null;
  const v = (r: DepthRow) => (mse ? -r.mseMean! : r.accMean);
  const gain = v(rd) - v(rs);
  if (!(gain > 0)) return null;
  const fraction = (v(s) - v(rs)) / gain;
  return {
    fraction,
    text: `${wiring} at ${shallowLayers} layers recovers ${(100 * fraction).toFixed(0)} % of the gain the ${baseline} network makes from ${shallowLayers} to ${deepLayers} layers (means over seeds).`,
  };
}
