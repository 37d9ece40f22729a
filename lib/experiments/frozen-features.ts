/**
 * Frozen-feature evaluation shared by the paper-A studies (mae-sweep, mae-length, mae-clutter) and the
 * diffusion study's mid-trunk features, and their two baselines: raw pixels, and the same network at
 * its initialisation (no training). Paper A (arXiv 2404.10947) reports kNN and a linear probe; a learned
 * feature only shows "better abstraction" when it beats both baselines through the same code.
 *
 * Metric names in the records:
 *   knn                    kNN top-1 (./metrics/knn.ts: k = 20, cosine, T = 0.07)
 *   linearProbe            the project's first probe: 300 full-batch Adam steps (stops before the optimum)
 *   probeTrainAccuracy     its train accuracy
 *   lpConverged            the converged probe (L-BFGS to tolerance, ./metrics/probe-converged.ts)
 *   lpConvergedTrain       its train accuracy; lpConvergedIters, lpConvergedOk (a tolerance was met)
 */
import { knnAccuracy, linearProbe, type Features, type ProbeConfig } from '../metrics';
import { convergedProbe, CONVERGED_PROBE_DEFAULTS, type ConvergedProbeConfig } from '../metrics/probe-converged';

/** The kinds of a baseline row; absent on trained rows. */
export type BaselineKind = 'pixels' | 'untrained';
export const BASELINE_KINDS: readonly BaselineKind[] = ['pixels', 'untrained'];

/** Row labels of the baselines in every frozen-feature table. */
export const BASELINE_ROWS: Record<BaselineKind, string> = { pixels: 'baseline: raw pixels', untrained: 'baseline: untrained encoder' };

export interface FrozenEvalConfig {
  knn: { k: number; temperature: number };
  /** The Adam probe (kept for comparability with earlier records). */
  probe: ProbeConfig;
  /** The converged probe (defaults when absent). */
  convergedProbe?: Partial<ConvergedProbeConfig>;
  classes: number;
}

/** kNN, both probes, and the mean feature norm of the queries. */
export function evaluateFrozen(
  bank: Features,
  bankLabels: ArrayLike<number>,
  queries: Features,
  queryLabels: ArrayLike<number>,
  c: FrozenEvalConfig,
): { [k: string]: number | boolean } {
  const knn = knnAccuracy(bank, bankLabels, queries, queryLabels, { ...c.knn, classes: c.classes });
  const adam = linearProbe(bank, bankLabels, queries, queryLabels, { ...c.probe, classes: c.classes });
  const conv = convergedProbe(bank, bankLabels, queries, queryLabels, { ...CONVERGED_PROBE_DEFAULTS, ...(c.convergedProbe ?? {}), classes: c.classes });
  let featureNorm = 0;
  for (let i = 0; i < queries.n; i++) {
    let s = 0;
    for (let j = 0; j < queries.dim; j++) s += queries.data[i * queries.dim + j] ** 2;
    featureNorm += Math.sqrt(s) / queries.n;
  }
  return {
    knn,
    linearProbe: adam.testAccuracy,
    probeTrainAccuracy: adam.trainAccuracy,
    lpConverged: conv.testAccuracy,
    lpConvergedTrain: conv.trainAccuracy,
    lpConvergedIters: conv.iterations,
    lpConvergedOk: conv.converged,
    featureNorm,
  };
}

/** Images [N, H, W] as N feature rows of H·W pixels (a view, no copy). */
export function pixelFeatures(images: Float32Array, n: number, hw: number): Features {
  return { data: images.subarray(0, n * hw), n, dim: hw };
}

/** Whether a record's run config is a baseline, and which. */
export function baselineOf(config: unknown): BaselineKind | null {
  const b = (config as { baseline?: unknown } | null)?.baseline;
  return b === 'pixels' || b === 'untrained' ? b : null;
}
