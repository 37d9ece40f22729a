/** resnet-depth's experiment: the spec and one run (its own module so that the depth search can read records without an import cycle). */
import type { Experiment } from '../../runner/types';
import { defaults, presets, runs, validate, type ResnetDepthConfig } from './spec';
import { runOne } from './run';

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
