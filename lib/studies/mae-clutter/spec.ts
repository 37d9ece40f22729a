/**
 * `mae-clutter`: paper A ("Residual Connections Harm Generative Representation Learning", arXiv 2404.10947)
 * put to a fairer test than `mae-sweep`: on plain Fashion-MNIST the 784 raw pixels already classify better
 * than every trained MAE, so removing the "echo of shallow features" cannot look like abstraction there.
 * This study trains on cluttered, translated Fashion-MNIST (lib/data/cluttered.ts), where raw-pixel kNN
 * falls far below its plain value, with a deeper encoder (a depth with a role: 12 blocks = 24 sub-layers,
 * as ViT-B) and the official recipe by default, and puts every row beside two baselines computed by the
 * same kNN and probe code: raw pixels, and the untrained encoder (same architecture and init).
 *
 * Recipe (`recipe`): 'official' = no gradient clipping, exact GELU, timm's weight-decay groups, PyTorch's
 * patch-embedding bias init, RandomResizedCrop(0.2–1) + flip on pre-training batches only, peak lr from the
 * MAE rule blr·B/256 (blr 1.5e-4) times the row's `lrScale`; 'project' = the recipe of the first studies
 * (clip 1.0, tanh GELU, Dense-only decay, zero patch bias, no augmentation, peak lr `train.schedule.lr`).
 * The lr sweep rows (×0.5, ×2 for standard and α_min = 0.6) test whether the rows' order is an artefact of
 * one lr.
 */
import type { DeepPartial, PresetName } from '../../config';
import { checkNumber, checkOneOf, checkPositiveInt, ConfigError } from '../../errors';
import { CLUTTER_DEFAULTS, validateClutter, type ClutterConfig } from '../../data/cluttered';
import { CROP_FLIP_DEFAULTS, validateCropFlip, type CropFlipConfig } from '../../data/augment';
import { MAE_DEFAULTS, validateMae, type MaeConfig } from '../../models/mae';
import { MAE_RECIPES, type MaeRecipe } from '../../models/vit';
import { KNN_DEFAULTS, PROBE_DEFAULTS, validateProbe, type ProbeConfig } from '../../metrics';
import { decayedSchedule, validateWiring, type WiringConfig } from '../../residual';
import { TRAIN_DEFAULTS, validateTrain, type TrainConfig } from '../../train/loop';
import { BASELINE_KINDS, BASELINE_ROWS, type BaselineKind } from '../shared/frozen-features';
import type { Json, RunSpec } from '../../runner/types';

/** One row: a trained MAE (wiring, skips, lr multiplier) or a baseline. */
export interface MaeClutterRow {
  /** Row label. */
  name: string;
  /** A baseline row instead of a trained MAE (its wiring is the untrained encoder's). */
  baseline?: BaselineKind;
  /** The encoder's wiring. */
  wiring: WiringConfig;
  /** Encoder→decoder skips (paper A's decoder). */
  skips: boolean;
  /** Multiplier of the recipe's peak lr (the lr sweep); 1 for the main rows. */
  lrScale: number;
  /** Replace `wiring.alphaMin` by the α_min whose α_eff over this encoder's sub-layers equals ViT-B's at 0.6. */
  matchVitB?: boolean;
  /** Run only the first this many seeds (the lr sweep's side rows, to fit the budget); all when absent. */
  maxSeeds?: number;
}

export interface MaeClutterConfig {
  /** The cluttered canvas (train images from the train split, test from test). */
  data: ClutterConfig;
  /** The MAE; rows set `encoder.wiring` and `skips`, seeds `encoder.seed`, the recipe `encoder.recipe`. */
  model: MaeConfig;
  /** 'official' (paper A's code) or 'project' (the first studies' recipe). */
  recipe: MaeRecipe;
  /** Official recipe: base lr of the MAE rule, peak lr = blr·batch/256·lrScale. */
  blr: number;
  /** Official recipe: pre-training augmentation. */
  augment: CropFlipConfig;
  /** The rows. */
  rows: MaeClutterRow[];
  /** Minibatch size. */
  batch: number;
  /** kNN bank and probe training set: cluttered train images 0..N−1. */
  evalTrain: number;
  /** kNN queries and probe test set: cluttered test images 0..N−1. */
  evalTest: number;
  knn: { k: number; temperature: number };
  /** The Adam probe (as the earlier studies); the converged probe runs beside it. */
  probe: ProbeConfig;
  /** Effective rank of every block this many times during training. */
  rankCheckpoints: number;
  /** Test images for the effective rank. */
  rankExamples: number;
  /** Reconstructions kept with the first seed of each trained row. */
  reconstructions: number;
  seeds: number[];
  /** The loop; the recipe overrides clipNorm and the peak lr. */
  train: TrainConfig;
}

/** α_eff = ∏ α_k of paper A's schedule over n sub-layers. */
export function alphaEffOf(subLayers: number, alphaMin: number): number {
  return decayedSchedule(subLayers, alphaMin).reduce((p, a) => p * a, 1);
}

/** ViT-B's α_eff at α_min = 0.6 over its 24 sub-layers (≈ 3.6e-3). */
export const VIT_B_ALPHA_EFF = alphaEffOf(24, 0.6);

/** The α_min whose α_eff over `subLayers` equals `target` (bisection; α_eff grows with α_min). */
export function matchedAlphaMin(subLayers: number, target = VIT_B_ALPHA_EFF): number {
  if (subLayers < 2) throw new ConfigError(`matching α_eff needs at least 2 sub-layers; got ${subLayers}`);
  let [lo, hi] = [1e-6, 1];
  if (alphaEffOf(subLayers, lo) > target) return lo;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (alphaEffOf(subLayers, mid) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const mae = (name: string, wiring: WiringConfig, extra: Partial<MaeClutterRow> = {}): MaeClutterRow => ({ name, wiring, skips: true, lrScale: 1, ...extra });
const RES: WiringConfig = { kind: 'residual' };
const dec = (a: number): WiringConfig => ({ kind: 'decayed', alphaMin: a });

/** Baselines, then the α_min sweep, √0.5, matched α_eff, the no-skip ablations and the lr sweep. */
export const MAE_CLUTTER_ROWS: MaeClutterRow[] = [
  mae(BASELINE_ROWS.pixels, RES, { baseline: 'pixels' }),
  mae(BASELINE_ROWS.untrained, RES, { baseline: 'untrained' }),
  mae('α_min=1.0 (standard)', RES),
  mae('α_min=0.6', dec(0.6)),
  mae('α_min=0.8', dec(0.8)),
  mae('α_min=0.7', dec(0.7)),
  mae('α_min=0.5', dec(0.5)),
  mae('α_min matched to ViT-B α_eff', dec(0.6), { matchVitB: true }),
  mae('scaled √0.5 (x + f)', { kind: 'scaled' }),
  mae('standard, no skips', RES, { skips: false }),
  mae('α_min=0.6, no skips', dec(0.6), { skips: false }),
  mae('standard, lr ×0.5', RES, { lrScale: 0.5, maxSeeds: 1 }),
  mae('standard, lr ×2', RES, { lrScale: 2, maxSeeds: 1 }),
  mae('α_min=0.6, lr ×0.5', dec(0.6), { lrScale: 0.5, maxSeeds: 1 }),
  mae('α_min=0.6, lr ×2', dec(0.6), { lrScale: 2, maxSeeds: 1 }),
  // 1.5e-3: the project recipe's peak lr (20× the rule at batch 128) with everything else official, to tell
  // whether a short run is limited by the rule's lr.
  mae('standard, lr ×20', RES, { lrScale: 20, maxSeeds: 1 }),
  mae('α_min=0.6, lr ×20', dec(0.6), { lrScale: 20, maxSeeds: 1 }),
];

/** After the (cheap) baselines at every seed, these run first at the first seed: the comparison the study is about, and whether the rule's lr trains at all. */
const FIRST_ROWS = ['α_min=1.0 (standard)', 'α_min=0.6', 'standard, lr ×20', 'α_min=0.6, lr ×20'];
/** Then these at the other seeds (the seed spread of the comparison). */
const SECOND_ROWS = ['α_min=1.0 (standard)', 'α_min=0.6'];

export const defaults: MaeClutterConfig = {
  data: CLUTTER_DEFAULTS,
  model: {
    ...MAE_DEFAULTS,
    encoder: { ...MAE_DEFAULTS.encoder, image: 48, patch: 8, width: 96, depth: 12, heads: 4 },
    decoderWidth: 64,
    decoderDepth: 4,
    decoderHeads: 4,
  },
  recipe: 'official',
  blr: 1.5e-4,
  augment: CROP_FLIP_DEFAULTS,
  rows: MAE_CLUTTER_ROWS,
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
    // 400 steps × batch 128 = 0.85 epochs of the 60,000 cluttered training images: what 28 trained runs of a
    // 12 × 96 encoder (≈ 1.05 s a step on one core of this machine, measured under load and scaled by the
    // sweep model's recorded step time) fit into 2 h on two cores, with the evaluations.
    steps: 400,
    // AdamW β = (0.9, 0.95), wd 0.05, 5% warm-up (40 of 800 epochs), cosine to 0; lr and clipping from the recipe.
    schedule: { lr: 1.5e-3, warmupFraction: 0.05, minRatio: 0 },
    optimizer: { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.05, clipNorm: 1.0 },
    ema: 0,
    logEvery: 10,
    checkpointEvery: 100,
  },
};

const SMOKE_ROWS = [BASELINE_ROWS.pixels, BASELINE_ROWS.untrained, 'α_min=1.0 (standard)', 'α_min=0.6', 'α_min matched to ViT-B α_eff', 'standard, lr ×2'];

export const presets: Record<PresetName, DeepPartial<MaeClutterConfig>> = {
  smoke: {
    data: { canvas: 32, clutter: 2, fragment: 8 },
    model: { encoder: { ...defaults.model.encoder, image: 32, patch: 8, width: 32, depth: 4, heads: 2 }, decoderWidth: 32, decoderDepth: 2, decoderHeads: 2 },
    rows: MAE_CLUTTER_ROWS.filter((r) => SMOKE_ROWS.includes(r.name)),
    batch: 16,
    evalTrain: 200,
    evalTest: 100,
    probe: { epochs: 30 },
    rankCheckpoints: 2,
    rankExamples: 50,
    reconstructions: 2,
    seeds: [0],
    train: { steps: 6, logEvery: 2, checkpointEvery: 2 },
  },
  cpu: {},
  // The same study at paper A's scale would be ImageNet (mae-sweep's paper preset); here the paper preset is
  // the cpu study trained 10× longer, for a machine with a GPU engine.
  paper: { train: { steps: 6000, checkpointEvery: 500 } },
};

export function validate(c: MaeClutterConfig): void {
  validateClutter(c.data, 28, 'data');
  checkOneOf('recipe', c.recipe, MAE_RECIPES);
  const e = c.model.encoder;
  if (e.image !== c.data.canvas || e.channels !== 1) {
    throw new ConfigError(`model.encoder.image must equal data.canvas ${c.data.canvas} (1 channel); got image ${e.image}, channels ${e.channels}`);
  }
  if (c.data.canvas % e.patch) {
    const divisors = Array.from({ length: c.data.canvas }, (_, i) => i + 1).filter((p) => c.data.canvas % p === 0 && p > 1);
    throw new ConfigError(`model.encoder.patch must divide data.canvas ${c.data.canvas} (one of ${divisors.join(', ')}); got ${e.patch}`);
  }
  validateMae(c.model, 'model');
  checkNumber('blr', c.blr, { lo: 0, loOpen: true });
  validateCropFlip(c.augment, 'augment');
  if (!Array.isArray(c.rows) || c.rows.length === 0) throw new ConfigError(`rows must be a non-empty list; got ${JSON.stringify(c.rows)}`);
  const names = new Set<string>();
  c.rows.forEach((r, i) => {
    if (typeof r.name !== 'string' || !r.name || names.has(r.name)) throw new ConfigError(`rows[${i}].name must be a non-empty, unique string; got ${JSON.stringify(r.name)}`);
    names.add(r.name);
    if (r.baseline !== undefined) checkOneOf(`rows[${i}].baseline`, r.baseline, BASELINE_KINDS);
    validateWiring(r.wiring, `rows[${i}] '${r.name}'.wiring`);
    if (typeof r.skips !== 'boolean') throw new ConfigError(`rows[${i}].skips must be true or false; got ${JSON.stringify(r.skips)}`);
    checkNumber(`rows[${i}].lrScale`, r.lrScale, { lo: 0, loOpen: true });
    if (r.maxSeeds !== undefined) checkPositiveInt(`rows[${i}].maxSeeds`, r.maxSeeds);
  });
  checkPositiveInt('batch', c.batch);
  checkNumber('evalTrain', c.evalTrain, { lo: 1, hi: 60000, integer: true });
  checkNumber('evalTest', c.evalTest, { lo: 1, hi: 10000, integer: true });
  checkPositiveInt('knn.k', c.knn.k);
  checkNumber('knn.temperature', c.knn.temperature, { lo: 0, loOpen: true });
  validateProbe(c.probe, 'probe');
  checkPositiveInt('rankCheckpoints', c.rankCheckpoints);
  checkNumber('rankExamples', c.rankExamples, { lo: 2, hi: c.evalTest, integer: true });
  checkNumber('reconstructions', c.reconstructions, { lo: 0, hi: c.evalTest, integer: true });
  if (!Array.isArray(c.seeds) || c.seeds.length === 0) throw new ConfigError(`seeds must be a non-empty list of integers; got ${JSON.stringify(c.seeds)}`);
  c.seeds.forEach((s, i) => checkNumber(`seeds[${i}]`, s, { integer: true }));
  validateTrain(c.train);
}

/** The resolved config of one run: the recipe applied (peak lr, clipping, augmentation, model recipe). */
export interface MaeClutterRunConfig {
  data: ClutterConfig;
  model: MaeConfig;
  recipe: MaeRecipe;
  /** The row's lr multiplier (already in train.schedule.lr). */
  lrScale: number;
  /** Pre-training augmentation, null without (project recipe). */
  augment: CropFlipConfig | null;
  baseline: BaselineKind | null;
  batch: number;
  evalTrain: number;
  evalTest: number;
  knn: { k: number; temperature: number };
  probe: ProbeConfig;
  rankCheckpoints: number;
  rankExamples: number;
  reconstructions: number;
  train: TrainConfig;
  row: string;
  /**
   * Evaluate the frozen encoder at these steps and after the last (kNN, both probes, ranks, α_eff, the
   * held-out reconstruction loss on the rank examples), kept as the record's curve (mae-long). Absent in
   * mae-clutter's own runs, whose ids do not change.
   */
  evalSteps?: number[];
}

/** The run of row `r` at `seed` (first: the first seed, which keeps reconstructions). */
export function clutterRunSpec(c: MaeClutterConfig, r: MaeClutterRow, seed: number, first: boolean): RunSpec {
  const official = c.recipe === 'official';
  const subLayers = 2 * c.model.encoder.depth;
  const wiring: WiringConfig = r.matchVitB ? { ...r.wiring, alphaMin: Number(matchedAlphaMin(subLayers).toFixed(4)) } : r.wiring;
  const peak = Number(((official ? (c.blr * c.batch) / 256 : c.train.schedule.lr) * r.lrScale).toPrecision(6));
  const config: MaeClutterRunConfig = {
    data: c.data,
    model: { ...c.model, encoder: { ...c.model.encoder, wiring, seed, recipe: c.recipe }, skips: r.skips },
    recipe: c.recipe,
    lrScale: r.lrScale,
    augment: official ? c.augment : null,
    baseline: r.baseline ?? null,
    batch: c.batch,
    evalTrain: c.evalTrain,
    evalTest: c.evalTest,
    knn: c.knn,
    probe: c.probe,
    rankCheckpoints: c.rankCheckpoints,
    rankExamples: c.rankExamples,
    reconstructions: first && !r.baseline ? c.reconstructions : 0,
    train: { ...c.train, schedule: { ...c.train.schedule, lr: peak }, optimizer: { ...c.train.optimizer, clipNorm: official ? 0 : c.train.optimizer.clipNorm } },
    row: r.name,
  };
  return { row: r.name, seed, config: config as unknown as { [k: string]: Json } };
}

export function runs(c: MaeClutterConfig): RunSpec[] {
  const depth = c.model.encoder.depth;
  // With 12 blocks the matched α_min is 0.6 itself: the row would repeat α_min=0.6, so it is left out.
  const matched = matchedAlphaMin(2 * depth);
  const rows = c.rows.filter((r) => !(r.matchVitB && Math.abs(matched - 0.6) < 5e-4 && c.rows.some((o) => o.name === 'α_min=0.6')));
  // Raw pixels do not depend on the seed: one run. Order: the baselines (no training), FIRST_ROWS at the first
  // seed, SECOND_ROWS at the others, then everything else seed-major, so an interrupted study holds its most
  // informative runs.
  const takes = (r: MaeClutterRow, si: number) => si < (r.baseline === 'pixels' ? 1 : (r.maxSeeds ?? Infinity));
  const specs = c.seeds.flatMap((seed, si) => rows.filter((r) => takes(r, si)).map((r) => ({ r, si, spec: clutterRunSpec(c, r, seed, si === 0) })));
  const tier = (x: { r: MaeClutterRow; si: number }) => (x.r.baseline ? 0 : x.si === 0 && FIRST_ROWS.includes(x.r.name) ? 1 : SECOND_ROWS.includes(x.r.name) ? 2 : 3);
  const out = specs.map((x, i) => ({ ...x, i })).sort((a, b) => tier(a) - tier(b) || a.i - b.i).map((x) => x.spec);
  return out;
}
