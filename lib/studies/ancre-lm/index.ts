/**
 * Paper B's LLaMA-style language-model study (notebook 03): the spec (config, presets, runs), one run,
 * the data, the analyses (tables, lr sweep, routing), the verdicts, the paper's numbers and the earlier
 * designs. This is the module the notebook imports.
 */
import type { Experiment } from '../../runner/types';
import { defaults, presets, runs, validate, type AncreLmConfig } from './spec';
import { runOne } from './run';

export * from './spec';
export * from './tokens';
export * from './analysis';
export * from './sweep';
export * from './verdict';
export * from './paper';
export * from './history';

export const experiment: Experiment<AncreLmConfig> = {
  name: 'ancre-lm',
  title: 'ANCRe vs residual (and constant-average, decayed) in LLaMA-style language-model pre-training',
  defaults,
  presets,
  validate,
  runs,
  runOne,
};
export * from './figures';
