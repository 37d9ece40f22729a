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
import { DeepPartial, PresetName } from '../../config';
import { checkNumber, checkOneOf, checkPositiveInt, ConfigError, show, checkSeeds } from '../../errors';
import { validateWiring, type WiringConfig } from '../../residual';
import { TrainConfig, TRAIN_DEFAULTS, validateTrain } from '../../train/loop';
import { validateTeacher, type TeacherConfig } from '../../data/teacher';
import type { RunSpec, Json } from '../../runner/types';

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

export const defaults: ResnetDepthConfig = {
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

export const presets: Record<PresetName, DeepPartial<ResnetDepthConfig>> = {
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

export function validate(c: ResnetDepthConfig): void {
  checkOneOf('task', c.task, RESNET_DEPTH_TASKS);
  if (c.task === 'teacher') validateTeacher(c.teacher);
  checkPositiveInt('width', c.width);
  checkNumber('layersPerBlock', c.layersPerBlock, { lo: 1, integer: true });
  if (!Array.isArray(c.sweep) || c.sweep.length === 0) throw new ConfigError(`sweep must be a non-empty list of {wiring, blocks}; got ${show(c.sweep)}`);
  c.sweep.forEach((e, i) => {
    if (typeof e !== 'object' || e === null) throw new ConfigError(`sweep[${i}] must be {wiring, blocks}; got ${show(e)}`);
    for (const k of Object.keys(e)) if (!['wiring', 'blocks', 'layers'].includes(k)) throw new ConfigError(`unknown key '${k}' in sweep[${i}]; expected wiring, blocks or layers`);
    validateWiring(e.wiring, `sweep[${i}].wiring`);
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
export function runs(c: ResnetDepthConfig): RunSpec[] {
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
