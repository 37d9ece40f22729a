/**
 * Rank correlation.
 *
 *   averageRanks: ranks 1 … n of the values, ties sharing the average of the ranks they span
 *   ρ_S(x, y) = Pearson correlation of averageRanks(x) and averageRanks(y)
 *             = Σ (r_i − r̄)(s_i − s̄) / √( Σ (r_i − r̄)² Σ (s_i − s̄)² ),  r̄ = s̄ = (n + 1)/2
 *   (scipy.stats.spearmanr). null, not NaN, when it says nothing: fewer than 3 pairs (with 2 it is always
 *   ±1) or a side whose values are all equal.
 */
import { ConfigError } from '../errors';
import { checkFinite } from './check';

/** Ranks 1..n with ties sharing their average rank. */
export function averageRanks(x: readonly number[]): number[] {
  const idx = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(x.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman's rank correlation of paired samples (pairs by index); null with fewer than 3 pairs or a constant side. */
export function spearman(x: readonly number[], y: readonly number[]): number | null {
  checkFinite('x', x);
  checkFinite('y', y);
  if (x.length !== y.length) throw new ConfigError(`spearman: ${x.length} x values but ${y.length} y values; it needs one y per x`);
  const n = x.length;
  if (n < 3) return null;
  const [rx, ry] = [averageRanks(x), averageRanks(y)];
  const mean = (n + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) ** 2;
    syy += (ry[i] - mean) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : null;
}
