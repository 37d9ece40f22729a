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
interface Rec {
  row: string;
  metrics: { [k: string]: unknown };
}

/** Mean, sample std and count of a metric (×scale) over a row's records with a finite value. */
export function metricStats(records: Rec[], row: string, metric: string, scale = 100): { mean: number; std: number; n: number } {
  const v = records.filter((r) => r.row === row).map((r) => r.metrics[metric]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).map((x) => x * scale);
  const n = v.length;
  const mean = n ? v.reduce((a, b) => a + b, 0) / n : NaN;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

export interface Gain {
  /** The reference row. */
  vs: string;
  /** Mean of the row minus mean of the reference, in points. */
  delta: number;
  /** Standard error of that difference (NaN when neither side has two seeds). */
  se: number;
  /** 'better' / 'worse' beyond 2 standard errors, 'within' 2 SE, or 'no error estimate'. */
  judged: 'better' | 'worse' | 'within' | 'no error estimate';
}

/**
 * The row's gain over `ref` on `metric`. A seed-independent reference (raw pixels: one run, no spread)
 * contributes no variance, so the SE is the row's own; with one seed on both sides there is none.
 */
export function gainOver(records: Rec[], row: string, ref: string, metric: string, scale = 100): Gain | null {
  const a = metricStats(records, row, metric, scale);
  const b = metricStats(records, ref, metric, scale);
  if (!a.n || !b.n) return null;
  const delta = a.mean - b.mean;
  const seedFree = (s: { n: number }, name: string) => s.n === 1 && name === BASELINE_ROWS.pixels;
  const va = a.n > 1 ? a.std ** 2 / a.n : seedFree(a, row) ? 0 : NaN;
  const vb = b.n > 1 ? b.std ** 2 / b.n : seedFree(b, ref) ? 0 : NaN;
  const se = Math.sqrt(va + vb);
  const judged = !Number.isFinite(se) || (a.n < 2 && b.n < 2) ? 'no error estimate' : Math.abs(delta) > 2 * se ? (delta > 0 ? 'better' : 'worse') : 'within';
  return { vs: ref, delta, se, judged };
}

const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

/** `Δ = +3.1 ± 0.8 (better beyond 2 SE)` */
export function describeGain(g: Gain | null): string {
  if (!g) return 'n/a (no runs with this metric)';
  const se = Number.isFinite(g.se) ? ` ± ${g.se.toFixed(1)}` : '';
  const j = g.judged === 'better' ? 'better beyond 2 SE' : g.judged === 'worse' ? 'worse beyond 2 SE' : g.judged === 'within' ? 'within 2 SE' : 'no error estimate';
  return `${signed(g.delta)}${se} (${j})`;
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
      lines.push(`- ${row}, ${label}: ${s.mean.toFixed(1)}${s.n > 1 ? ` ± ${s.std.toFixed(1)}` : ''} (${s.n} seed${s.n > 1 ? 's' : ''}); ${parts.join('; ')}.`);
    }
  }
  return lines;
}
