/**
 * The smallest true difference a paired comparison can detect.
 *
 * With n pairs whose differences have standard deviation σ, the two-sided paired t-test at level α
 * rejects when |T| > t_c = t_(n−1, 1−α/2). If the true mean difference is Δ, T follows the noncentral t
 * with ν = n − 1 and δ = Δ√n/σ, so its power is
 *
 *   power(δ) = P(T' > t_c) + P(T' < −t_c) = 1 − F(t_c; ν, δ) + F(−t_c; ν, δ),
 *
 * increasing in δ ≥ 0 from α at δ = 0. The minimal detectable difference is Δ = δ* σ/√n, where δ* solves
 * power(δ*) = the target power (found by bisection to |Δδ| ≤ 1e-13·δ*).
 *
 * For comparison only (it is too small for few pairs), the normal approximation is
 * Δ ≈ (z_(1−α/2) + z_power) σ/√n.
 */
import { ConfigError, show } from '../errors';
import { checkDf } from './check';
import { unchecked } from './distributions';

export interface PowerOptions {
  /** Two-sided significance level, in (0, 1); default 0.05. */
  alpha?: number;
  /** The power to detect with, in (alpha, 1); default 0.8. */
  power?: number;
}

/** P(reject) of the two-sided paired t-test with ν degrees of freedom at noncentrality δ. */
export function pairedTPower(delta: number, df: number, alpha = 0.05): number {
  checkDf(df);
  checkAlpha(alpha);
  if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new ConfigError(`delta (the noncentrality) must be a finite number; got ${show(delta)}`);
  return powerAt(delta, df, unchecked.tQuantile(1 - alpha / 2, df));
}

function powerAt(delta: number, df: number, tc: number): number {
  return 1 - unchecked.nctCdf(tc, df, delta) + unchecked.nctCdf(-tc, df, delta);
}

function checkAlpha(alpha: unknown): number {
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) throw new ConfigError(`alpha must be a significance level in (0, 1), e.g. 0.05; got ${show(alpha)}`);
  return alpha;
}

/**
 * The smallest true mean paired difference that a two-sided paired t-test with `n` pairs (differences of
 * standard deviation `sd`) detects with probability `power` at level `alpha` (see the module comment).
 */
export function minDetectableDifference(sd: number, n: number, opts: PowerOptions = {}): number {
  if (typeof sd !== 'number' || !Number.isFinite(sd) || !(sd > 0)) throw new ConfigError(`sd must be a finite number > 0; got ${show(sd)}`);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2) throw new ConfigError(`a paired t-test needs n ≥ 2 pairs (an integer); got ${show(n)}`);
  const alpha = checkAlpha(opts.alpha ?? 0.05);
  const power = opts.power ?? 0.8;
  if (typeof power !== 'number' || !(power > alpha && power < 1)) throw new ConfigError(`power must be in (alpha, 1) = (${alpha}, 1); got ${show(power)}`);
  const df = n - 1;
  const tc = unchecked.tQuantile(1 - alpha / 2, df);
  let lo = 0;
  let hi = 1;
  while (powerAt(hi, df, tc) < power) {
    lo = hi;
    hi *= 2;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (powerAt(mid, df, tc) < power) lo = mid;
    else hi = mid;
  }
  return (((lo + hi) / 2) * sd) / Math.sqrt(n);
}
