/**
 * Descriptive statistics of one sample x_1 … x_n (finite numbers; anything else is a ConfigError naming
 * its index and value):
 *
 *   mean = (1/n) Σ x_i
 *   std  = √( Σ (x_i − mean)² / (n − 1) )          the sample standard deviation (Bessel's n − 1)
 *   se   = std / √n                                 the standard error of the mean
 *   median = x_((n+1)/2) for odd n, (x_(n/2) + x_(n/2+1)) / 2 for even n (order statistics)
 *
 * The one convention for small samples: n = 1 → std and se are `null` (one value has no spread to
 * estimate; not NaN, not 0); n = 0 → a ConfigError (there is no mean).
 */
import { ConfigError, show } from '../errors';
import { checkFinite } from './check';

export interface MeanStd {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); null when n = 1. */
  std: number | null;
  /** std/√n; null when n = 1. */
  se: number | null;
}

function nonEmpty(name: string, xs: unknown, what: string): readonly number[] {
  const v = checkFinite(name, xs);
  if (v.length === 0) throw new ConfigError(`${what} needs at least 1 value; ${name} is empty`);
  return v;
}

/** Mean, sample standard deviation and standard error of `xs` (see the module comment for n < 2). */
export function meanStd(xs: readonly number[], name = 'xs'): MeanStd {
  const v = nonEmpty(name, xs, 'a mean');
  const n = v.length;
  const mean = v.reduce((s, x) => s + x, 0) / n;
  if (n === 1) return { n, mean, std: null, se: null };
  const ss = v.reduce((s, x) => s + (x - mean) ** 2, 0);
  const std = Math.sqrt(ss / (n - 1));
  return { n, mean, std, se: std / Math.sqrt(n) };
}

/** The sample variance Σ (x_i − mean)² / (n − 1), for n ≥ 2 (unchecked; for this module's callers). */
export function sampleVariance(v: readonly number[]): { mean: number; variance: number } {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return { mean, variance: v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1) };
}

/** The median: the middle order statistic, or the average of the two middle ones for even n. */
export function median(xs: readonly number[], name = 'xs', opts: { allowInfinity?: boolean } = {}): number {
  if (opts.allowInfinity) {
    // Times to a target that some runs never reached are +∞ ("never"): they sort last and can be the median.
    if (!Array.isArray(xs) || !xs.length) throw new ConfigError(`${name} must be a non-empty list for a median; got ${show(xs)}`);
    xs.forEach((x, i) => {
      if (typeof x !== 'number' || Number.isNaN(x)) throw new ConfigError(`${name}[${i}] must be a number (±Infinity allowed here); got ${show(x)}`);
    });
  }
  const v = [...(opts.allowInfinity ? xs : nonEmpty(name, xs, 'a median'))].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
