/** Small statistics the ancre-lm analyses share (not part of the study's exports). */

/** A metric value as a number; NaN for anything else (a missing or null metric). */
export const num = (x: unknown): number => (typeof x === 'number' ? x : NaN);

/** Mean, sample std (NaN below two values) and count of the finite values. */
export function meanStd(xs: number[]): { mean: number; std: number; n: number } {
  const v = xs.filter((x) => Number.isFinite(x));
  const n = v.length;
  const mean = n ? v.reduce((a, b) => a + b, 0) / n : NaN;
  const std = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { mean, std, n };
}
