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
import { knnAccuracy, linearProbe, type Features, type ProbeConfig } from '../../metrics';
import { convergedProbe, CONVERGED_PROBE_DEFAULTS, type ConvergedProbeConfig } from '../../metrics/probe-converged';
import { meanStd } from '../../stats';
import { alignBySeed, compareRows, valuesBySeed, type RowComparison, type SeedRecord } from './paired';

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

// ---------------------------------------------------------------------------------------------
// Gains over the standard row and over both baselines, from records (the verdicts call these).

/** Minimal record shape the gain functions read. */
type Rec = SeedRecord;

/**
 * Mean, sample std and count of a metric (×scale) over a row's records with a finite value (lib/stats
 * `meanStd`: one seed has no std, `null`); `n` = 0 gives mean NaN for callers to skip.
 */
export function metricStats(records: readonly Rec[], row: string, metric: string, scale = 100): { mean: number; std: number | null; n: number } {
  const v = [...valuesBySeed(records, row, metric, scale).values()];
  if (!v.length) return { mean: NaN, std: null, n: 0 };
  const m = meanStd(v);
  return { mean: m.mean, std: m.std, n: m.n };
}

/** A row's gain over a reference row: the paired comparison by seed (./paired.ts). */
export interface Gain {
  /** The reference row. */
  vs: string;
  /** The mean paired difference row − reference, in points (the one-seed difference with one seed). */
  delta: number;
  /** Its 95 % interval (null below two paired seeds). */
  lo: number | null;
  hi: number | null;
  /** Seeds paired. */
  n: number;
  /** lib/stats' word: better / worse / no detectable difference / not enough seeds. */
  judged: RowComparison['word'];
  /** The sentence behind the word (interval, p, smallest detectable difference). */
  reason: string;
}

/**
 * The row's gain over `ref` on `metric` (higher is better), paired by seed. Raw pixels involve no seed
 * (one run): their value pairs with every seed of the row. Null when either row has no finished run.
 */
export function gainOver(records: readonly Rec[], row: string, ref: string, metric: string, scale = 100): Gain | null {
  const a = valuesBySeed(records, row, metric, scale);
  const b = valuesBySeed(records, ref, metric, scale);
  if (!a.size || !b.size) return null;
  if (row === BASELINE_ROWS.pixels && ref !== BASELINE_ROWS.pixels) {
    // pixels − ref is −(ref − pixels): the seed-free pixel value pairs with every seed of ref
    const g = gainOver(records, ref, row, metric, scale)!;
    const flip = { better: 'worse', worse: 'better' } as const;
    const judged = g.judged === 'better' || g.judged === 'worse' ? flip[g.judged] : g.judged;
    return { vs: ref, delta: -g.delta, lo: g.hi === null ? null : -g.hi, hi: g.lo === null ? null : -g.lo, n: g.n, judged, reason: g.reason };
  }
  const c = compareRows(records, row, ref, metric, { lowerIsBetter: false, scale, deterministicRef: ref === BASELINE_ROWS.pixels });
  const one = alignBySeed(a, b, { deterministicB: ref === BASELINE_ROWS.pixels });
  const delta = c.diff ? c.diff.mean : one.a.length ? one.a[0] - one.b[0] : [...a.values()][0] - [...b.values()][0];
  return { vs: ref, delta, lo: c.diff?.lo ?? null, hi: c.diff?.hi ?? null, n: c.n, judged: c.word, reason: c.reason };
}

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;

/** `−4.4 [−6.0, −2.8] (worse, 3 seeds)`; with one seed `+1.2 (one seed: no interval)`. */
export function describeGain(g: Gain | null): string {
  if (!g) return 'n/a (no runs with this metric)';
  if (g.lo === null || g.hi === null) return `${signed(g.delta)} (${g.n === 1 ? 'one seed: no interval' : g.n === 0 ? 'no common seeds' : 'not enough seeds'})`;
  return `${signed(g.delta)} [${signed(g.lo)}, ${signed(g.hi)}] (${g.judged}, ${g.n} seeds)`;
}

/**
 * One line per row and metric: its mean ± std over seeds, and its gain over the standard row, over raw
 * pixels and over the untrained encoder. Rows or baselines without records are said to be missing.
 */
export function baselineGainLines(records: Rec[], rows: string[], standard: string, metrics: [string, string][]): string[] {
  const lines: string[] = [];
  for (const [metric, label] of metrics) {
    for (const row of rows) {
      const s = metricStats(records, row, metric);
      if (!s.n) {
        lines.push(`- ${row}, ${label}: no finished run has this metric.`);
        continue;
      }
      const refs = [standard, BASELINE_ROWS.pixels, BASELINE_ROWS.untrained].filter((r) => r !== row);
      const parts = refs.map((ref) => `vs ${ref === standard ? 'standard' : ref.replace('baseline: ', '')} ${describeGain(gainOver(records, row, ref, metric))}`);
      lines.push(`- ${row}, ${label}: ${s.mean.toFixed(1)}${s.std !== null ? ` ± ${s.std.toFixed(1)}` : ''} (${s.n} seed${s.n > 1 ? 's' : ''}); ${parts.join('; ')}.`);
    }
  }
  return lines;
}
