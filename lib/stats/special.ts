/**
 * Special functions behind the t and normal distributions, in double precision, with no dependency:
 *
 *   ln Γ(x)        Lanczos (g = 7, 9 terms), |relative error| ≲ 1e-15 for x > 0
 *   I_x(a, b)      regularised incomplete beta  = (1/B(a,b)) ∫_0^x u^(a−1) (1−u)^(b−1) du,
 *                  by its continued fraction (Numerical Recipes' betacf, modified Lentz)
 *   P(a, x), Q(a, x)  regularised incomplete gamma (series / continued fraction), for Φ
 *   Φ(z) = ½ erfc(−z/√2) = ½ Q(½, z²/2) for z ≤ 0, and 1 − Φ(−z) above
 *   Φ⁻¹(p)         Acklam's rational approximation refined by two Halley steps on Φ
 */

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return logGamma(x + 1) - Math.log(x); // Γ(x) = Γ(x + 1) / x
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < 9; i++) s += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b). */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

const FPMIN = 1e-300;
const EPS = 1e-15;
const MAXIT = 100000;

/** The continued fraction of I_x(a, b) (NR's betacf), evaluated by the modified Lentz method. */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < FPMIN) d = FPMIN;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAXIT; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = 1 + aa / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/**
 * The regularised incomplete beta function I_x(a, b), a, b > 0, x ∈ [0, 1]. `y` = 1 − x may be passed
 * when the caller has it more precisely than 1 − x (e.g. ν/(ν + t²) next to t²/(ν + t²)), and ln x, ln y
 * when x itself underflows (x = ν/t² for |t| > 1e162) while x^a does not.
 *
 *   I_x(a, b) = x^a (1−x)^b / (a B(a, b)) · CF(a, b, x)           when x < (a + 1)/(a + b + 2)
 *             = 1 − I_(1−x)(b, a)                                  otherwise (the fraction converges fast there)
 */
export function betaIncReg(a: number, b: number, x: number, y = 1 - x, lnx = Math.log(x), lny = Math.log(y)): number {
  if (!(lnx > -Infinity)) return 0;
  if (!(lny > -Infinity)) return 1;
  const front = Math.exp(a * lnx + b * lny - logBeta(a, b));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, y)) / b;
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a), a > 0, x ≥ 0. */
export function gammaIncRegUpper(a: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    // series for P(a, x) = e^(−x) x^a / Γ(a) · Σ x^n / (a (a+1) … (a+n))
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let n = 0; n < MAXIT; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-17) break;
    }
    return 1 - sum * front;
  }
  // continued fraction for Q(a, x) (modified Lentz)
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= MAXIT; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return front * h;
}

/** The standard normal CDF Φ(z) (relative precision kept in the lower tail). */
export function normalCdfUnchecked(z: number): number {
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  if (z <= 0) return 0.5 * gammaIncRegUpper(0.5, (z * z) / 2);
  return 1 - 0.5 * gammaIncRegUpper(0.5, (z * z) / 2);
}

/** The standard normal density φ(z). */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

// Acklam's coefficients (relative error 1.15e-9 before refinement).
const AA = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const AB = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const AC = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const AD = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/** Φ⁻¹(p) for p ∈ (0, 1). */
export function normalQuantileUnchecked(p: number): number {
  if (p > 0.5) return -normalQuantileUnchecked(1 - p);
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((AC[0] * q + AC[1]) * q + AC[2]) * q + AC[3]) * q + AC[4]) * q + AC[5]) / ((((AD[0] * q + AD[1]) * q + AD[2]) * q + AD[3]) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((AA[0] * r + AA[1]) * r + AA[2]) * r + AA[3]) * r + AA[4]) * r + AA[5]) * q) / (((((AB[0] * r + AB[1]) * r + AB[2]) * r + AB[3]) * r + AB[4]) * r + 1);
  }
  for (let k = 0; k < 2; k++) {
    // Halley's step on Φ(x) − p
    const e = normalCdfUnchecked(x) - p;
    const u = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
    x = x - u / (1 + 0.5 * x * u);
  }
  return x;
}
