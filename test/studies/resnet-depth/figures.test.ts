/** Notebook 04's figures, built in lib/studies/resnet-depth/figures.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mseVsDepthFigure, type DepthRow } from '../../../lib/studies/resnet-depth';

const row = (wiring: string, layers: number, mse: number): DepthRow => ({
  wiring, layers, blocks: layers / 4, seeds: 3, accMean: NaN, accStd: null, mseMean: mse, mseStd: 0.001, lossMean: 0.05, params: 1000, msPerStep: 1, cpuMsPerStep: null, bySeed: {},
});

test('test MSE against depth: the log axis ticks are the depths run, each labelled with its own value', () => {
  const spec = mseVsDepthFigure([row('residual', 16, 0.064), row('residual', 32, 0.0565), row('residual', 64, 0.0558), row('ancre τ=0.01', 16, 0.0622)]);
  const x = (spec.layout as { xaxis: { tickvals: number[]; ticktext: string[]; type?: string } }).xaxis;
  assert.deepEqual(x.tickvals, [16, 32, 64]);
  assert.deepEqual(x.ticktext, ['16', '32', '64']);
});
