/**
 * `diffusion-baselines`: the two baselines of the `diffusion-fid` study's mid-trunk feature table (kNN and
 * linear probe, paper A's representation claim for its SiT, arXiv 2404.10947): the noisy input pixels the
 * DiT sees at the probing noise level (same images, same noise), and the DiT at its initialisation (same
 * config and seeds, no training). Same kNN and Adam probe as the study's rows, plus the converged probe.
 * A separate experiment so the study's own rows (FID curves, sample grids) stay as they are.
 */
import { DeepPartial, PresetName, PRESET_NAMES } from '../../config';
import { checkOneOf, ConfigError } from '../../errors';
import { loadFashionMnist, limitSet, type ImageSet } from '../../data';
import { DiT } from '../../models/dit';
import type { Features } from '../../metrics/knn';
import { experiment as diffusionFid, midFeatures, noisedFeatures, type DiffusionFidConfig } from '../diffusion-fid/spec';
import { BASELINE_KINDS, BASELINE_ROWS, evaluateFrozen, type BaselineKind } from '../shared/frozen-features';
import { resolveConfig } from '../../runner/run';
import type { Experiment, Json, RunResult, RunSpec } from '../../runner/types';

export interface DiffusionBaselinesConfig {
  /** The `diffusion-fid` preset whose model, data and feature protocol the baselines copy. */
  base: PresetName;
  /** Which baselines. */
  baselines: BaselineKind[];
}

const defaults: DiffusionBaselinesConfig = { base: 'cpu', baselines: ['pixels', 'untrained'] };
const presets: Record<PresetName, DeepPartial<DiffusionBaselinesConfig>> = { smoke: { base: 'smoke' }, cpu: {}, paper: { base: 'paper' } };

function validate(c: DiffusionBaselinesConfig): void {
  checkOneOf('base', c.base, PRESET_NAMES);
  if (!Array.isArray(c.baselines) || !c.baselines.length) throw new ConfigError(`baselines must be a non-empty list of ${BASELINE_KINDS.join(', ')}; got ${JSON.stringify(c.baselines)}`);
  c.baselines.forEach((b, i) => checkOneOf(`baselines[${i}]`, b, BASELINE_KINDS));
}

type RunConfig = Omit<DiffusionFidConfig, 'rows' | 'seeds'> & { baseline: BaselineKind };

function runs(c: DiffusionBaselinesConfig): RunSpec[] {
  const { rows: _r, seeds, ...rest } = resolveConfig(diffusionFid, c.base);
  // Pixels do not depend on the seed: one run; the untrained DiT at every seed of the study.
  return c.baselines.flatMap((b) => (b === 'pixels' ? [seeds[0]] : seeds).map((seed) => ({ row: BASELINE_ROWS[b], seed, config: { ...rest, baseline: b } as unknown as { [k: string]: Json } })));
}

/** The DiT's input at noise level t, as midFeatures draws it (same batches, same noise seeds). // -> [n, 784] */
export function noisyPixels(set: ImageSet, n: number, t: number, seed: number): Features {
  return noisedFeatures(set, n, t, seed, set.height * set.width, (xt) => xt);
}

async function runOne(spec: RunSpec): Promise<RunResult> {
  const c = spec.config as unknown as RunConfig;
  const trainSet = limitSet(loadFashionMnist('train'), c.trainExamples);
  const testSet = loadFashionMnist('test');
  const K = c.model.classes;
  const bankLabels = trainSet.labels.subarray(0, c.featureTrain);
  const queryLabels = testSet.labels.subarray(0, c.featureTest);
  const evalCfg = { knn: { k: c.knnK, temperature: 0.07 }, probe: c.probe, classes: K };
  const t0 = Date.now();
  let bank: Features;
  let queries: Features;
  let model: DiT | null = null;
  try {
    if (c.baseline === 'pixels') {
      bank = noisyPixels(trainSet, c.featureTrain, c.featureT, 7);
      queries = noisyPixels(testSet, c.featureTest, c.featureT, 8);
    } else {
      model = new DiT({ ...c.model, wiring: { kind: 'residual' }, longSkips: false, seed: spec.seed }, 'dit-untrained');
      bank = midFeatures(model, trainSet, c.featureTrain, c.featureT, 7);
      queries = midFeatures(model, testSet, c.featureTest, c.featureT, 8);
    }
    const m = evaluateFrozen(bank, bankLabels, queries, queryLabels, evalCfg);
    // `lp` is the study's name for the Adam probe.
    return { metrics: { ...m, lp: m.linearProbe as number, evalSeconds: (Date.now() - t0) / 1000, params: model ? model.paramCount() : 0 } };
  } finally {
    model?.dispose();
  }
}

export const experiment: Experiment<DiffusionBaselinesConfig> = {
  name: 'diffusion-baselines',
  title: 'Baselines of the diffusion study\'s mid-trunk features: noisy input pixels and the untrained DiT',
  defaults,
  presets,
  validate,
  runs,
  runOne,
};
