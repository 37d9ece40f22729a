/** Earlier designs of the language-model study, as overrides of the cpu preset that give back their runs (records kept). */
import type { DeepPartial } from '../../config';
import { ANCRE_LM_WIRINGS, defaults, type AncreLmConfig } from './spec';
/**
 * Overrides of the cpu preset that give back the first study (the 'project' recipe: Xavier-uniform Linears,
 * clipping at 1.0, β2 0.95, one lr 3e-3, 1500 steps, two seeds, six wirings); its 36 records stay in runs.jsonl.
 */
export const PROJECT_STUDY: DeepPartial<AncreLmConfig> = {
  tokenizerVocab: defaults.tokenizerVocab,
  vocabSize: defaults.vocabSize,
  seqLen: defaults.seqLen,
  recipe: 'project',
  wirings: ANCRE_LM_WIRINGS,
  lrs: [],
  seeds: defaults.seeds,
  routingEvery: 0,
  train: defaults.train,
};

/**
 * Overrides of the cpu preset that give back the first official-recipe sweep (session 3): vocabulary 4096,
 * 64-token rows, the same lrs, seeds, steps and wirings. Its residual records (22 of 27 sweep runs) stay in
 * runs.jsonl; there the residual model got worse from 2 to 8 layers at every lr.
 */
export const OFFICIAL_V4096_STUDY: DeepPartial<AncreLmConfig> = {
  tokenizerVocab: defaults.tokenizerVocab,
  vocabSize: defaults.vocabSize,
  seqLen: defaults.seqLen,
};

/** The "more tokens" pilot of that setting: batch 64 (4× the tokens, 2.8 epochs), residual at 2 and 8 layers, lr 3e-3, seed 0. */
export const V4096_MORE_TOKENS_PILOT: DeepPartial<AncreLmConfig> = {
  ...OFFICIAL_V4096_STUDY,
  batch: 64,
  wirings: [ANCRE_LM_WIRINGS[0]],
  depths: [2, 8],
  lrs: [3e-3],
  seeds: [0],
};
