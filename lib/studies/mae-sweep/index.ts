/**
 * Paper A's MAE α_min sweep on Fashion-MNIST (notebook 01, section 1): the spec, one run (and the
 * ImageNet-folder path of the paper preset), the tables and verdict, and the paper's numbers.
 */
import type { Experiment } from '../../runner/types';
import { defaults, presets, runs, validate, type MaeSweepConfig } from './spec';
import { runOne } from './run';

export * from './spec';
export * from './analysis';
export * from './paper';

export const experiment: Experiment<MaeSweepConfig> = {
  name: 'mae-sweep',
  title: 'Paper A: MAE with decayed identity shortcuts, α_min sweep and ablations (kNN, linear probe, effective rank)',
  defaults,
  presets,
  data: ['fashion-mnist'],
  validate,
  runs,
  runOne,
};
export * from './figures';
