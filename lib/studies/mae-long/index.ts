/** Paper A decided (issue 28): the cluttered-study MAE with paper A's decoder, trained 10.7 epochs, evaluated along the way (notebook 01 §5). */
import type { Experiment } from '../../runner/types';
import { runOne } from '../mae-clutter/run';
import { defaults, presets, runs, validate, type MaeLongConfig } from './spec';

export * from './spec';

export const experiment: Experiment<MaeLongConfig> = {
  name: 'mae-long',
  title: 'Paper A decided: the cluttered MAE with every skip, trained 10.7 epochs at the lr where it learns, evaluated along training',
  defaults,
  presets,
  validate,
  runs,
  runOne,
};
export * from './analysis';
export * from './figures';
