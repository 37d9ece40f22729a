/**
 * The verdict of one comparison of a against b on one metric, paired by seed.
 *
 * The caller aligns the two lists by seed (a[i] and b[i] come from the same seed); d_i = a_i − b_i.
 *
 *   n < minPairs (default 2, the least a paired interval needs)  → 'not enough seeds'
 *   otherwise the paired Student-t interval [lo, hi] of mean(d) at `confidence`:
 *     entirely on the good side of 0 (hi < 0 when lower is better, lo > 0 otherwise) → 'better'
 *     entirely on the bad side                                                       → 'worse'
 *     containing 0                                                                   → 'no detectable difference',
 *       with the smallest true difference these n seeds would detect (power 0.8 at α = 1 − confidence,
 *       `minDetectableDifference` at the observed sd of the differences)
 *
 * minPairs = 2 is the default because the t interval already widens for few seeds (t_(1, 0.975) = 12.7):
 * two seeds give an honest, wide interval, and the reason shows how large a difference they could detect.
 * A caller that wants more raises minPairs. `word` always describes a relative to b.
 *
 * The reason prints the mean and the interval with the decimals that give the interval's half-width 3
 * significant digits, sd and the detectable difference with 3 significant digits, p with 2 (p < 0.001 below).
 * All differences equal (sd = 0): the interval is the point [mean, mean] (see pairedDifference) and mdd is null.
 */
import { ConfigError, show } from '../errors';
import { checkConfidence, checkFinite } from './check';
import { pairedDifference, type PairedDifference } from './differences';
import { minDetectableDifference } from './power';

export type Verdict = 'better' | 'worse' | 'no detectable difference' | 'not enough seeds';

export interface CompareOptions {
  /** Whether a lower value of the metric is better (loss, FID, MSE: true; accuracy: false). Required. */
  lowerIsBetter: boolean;
  /** The confidence of the paired interval, in (0, 1); default 0.95. */
  confidence?: number;
  /** The fewest pairs (seeds) a verdict is given from, an integer ≥ 2; default 2. */
  minPairs?: number;
  /** The power at which the minimal detectable difference is quoted; default 0.8. */
  power?: number;
  /** How the reason names the difference, e.g. 'ANCRe − residual test loss'; default 'a − b'. */
  label?: string;
}

export interface Comparison {
  word: Verdict;
  /** Number of pairs (seeds). */
  n: number;
  /** The paired difference a − b; null when there are not enough seeds. */
  diff: PairedDifference | null;
  /** The smallest true difference these n seeds detect at the observed sd; null with too few seeds or sd = 0. */
  mdd: number | null;
  /** One sentence a reader can check. */
  reason: string;
}

/** `x` with `decimals` decimals, '−' for minus, and no '-0'. */
function fixed(x: number, decimals: number): string {
  const s = x.toFixed(decimals);
  return (Number(s) === 0 ? s.replace(/^-/, '') : s).replace(/^-/, '−');
}

/** Decimals that show `scale` with 3 significant digits (0 … 12). */
function decimalsFor(scale: number): number {
  if (!(scale > 0) || !Number.isFinite(scale)) return 3;
  return Math.max(0, Math.min(12, 2 - Math.floor(Math.log10(scale))));
}

/** A number on its own with `digits` significant digits (default 3). */
function sig(x: number, digits = 3): string {
  if (x === 0) return '0';
  return fixed(x, Math.max(0, Math.min(12, digits - 1 - Math.floor(Math.log10(Math.abs(x))))));
}

/** p with 2 significant digits, 'p < 0.001' below that. */
function fmtP(p: number): string {
  return p < 0.001 ? 'p < 0.001' : `p = ${sig(p, 2)}`;
}

/** Compares a with b, paired by index (see the module comment). */
export function compare(a: readonly number[], b: readonly number[], opts: CompareOptions): Comparison {
  if (typeof opts !== 'object' || opts === null) throw new ConfigError(`compare needs options with lowerIsBetter (true or false); got ${show(opts)}`);
  if (typeof opts.lowerIsBetter !== 'boolean') throw new ConfigError(`lowerIsBetter must be true or false (is a lower value of the metric better?); got ${show(opts.lowerIsBetter)}`);
  const confidence = checkConfidence(opts.confidence ?? 0.95);
  const minPairs = opts.minPairs ?? 2;
  if (typeof minPairs !== 'number' || !Number.isInteger(minPairs) || minPairs < 2) throw new ConfigError(`minPairs must be an integer ≥ 2 (a paired interval needs 2 pairs); got ${show(minPairs)}`);
  // 1 − 0.95 is 0.050000000000000044 in floating point; 12 significant digits keep messages readable
  const alpha = Number((1 - confidence).toPrecision(12));
  const power = opts.power ?? 0.8;
  if (typeof power !== 'number' || !(power > alpha && power < 1)) throw new ConfigError(`power must be in (1 − confidence, 1) = (${alpha}, 1); got ${show(power)}`);
  const label = opts.label ?? 'a − b';
  checkFinite('a', a);
  checkFinite('b', b);
  if (a.length !== b.length) throw new ConfigError(`compare pairs a and b by seed and needs one b per a; got ${a.length} values in a and ${b.length} in b`);
  const n = a.length;
  const pct = `${+(confidence * 100).toFixed(6)}%`;

  if (n < minPairs) {
    const reason =
      n === 0
        ? 'no seeds: there is nothing to compare'
        : n === 1
          ? `one seed: ${label} = ${sig(a[0] - b[0])} on it, but one seed cannot separate a difference from seed-to-seed noise (a paired interval needs at least 2 seeds${minPairs > 2 ? `; this comparison asks for ${minPairs}` : ''})`
          : `${n} seeds, fewer than the ${minPairs} this comparison asks for (minPairs)`;
    return { word: 'not enough seeds', n, diff: null, mdd: null, reason };
  }

  const diff = pairedDifference(a, b, confidence);
  const mdd = diff.sd > 0 ? minDetectableDifference(diff.sd, n, { alpha, power }) : null;
  // the interval's half-width sets the digits, but never more than 4 significant digits of the mean (a
  // half-width of rounding noise, 1e-15, would otherwise print 12 decimals)
  const width = diff.sd > 0 ? (diff.hi - diff.lo) / 2 : 0;
  const dec = decimalsFor(width > 0 ? Math.max(width, 1e-2 * Math.abs(diff.mean)) : Math.abs(diff.mean));
  const f = (x: number) => fixed(x, dec);
  const interval = `${label} = ${f(diff.mean)}, ${pct} CI [${f(diff.lo)}, ${f(diff.hi)}] over ${n} seeds (paired t, ${fmtP(diff.p)})`;
  const good = opts.lowerIsBetter ? diff.hi < 0 : diff.lo > 0;
  const bad = opts.lowerIsBetter ? diff.lo > 0 : diff.hi < 0;
  const point = diff.sd === 0 ? ` (all ${n} differences are equal, so the interval is a point)` : '';
  const side = (below: boolean) => `the whole interval is ${below ? 'below' : 'above'} 0${point}`;
  const prefers = opts.lowerIsBetter ? 'lower is better' : 'higher is better';
  if (good) return { word: 'better', n, diff, mdd, reason: `${interval}: ${side(opts.lowerIsBetter)} and ${prefers}` };
  if (bad) return { word: 'worse', n, diff, mdd, reason: `${interval}: ${side(!opts.lowerIsBetter)} and ${prefers}` };
  const detect =
    mdd === null
      ? `all ${n} differences are exactly 0`
      : `it contains 0; with the observed sd of the differences (${sig(diff.sd)}), ${n} seeds detect a true difference of ${sig(mdd)} or more (power ${power}, α = ${alpha})`;
  return { word: 'no detectable difference', n, diff, mdd, reason: `${interval}: ${detect}` };
}
