/**
 * `rank`: paper A's rank analysis ("Residual Connections Harm Generative Representation Learning",
 * arXiv 2404.10947, Sec. 4): lower effective rank of the features goes with better kNN and linear probe,
 * and decayed shortcuts lower it. Built entirely from the `mae-sweep` run records of the same preset —
 * each record carries the effective rank of every encoder block's output (`extra.blockErank`, on the test
 * features), of the final features over training (`history.rankStep`, `history.erank`), and kNN/LP — so it
 * needs neither the checkpoints nor any retraining. Its tables and figures go to `results/rank/<preset>/`.
 *
 *   erank(X) = exp(−Σ p_i log p_i),  p_i = σ_i / Σ σ_j  over the singular values of the centred features
 *   ρ_S = Pearson correlation of the ranks (Spearman), ties given their average rank
 */
import type { RunRecord } from '../../report';
import { spearman } from '../../stats';
import { alphaMinOf, skipsOf } from '../mae-sweep';
import { baselineOf, BASELINE_ROWS, metricStats } from '../shared/frozen-features';

/** The experiment name (the results folder). */
export const RANK_EXPERIMENT = 'rank';

/** Spearman's ρ lives in lib/stats (null, not NaN, with fewer than 3 pairs or a constant side). */
export { averageRanks, spearman } from '../../stats';

/** One point per run: final-feature erank against kNN and LP (in %). */
export interface RankPoint {
  row: string;
  seed: number;
  alphaMin: number | null;
  skips: boolean;
  erank: number;
  knn: number;
  linearProbe: number;
}

/** One point per trained run (baseline rows are not MAE runs: they stay out of the correlations). */
export function rankPoints(records: RunRecord[]): RankPoint[] {
  const out: RankPoint[] = [];
  for (const r of records) {
    if (baselineOf(r.config)) continue;
    const { erank, knn, linearProbe } = r.metrics;
    if (typeof erank !== 'number' || typeof knn !== 'number' || typeof linearProbe !== 'number') continue;
    out.push({ row: r.row, seed: r.seed, alphaMin: alphaMinOf(r.config), skips: skipsOf(r.config), erank, knn: 100 * knn, linearProbe: 100 * linearProbe });
  }
  return out;
}

/** Spearman ρ of erank against kNN and LP over the given points (null where ρ is undefined: < 3 points or a constant side). */
export function rankCorrelations(points: RankPoint[]): { n: number; knn: number | null; linearProbe: number | null } {
  const e = points.map((p) => p.erank);
  return { n: points.length, knn: spearman(e, points.map((p) => p.knn)), linearProbe: spearman(e, points.map((p) => p.linearProbe)) };
}

/** Mean effective rank of every encoder block's output per row (over seeds): `rows × blocks`. */
export function blockErankByRow(records: RunRecord[]): { rows: string[]; erank: number[][] } {
  const by = new Map<string, number[][]>();
  for (const r of records) {
    const b = r.extra?.blockErank as number[] | undefined;
    if (!Array.isArray(b) || baselineOf(r.config) === 'pixels') continue; // pixels have no blocks
    if (!by.has(r.row)) by.set(r.row, []);
    by.get(r.row)!.push(b);
  }
  const rows = [...by.keys()];
  return {
    rows,
    erank: rows.map((row) => {
      const runs = by.get(row)!;
      return runs[0].map((_, l) => runs.reduce((s, b) => s + b[l], 0) / runs.length);
    }),
  };
}

/** Per-block erank as records whose metrics are `block1 … blockL` (1-based), for `summarise`. */
export function blockErankRecords(records: RunRecord[]): RunRecord[] {
  return records
    .filter((r) => Array.isArray(r.extra?.blockErank) && baselineOf(r.config) !== 'pixels')
    .map((r) => ({
      ...r,
      metrics: Object.fromEntries((r.extra!.blockErank as number[]).map((v, l) => [`block${l + 1}`, v])),
    }));
}

/**
 * The rank claim on this data, computed: does lower final-feature erank go with higher kNN / LP across
 * runs (ρ < 0), and did α_min = 0.6 end with a lower erank than standard residuals?
 */
export function rankVerdict(records: RunRecord[]): string {
  const pts = rankPoints(records);
  const all = rankCorrelations(pts);
  const sweep = rankCorrelations(pts.filter((p) => p.alphaMin !== null && p.skips));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const std = pts.filter((p) => p.alphaMin === 1 && p.skips).map((p) => p.erank);
  const dec = pts.filter((p) => p.alphaMin === 0.6 && p.skips).map((p) => p.erank);
  const fmt = (r: number | null) => (r === null ? 'undefined' : r.toFixed(2));
  const says = (r: number | null) =>
    r === null ? 'no correlation can be computed' : r < -0.3 ? 'lower rank went with better features' : r > 0.3 ? 'lower rank went with WORSE features' : 'no clear monotone relation';
  const lines = [
    `Across all ${all.n} runs: Spearman ρ(erank, kNN) = ${fmt(all.knn)} (${says(all.knn)}), ρ(erank, LP) = ${fmt(all.linearProbe)} (${says(all.linearProbe)}).`,
    `Within the α_min sweep with skips (${sweep.n} runs): ρ(erank, kNN) = ${fmt(sweep.knn)}, ρ(erank, LP) = ${fmt(sweep.linearProbe)}.`,
  ];
  if (std.length && dec.length) {
    lines.push(
      `Final-feature erank: standard ${mean(std).toFixed(2)} vs α_min = 0.6 ${mean(dec).toFixed(2)} ` +
        `(${mean(dec) < mean(std) ? 'decayed shortcuts lowered the rank, as the paper reports' : 'decayed shortcuts did NOT lower the rank here'}).`,
    );
  }
  const px = metricStats(records, BASELINE_ROWS.pixels, 'erank', 1);
  const un = metricStats(records, BASELINE_ROWS.untrained, 'erank', 1);
  if (px.n || un.n) {
    lines.push(
      `Baselines (not in the correlations): raw pixels erank ${px.n ? px.mean.toFixed(2) : 'n/a'}, untrained encoder ${un.n ? `${un.mean.toFixed(2)}${un.std !== null ? ` ± ${un.std.toFixed(2)}` : ''}` : 'n/a'}` +
        (std.length && dec.length ? `; standard ${mean(std).toFixed(2)}, α_min = 0.6 ${mean(dec).toFixed(2)}.` : '.'),
    );
  }
  return lines.join('\n\n');
}
