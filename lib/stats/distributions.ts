/**
 * The normal and Student-t distributions (CDF, quantile, density), and the noncentral t CDF.
 *
 *   T ~ t(ν):      F(t) = ½ I_(ν/(ν+t²))(ν/2, ½)  for t ≤ 0,  and 1 − F(−t) for t > 0
 *                  f(t) = Γ((ν+1)/2) / (√(νπ) Γ(ν/2)) · (1 + t²/ν)^(−(ν+1)/2)
 *   t_p = F⁻¹(p):  safeguarded Newton on ln F(t) − ln p inside a bracket (bisection when a step leaves it),
 *                  to |Δt| ≤ 1e-15·|t|; closed forms for ν = 1 (−cot(πp)) and ν = 2; −Infinity (+Infinity)
 *                  where the quantile lies beyond the largest double (only for ν ≪ 1 with p near 0 or 1).
 *   T' ~ t(ν, δ) (noncentral, T' = (Z + δ)/√(V/ν), Z ~ N(0,1), V ~ χ²_ν):  for t ≥ 0, with x = t²/(t²+ν), λ = δ²/2,
 *       F(t; ν, δ) = Φ(−δ) + ½ Σ_(j≥0) [ P_j I_x(j+½, ν/2) + Q_j I_x(j+1, ν/2) ],
 *       P_j = e^(−λ) λ^j / j!,   Q_j = δ e^(−λ) λ^j / (√2 Γ(j + 3/2))
 *   (Guenther 1978; Lenth 1989, AS 243), summed outward from the Poisson mode j = ⌊λ⌋ so that no weight
 *   underflows for large δ, with I_x stepped by I_x(a+1, b) = I_x(a, b) − x^a (1−x)^b / (a B(a, b));
 *   F(t; ν, δ) = 1 − F(−t; ν, −δ) for t < 0.
 *
 * The exported functions check their arguments (ConfigError); t may be ±Infinity.
 */
import { ConfigError, show } from '../errors';
import { checkDf, checkOpenProbability } from './check';
import { betaIncReg, logGamma, normalCdfUnchecked, normalQuantileUnchecked } from './special';

function checkT(name: string, t: unknown): number {
  if (typeof t !== 'number' || Number.isNaN(t)) throw new ConfigError(`${name} must be a number (±Infinity allowed); got ${show(t)}`);
  return t;
}

/** Φ(z), the standard normal CDF. */
export function normalCdf(z: number): number {
  return normalCdfUnchecked(checkT('z', z));
}

/** Φ⁻¹(p), the standard normal quantile, p ∈ (0, 1). */
export function normalQuantile(p: number): number {
  return normalQuantileUnchecked(checkOpenProbability('p', p));
}

/** x = ν/(ν + t²), y = t²/(ν + t²) and their logs, without overflowing t² (nor losing ln x when x underflows). */
function tBetaArgs(t: number, df: number): [number, number, number, number] {
  const a = Math.abs(t);
  if (a < 1) {
    const [x, y] = [df / (df + a * a), (a * a) / (df + a * a)];
    return [x, y, Math.log(x), Math.log(y)];
  }
  const r = df / a / a; // ν/t²
  const lnr = Math.log(df) - 2 * Math.log(a);
  return [r / (1 + r), 1 / (1 + r), lnr - Math.log1p(r), -Math.log1p(r)];
}

function tCdf(t: number, df: number): number {
  if (t === 0) return 0.5;
  if (!Number.isFinite(t)) return t > 0 ? 1 : 0;
  const [x, y, lnx, lny] = tBetaArgs(t, df);
  const lower = 0.5 * betaIncReg(df / 2, 0.5, x, y, lnx, lny); // P(T ≤ −|t|)
  return t < 0 ? lower : 1 - lower;
}

function tLogPdf(t: number, df: number): number {
  const a = Math.abs(t);
  // ln(1 + t²/ν), written as 2 ln|t| − ln ν + ln(1 + ν/t²) past |t| = 1 so that t² cannot overflow
  const log1pT2 = a < 1 ? Math.log1p((a * a) / df) : 2 * Math.log(a) - Math.log(df) + Math.log1p(df / a / a);
  return logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI) - ((df + 1) / 2) * log1pT2;
}

/** P(T ≤ t) for T ~ Student t with `df` > 0 degrees of freedom (df need not be an integer). */
export function studentTCdf(t: number, df: number): number {
  return tCdf(checkT('t', t), checkDf(df));
}

/** The Student-t density at t. */
export function studentTPdf(t: number, df: number): number {
  checkDf(df);
  const x = checkT('t', t);
  return Number.isFinite(x) ? Math.exp(tLogPdf(x, df)) : 0;
}

function tQuantile(p: number, df: number): number {
  if (p === 0.5) return 0;
  if (p > 0.5) return -tQuantile(1 - p, df);
  if (df === 1) return -1 / Math.tan(Math.PI * p);
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  // bracket [lo, hi] with F(lo) ≤ p < F(hi), hi ≤ 0
  let hi = 0;
  let lo = Math.min(-1, normalQuantileUnchecked(p));
  while (tCdf(lo, df) > p) {
    hi = lo;
    lo *= 2;
    if (!Number.isFinite(lo)) return -Infinity; // beyond the doubles (only for ν ≪ 1 and p near 0)
  }
  const lnp = Math.log(p);
  let t = Math.max(lo, Math.min(hi, normalQuantileUnchecked(p) * (1 + (1 + normalQuantileUnchecked(p) ** 2) / (4 * df))));
  if (!(t > lo && t < hi)) t = (lo + hi) / 2;
  for (let it = 0; it < 300; it++) {
    const F = tCdf(t, df);
    if (F === p) return t;
    if (F < p) lo = t;
    else hi = t;
    // Newton on g(t) = ln F(t) − ln p: g' = f/F
    let next = t - (Math.log(F) - lnp) * Math.exp(Math.log(F) - tLogPdf(t, df));
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - t) <= 1e-15 * Math.abs(t) || hi - lo <= 1e-15 * Math.abs(t)) return next;
    t = next;
  }
  return t;
}

/** The p-quantile of Student's t with `df` degrees of freedom: the t with P(T ≤ t) = p, p ∈ (0, 1). */
export function studentTQuantile(p: number, df: number): number {
  return tQuantile(checkOpenProbability('p', p), checkDf(df));
}

/** F(t; ν, δ) for t ≥ 0 (see the module comment). */
function nctCdfNonNegative(t: number, df: number, delta: number): number {
  const phi = normalCdfUnchecked(-delta);
  if (t === 0) return phi;
  const t2 = t * t;
  if (!Number.isFinite(t2)) return 1;
  const x = t2 / (t2 + df);
  const y = df / (t2 + df);
  const b = df / 2;
  const lambda = (delta * delta) / 2;
  const k = Math.floor(lambda);
  const lnx = Math.log(x);
  const lny = Math.log(y);
  // log of g(a) = I_x(a, b) − I_x(a+1, b) = x^a y^b Γ(a+b) / (Γ(a+1) Γ(b))
  const logG = (a: number) => a * lnx + b * lny + logGamma(a + b) - logGamma(a + 1) - logGamma(b);
  const sign = delta < 0 ? -1 : 1;
  const lnLambda = Math.log(lambda);
  const pk = Math.exp(-lambda + k * lnLambda - logGamma(k + 1));
  const qk = sign * Math.exp(Math.log(Math.abs(delta)) - lambda + k * lnLambda - 0.5 * Math.LN2 - logGamma(k + 1.5));
  const ak = betaIncReg(k + 0.5, b, x, y);
  const ck = betaIncReg(k + 1, b, x, y);
  const gak = Math.exp(logG(k + 0.5));
  const gck = Math.exp(logG(k + 1));
  let sum = pk * ak + qk * ck;
  // forward: j = k+1, k+2, …
  {
    let [p, q, A, C, gA, gC] = [pk, qk, ak, ck, gak, gck];
    for (let j = k + 1; j < k + 1e6; j++) {
      p *= lambda / j;
      q *= lambda / (j + 0.5);
      A -= gA;
      C -= gC;
      const aA = j - 0.5; // the a of the A-chain before this step
      gA *= (x * (aA + b)) / (aA + 1);
      gC *= (x * (j + b)) / (j + 1);
      if (A < 0) A = 0;
      if (C < 0) C = 0;
      const term = p * A + q * C;
      sum += term;
      if (j > lambda && (p + Math.abs(q)) * A <= 1e-17 * Math.abs(sum)) break;
      if (p === 0 && q === 0) break;
    }
  }
  // backward: j = k−1, …, 0
  {
    let [p, q, A, C, gA, gC] = [pk, qk, ak, ck, gak, gck];
    for (let j = k - 1; j >= 0; j--) {
      p *= (j + 1) / lambda;
      q *= (j + 1.5) / lambda;
      const aA = j + 0.5; // the new a of the A-chain
      const aC = j + 1;
      gA *= (aA + 1) / (x * (aA + b)); // g(a) from g(a+1)
      gC *= (aC + 1) / (x * (aC + b));
      A += gA;
      C += gC;
      if (A > 1) A = 1;
      if (C > 1) C = 1;
      sum += p * A + q * C;
      if ((p + Math.abs(q)) <= 1e-17 * Math.abs(sum)) break;
    }
  }
  return Math.min(1, Math.max(0, phi + 0.5 * sum));
}

function nctCdf(t: number, df: number, delta: number): number {
  if (delta === 0) return tCdf(t, df);
  return t >= 0 ? nctCdfNonNegative(t, df, delta) : 1 - nctCdfNonNegative(-t, df, -delta);
}

/** P(T' ≤ t) for T' ~ noncentral t with `df` degrees of freedom and noncentrality `delta`. */
export function noncentralTCdf(t: number, df: number, delta: number): number {
  checkDf(df);
  if (typeof delta !== 'number' || !Number.isFinite(delta)) throw new ConfigError(`delta (the noncentrality) must be a finite number; got ${show(delta)}`);
  return nctCdf(checkT('t', t), df, delta);
}

/** Unchecked versions for the other modules of lib/stats (arguments already validated). */
export const unchecked = { tCdf, tQuantile, nctCdf };
