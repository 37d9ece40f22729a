/** Paper A on cluttered, translated Fashion-MNIST with a 12-block encoder and the official recipe (notebook 01). */
import type { Experiment } from '../../runner/types';
import { defaults, presets, runs, validate, type MaeClutterConfig } from './spec';
import { runOne } from './run';

export * from './spec';
export * from './verdict';
export * from './figures';

export const experiment: Experiment<MaeClutterConfig> = {
  name: 'mae-clutter',
  title: 'Paper A on cluttered, translated Fashion-MNIST: official recipe, 12-block encoder, pixel and untrained baselines',
  defaults,
  presets,
  validate,
  runs,
  runOne,
};
export * from './search';
