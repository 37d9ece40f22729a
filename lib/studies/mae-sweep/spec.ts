/**
 * `mae-sweep`: paper A's headline table, "Residual Connections Harm Generative Representation Learning"
 * (arXiv 2404.10947), on Fashion-MNIST: an MAE whose ViT encoder uses decayed identity shortcuts
 * x_{k+1} = α_k x_k + f_k(x_k), α_k = 1 − (1 − α_min)·k/(2L − 1), swept over α_min, with the paper's
 * comparison rows (√0.5 scaling, learnable α, no encoder→decoder skips) and ANCRe (paper B, arXiv
 * 2602.09009) as an extra row. Each run reports kNN and linear-probe accuracy of the frozen features
 * (mean over tokens of the last encoder block, no final norm), α_eff = ∏ α_k, the effective rank of the
 * final features and of every block's output, and keeps its training curve and the effective rank at a
 * few points during training — everything the `rank` experiment reads (it needs no checkpoint).
 */
import * as fs from 'fs';
import { imageFolderKey } from '../../data/imagefolder';
import { DeepPartial, PresetName } from '../../config';
import { checkNumber, checkPositiveInt, ConfigError, checkSeeds, checkKeys } from '../../errors';
import { MAE_DEFAULTS, MAE_PRESETS, validateMae, type MaeConfig } from '../../models/mae';
import { validateProbe, KNN_DEFAULTS, PROBE_DEFAULTS, type ProbeConfig } from '../../metrics';
import { validateWiring, type WiringConfig } from '../../residual';
import { TrainConfig, TRAIN_DEFAULTS, validateTrain, withoutUnitAccum } from '../../train/loop';
import type { Json, RunSpec } from '../../runner/types';
import { baselineOf, BASELINE_KINDS, BASELINE_ROWS, type BaselineKind } from '../shared/frozen-features';

/** One table row: how the encoder is wired, and whether the decoder gets the encoder→decoder skips. */
export interface MaeSweepRow {
  /** Row label in the table, e.g. `α_min=0.6`. */
  name: string;
  /** The encoder's wiring. */
  wiring: WiringConfig;
  /** Encoder→decoder skips (paper A's decoder); false = the standard MAE decoder input. */
  skips: boolean;
  /** A baseline row (raw pixels, or the encoder at its init) evaluated without training; absent on MAE rows. */
  baseline?: BaselineKind;
}

export interface MaeSweepConfig {
  /** Dataset: Fashion-MNIST (28×28, 1 channel); the paper preset names an ImageNet folder. */
  data: { kind: 'fashion-mnist' | 'imagenet-folder'; dir: string };
  /** The MAE; each row replaces `encoder.wiring` and `skips`, each seed `encoder.seed`. */
  model: MaeConfig;
  /** The rows of the table. */
  rows: MaeSweepRow[];
  /** Training images (the first N of the 60,000). */
  trainExamples: number;
  /** Minibatch size. */
  batch: number;
  /** kNN bank and probe training set: the first N training images. */
  evalTrain: number;
  /** kNN queries and probe test set: the first N test images. */
  evalTest: number;
  /** kNN protocol. */
  knn: { k: number; temperature: number };
  /** Linear-probe recipe (full-batch Adam on standardised features). */
  probe: ProbeConfig;
  /** Effective rank of the features this many times during training (and at the end). */
  rankCheckpoints: number;
  /** Test images used for the effective rank during training. */
  rankExamples: number;
  /** Masked test images whose reconstructions are kept with the first seed's run of each row (0 = none). */
  reconstructions: number;
  /** Seeds: one run per row and seed. */
  seeds: number[];
  /** The training loop's settings. */
  train: TrainConfig;
}

/** α_min sweep, then the paper's comparison rows, then ANCRe. */
export const MAE_SWEEP_ROWS: MaeSweepRow[] = [
  { name: 'α_min=1.0 (standard)', wiring: { kind: 'residual' }, skips: true },
  ...[0.9, 0.8, 0.7, 0.6, 0.5].map((a) => ({ name: `α_min=${a.toFixed(1)}`, wiring: { kind: 'decayed', alphaMin: a } as WiringConfig, skips: true })),
  { name: 'scaled √0.5 (x + f)', wiring: { kind: 'scaled' }, skips: true },
  { name: 'learnable α (init α_min=0.6)', wiring: { kind: 'learnable-alpha', alphaMin: 0.6 }, skips: true },
  { name: 'α_min=0.6, no skips', wiring: { kind: 'decayed', alphaMin: 0.6 }, skips: false },
  { name: 'standard, no skips', wiring: { kind: 'residual' }, skips: false },
  { name: 'ancre (τ=0.01)', wiring: { kind: 'ancre', tau: 0.01 }, skips: true },
  // Not trained: the same kNN and probes on raw pixels and on the encoder at its initialisation.
  { name: BASELINE_ROWS.pixels, wiring: { kind: 'residual' }, skips: true, baseline: 'pixels' },
  { name: BASELINE_ROWS.untrained, wiring: { kind: 'residual' }, skips: true, baseline: 'untrained' },
];

export const defaults: MaeSweepConfig = {
  data: { kind: 'fashion-mnist', dir: '' },
  model: { ...MAE_DEFAULTS, decoderWidth: 32, decoderDepth: 4, decoderHeads: 4 },
  rows: MAE_SWEEP_ROWS,
  trainExamples: 60000,
  batch: 128,
  evalTrain: 4000,
  evalTest: 2000,
  knn: { k: KNN_DEFAULTS.k, temperature: KNN_DEFAULTS.temperature },
  probe: PROBE_DEFAULTS,
  rankCheckpoints: 4,
  rankExamples: 500,
  reconstructions: 8,
  seeds: [0, 1, 2],
  train: {
    ...TRAIN_DEFAULTS,
    // 1000 steps × batch 128 = 2.1 epochs of Fashion-MNIST (the first reference run had 400; its records
    // stay in runs.jsonl under their own run ids).
    steps: 1000,
    // MAE: AdamW β = (0.9, 0.95), wd 0.05 (not on biases, norms, tokens, α's), warm-up then cosine to 0.
    // The peak lr is higher than MAE's 1.5e-4·B/256 because the run is a thousand steps, not 800 epochs.
    schedule: { lr: 1.5e-3, warmupFraction: 0.05, minRatio: 0 },
    optimizer: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.05, clipNorm: 1.0 },
    ema: 0,
    logEvery: 10,
    checkpointEvery: 100,
    // gradient accumulation (micro-batches per step); 1 is left out of the run configs (same run ids as before)
    accumSteps: 1,
  },
};

const SMOKE_ROWS = ['α_min=1.0 (standard)', 'α_min=0.8', 'α_min=0.6', 'learnable α (init α_min=0.6)', 'α_min=0.6, no skips', 'ancre (τ=0.01)', BASELINE_ROWS.pixels, BASELINE_ROWS.untrained];

export const presets: Record<PresetName, DeepPartial<MaeSweepConfig>> = {
  smoke: {
    model: { encoder: { ...MAE_DEFAULTS.encoder, width: 32, depth: 4, heads: 2 }, decoderWidth: 32, decoderDepth: 2, decoderHeads: 2 },
    rows: MAE_SWEEP_ROWS.filter((r) => SMOKE_ROWS.includes(r.name)),
    trainExamples: 2000,
    batch: 32,
    evalTrain: 300,
    evalTest: 200,
    probe: { epochs: 50 },
    rankCheckpoints: 2,
    rankExamples: 100,
    reconstructions: 4,
    seeds: [0],
    train: { steps: 20, logEvery: 5, checkpointEvery: 10 },
  },
  // Sized to the cpu budget of the reference run: measured in the notebook (12 rows × 3 seeds on one core).
  cpu: {},
  // Paper A's model and recipe (ViT-B/16 MAE, decoder 8 × 512; ImageNet, batch 4096, 800 epochs, 40 warm-up,
  // blr 1.5e-4). Needs an ImageNet reader and a GPU engine; runOne says so.
  paper: {
    data: { kind: 'imagenet-folder', dir: process.env.REPRO_IMAGENET ?? '' },
    // Rows set the encoder's wiring; the preset's own (decayed 0.6) would not merge into the default's shape.
    model: { ...MAE_PRESETS.mae_vit_base_patch16_dec512d8b, encoder: { ...MAE_PRESETS.mae_vit_base_patch16_dec512d8b.encoder, wiring: { kind: 'residual' } } },
    batch: 4096,
    evalTrain: 100000,
    evalTest: 50000,
    probe: { epochs: 200 },
    train: {
      steps: Math.round((800 * 1281167) / 4096),
      schedule: { lr: (1.5e-4 * 4096) / 256, warmupFraction: 40 / 800, minRatio: 0 },
      optimizer: { clipNorm: 0 },
      logEvery: 100,
      checkpointEvery: 5000,
    },
  },
};

export function validate(c: MaeSweepConfig): void {
  if (c.data.kind !== 'fashion-mnist' && c.data.kind !== 'imagenet-folder') {
    throw new ConfigError(`data.kind must be fashion-mnist or imagenet-folder; got ${JSON.stringify(c.data.kind)}`);
  }
  validateMae(c.model, 'model');
  if (!Array.isArray(c.rows) || c.rows.length === 0) throw new ConfigError(`rows must be a non-empty list; got ${JSON.stringify(c.rows)}`);
  const names = new Set<string>();
  c.rows.forEach((r, i) => {
    checkKeys(`rows[${i}]`, r, ['name', 'wiring', 'skips', 'baseline']);
    if (typeof r.name !== 'string' || !r.name) throw new ConfigError(`rows[${i}].name must be a non-empty string; got ${JSON.stringify(r.name)}`);
    if (names.has(r.name)) throw new ConfigError(`rows[${i}].name '${r.name}' appears twice`);
    names.add(r.name);
    validateWiring(r.wiring, `rows[${i}] '${r.name}'.wiring`);
    if (typeof r.skips !== 'boolean') throw new ConfigError(`rows[${i}].skips must be true or false; got ${JSON.stringify(r.skips)}`);
    if (r.baseline !== undefined && !BASELINE_KINDS.includes(r.baseline)) {
      throw new ConfigError(`rows[${i}].baseline must be one of ${BASELINE_KINDS.join(', ')} or absent; got ${JSON.stringify(r.baseline)}`);
    }
  });
  const fm = c.data.kind === 'fashion-mnist';
  if (fm && (c.model.encoder.image !== 28 || c.model.encoder.channels !== 1)) {
    throw new ConfigError(`Fashion-MNIST images are 28×28×1; got model.encoder.image ${c.model.encoder.image}, channels ${c.model.encoder.channels}`);
  }
  checkNumber('trainExamples', c.trainExamples, { lo: 1, hi: fm ? 60000 : Infinity, integer: true });
  checkNumber('batch', c.batch, { lo: 1, hi: c.trainExamples, integer: true });
  checkNumber('evalTrain', c.evalTrain, { lo: 1, hi: fm ? 60000 : Infinity, integer: true });
  checkNumber('evalTest', c.evalTest, { lo: 1, hi: fm ? 10000 : Infinity, integer: true });
  checkPositiveInt('knn.k', c.knn.k);
  checkNumber('knn.temperature', c.knn.temperature, { lo: 0, loOpen: true });
  validateProbe(c.probe, 'probe');
  checkPositiveInt('rankCheckpoints', c.rankCheckpoints);
  checkNumber('rankExamples', c.rankExamples, { lo: 2, hi: fm ? 10000 : Infinity, integer: true });
  checkNumber('reconstructions', c.reconstructions, { lo: 0, hi: fm ? 10000 : Infinity, integer: true });
  if (!Array.isArray(c.seeds) || c.seeds.length === 0) throw new ConfigError(`seeds must be a non-empty list of integers; got ${JSON.stringify(c.seeds)}`);
  checkSeeds(c.seeds);
  validateTrain(c.train);
}

/** The resolved config of one run (one row at one seed). */
export interface MaeSweepRunConfig extends Omit<MaeSweepConfig, 'rows' | 'seeds'> {
  /** The row's label (also in the record's `row`). */
  row: string;
  /** Keep reconstructions of masked test images with this run (the first seed of each row). */
  keepReconstructions: boolean;
  /** Baseline rows only (absent on trained rows, so their run ids are those of the earlier records). */
  baseline?: BaselineKind;
  /** ImageNet folder only: the key of its listing when the run was planned (lib/data/imagefolder.ts imageFolderKey). */
  folderKey?: string;
}

/** The run of one row at one seed (`mae-length` builds its runs the same way, with other step counts). */
export function sweepRunSpec(c: MaeSweepConfig, r: MaeSweepRow, seed: number, keepReconstructions: boolean): RunSpec {
  const { rows: _rows, seeds: _seeds, ...rest } = c;
  const config: MaeSweepRunConfig = {
    ...rest,
    train: withoutUnitAccum(rest.train),
    model: { ...rest.model, encoder: { ...rest.model.encoder, wiring: r.wiring, seed }, skips: r.skips },
    row: r.name,
    keepReconstructions: keepReconstructions && c.reconstructions > 0 && !r.baseline,
    ...(r.baseline ? { baseline: r.baseline } : {}),
  };
  return { row: r.name, seed, config: config as unknown as { [k: string]: Json } };
}

export function runs(c: MaeSweepConfig): RunSpec[] {
  // An ImageNet folder's listing joins every run's config (so its id): a class that appears later, or images
  // added or removed, give new runs rather than reusing ones made on other contents. A folder that is not
  // there yet leaves the key out; its runs then fail with the reader's DataError.
  const folderKey = c.data.kind === 'imagenet-folder' && c.data.dir && fs.existsSync(c.data.dir) ? imageFolderKey(c.data.dir) : undefined;
  // Seed-major: after the first seed the whole table has one run per row, so an interrupted sweep is still a table.
  // Raw pixels do not depend on the seed: one run.
  return c.seeds.flatMap((seed, si) =>
    c.rows.filter((r) => !(r.baseline === 'pixels' && si > 0)).map((r) => {
      const spec = sweepRunSpec(c, r, seed, si === 0);
      return folderKey ? { ...spec, config: { ...spec.config, folderKey } } : spec;
    }),
  );
}

/** α_min of a run's encoder wiring for the α_min axis: 1 for standard residuals, null for other kinds. */
export function alphaMinOf(config: Json): number | null {
  if (baselineOf(config)) return null;
  const w = (config as unknown as MaeSweepRunConfig).model?.encoder?.wiring;
  if (!w) return null;
  if (w.kind === 'residual') return 1;
  return w.kind === 'decayed' ? (w.alphaMin ?? null) : null;
}

/** Whether a run used the encoder→decoder skips. */
export function skipsOf(config: Json): boolean {
  return (config as unknown as MaeSweepRunConfig).model?.skips ?? true;
}

/** The mask seed of training step `step`: a function of the run's seed and the step only (exact resume). */
export { maskSeed } from '../shared/mae-pretrain';
