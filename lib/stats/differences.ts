/**
 * Two-sample differences with Student-t intervals and two-sided p-values.
 *
 * Paired (the same seeds on both sides; pairs by index): d_i = a_i − b_i, n pairs, ν = n − 1,
 *   mean = d̄,  sd = √(Σ (d_i − d̄)² / (n − 1)),  se = sd/√n,  t = d̄/se,
 *   p = 2 P(T_ν ≤ −|t|),  [lo, hi] = d̄ ∓ t_(ν, (1+c)/2) · se           (scipy.stats.ttest_rel, t.interval)
 *   sd = 0 (all differences equal): the interval is [d̄, d̄]; t = ±Infinity and p = 0 when d̄ ≠ 0,
 *   t = 0 and p = 1 when d̄ = 0.
 *
 * Welch (independent samples, unequal variances): va = s_a²/n_a, vb = s_b²/n_b,
 *   mean = ā − b̄,  se = √(va + vb),  t = mean/se,
 *   ν = (va + vb)² / ( va²/(n_a − 1) + vb²/(n_b − 1) )                   (Welch–Satterthwaite)
 *   p = 2 P(T_ν ≤ −|t|),  [lo, hi] = mean ∓ t_(ν, (1+c)/2) · se          (scipy.stats.ttest_ind(equal_var=False))
 *   Both variances 0: ν (0/0) is taken as n_a + n_b − 2, the interval is [mean, mean], t and p as above.
 */
import { ConfigError } from '../errors';
import { checkConfidence, checkFinite } from './check';
import { sampleVariance } from './describe';
import { unchecked } from './distributions';

export interface PairedDifference {
  /** Number of pairs. */
  n: number;
  /** Mean of a_i − b_i. */
  mean: number;
  /** Sample standard deviation of the differences (n − 1). */
  sd: number;
  /** sd/√n. */
  se: number;
  /** The two-sided `confidence` interval of the mean difference. */
  lo: number;
  hi: number;
  /** mean/se (±Infinity when sd = 0 and mean ≠ 0). */
  t: number;
  /** n − 1. */
  df: number;
  /** Two-sided p-value of mean = 0. */
  p: number;
  confidence: number;
}

export interface WelchDifference {
  /** mean(a) − mean(b). */
  mean: number;
  se: number;
  lo: number;
  hi: number;
  t: number;
  /** Welch–Satterthwaite degrees of freedom (not an integer in general). */
  df: number;
  p: number;
  na: number;
  nb: number;
  confidence: number;
}

/** t, p and the interval from a mean, its standard error and ν (se = 0 handled as documented above). */
function tInterval(mean: number, se: number, df: number, confidence: number) {
  if (se === 0) return { t: mean === 0 ? 0 : mean > 0 ? Infinity : -Infinity, p: mean === 0 ? 1 : 0, lo: mean, hi: mean };
  const t = mean / se;
  const p = Math.min(1, 2 * unchecked.tCdf(-Math.abs(t), df));
  const q = unchecked.tQuantile((1 + confidence) / 2, df);
  return { t, p, lo: mean - q * se, hi: mean + q * se };
}

/** The paired difference a − b: mean, sd, se, the Student-t interval, t, df and the two-sided p. */
export function pairedDifference(a: readonly number[], b: readonly number[], confidence = 0.95): PairedDifference {
  checkFinite('a', a);
  checkFinite('b', b);
  checkConfidence(confidence);
  if (a.length !== b.length) throw new ConfigError(`a paired difference needs one b per a (pairs by index, aligned by seed); got ${a.length} values in a and ${b.length} in b`);
  const n = a.length;
  if (n < 2) throw new ConfigError(`a paired interval needs at least 2 pairs; got ${n}`);
  const d = a.map((x, i) => x - b[i]);
  if (!d.every(Number.isFinite)) {
    const i = d.findIndex((x) => !Number.isFinite(x));
    throw new ConfigError(`a[${i}] − b[${i}] overflows (${a[i]} − ${b[i]}); the values must differ by a finite amount`);
  }
  const { mean, variance } = sampleVariance(d);
  const sd = Math.sqrt(variance);
  if (!Number.isFinite(sd)) throw new ConfigError(`the spread of a − b overflows (its variance is not finite); the values must be of a size whose squares are finite`);
  const se = sd / Math.sqrt(n);
  return { n, mean, sd, se, ...tInterval(mean, se, n - 1, confidence), df: n - 1, confidence };
}

/** Welch's difference mean(a) − mean(b) of two independent samples (each of at least 2 values). */
export function welchDifference(a: readonly number[], b: readonly number[], confidence = 0.95): WelchDifference {
  checkFinite('a', a);
  checkFinite('b', b);
  checkConfidence(confidence);
  const [na, nb] = [a.length, b.length];
  if (na < 2 || nb < 2) throw new ConfigError(`Welch's interval needs at least 2 values on each side; got ${na} in a and ${nb} in b`);
  const A = sampleVariance(a);
  const B = sampleVariance(b);
  const mean = A.mean - B.mean;
  const va = A.variance / na;
  const vb = B.variance / nb;
  const se = Math.sqrt(va + vb);
  const df = va + vb === 0 ? na + nb - 2 : (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1));
  if (!Number.isFinite(mean) || !Number.isFinite(se)) throw new ConfigError(`Welch's difference of a and b overflows; the values must be of a size whose squares are finite`);
  return { mean, se, ...tInterval(mean, se, df, confidence), df, na, nb, confidence };
}
