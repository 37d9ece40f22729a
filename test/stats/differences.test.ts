/**
 * lib/stats/differences.ts: the paired difference against scipy.stats.ttest_rel (and its
 * confidence_interval, i.e. t.interval on the differences), Welch's difference against
 * scipy.stats.ttest_ind(equal_var=False) with t.interval at the Welch–Satterthwaite df; the sd = 0
 * convention; every bad input.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { pairedDifference, welchDifference } from '../../lib/stats';
import { ConfigError } from '../../lib/errors';
import { close, noNaN } from './close';

// [a, b, confidence, mean(d), std(d, ddof=1), sem(d), r.statistic, r.pvalue, ci.low, ci.high]
//   with d = a − b, r = scipy.stats.ttest_rel(a, b), ci = r.confidence_interval(confidence)
const PAIRED = [
  [[1, 2, 3, 4.5], [0.5, 1.2, 3.3, 3], 0.95, 0.625, 0.7455423082115012, 0.3727711541057506, 1.6766318775371098, 0.19220770409327934, -0.5613241821001898, 1.8113241821001898],
  [[1, 2, 3, 4.5], [0.5, 1.2, 3.3, 3], 0.9, 0.625, 0.7455423082115012, 0.3727711541057506, 1.6766318775371098, 0.19220770409327934, -0.25226600362134954, 1.502266003621349],
  [[0.71, 0.74, 0.69], [0.7, 0.72, 0.7], 0.95, 0.006666666666666672, 0.015275252316519479, 0.008819171036881976, 0.7559289460184545, 0.5285954792089683, -0.03127916366930095, 0.044612497002634297],
  [[0.71, 0.74, 0.69], [0.7, 0.72, 0.7], 0.9, 0.006666666666666672, 0.015275252316519479, 0.008819171036881976, 0.7559289460184545, 0.5285954792089683, -0.01908518559170192, 0.03241851892503524],
  [[10.2, 11.5], [9.1, 9.3], 0.95, 1.6499999999999995, 0.7778174593052021, 0.5499999999999998, 3.0, 0.20483276469913345, -5.33841260489608, 8.638412604896079],
  [[10.2, 11.5], [9.1, 9.3], 0.9, 1.6499999999999995, 0.7778174593052021, 0.5499999999999998, 3.0, 0.20483276469913345, -1.8225633330712738, 5.122563333071268],
  [[3.1, 2.9, 3.3, 3.0, 3.2, 3.05], [3.4, 3.35, 3.6, 3.2, 3.55, 3.3], 0.95, -0.30833333333333335, 0.08612007121842541, 0.03515837184954831, -8.769841068089582, 0.00031964692565718744, -0.3987108053803293, -0.21795586128633734],
  [[3.1, 2.9, 3.3, 3.0, 3.2, 3.05], [3.4, 3.35, 3.6, 3.2, 3.55, 3.3], 0.9, -0.30833333333333335, 0.08612007121842541, 0.03515837184954831, -8.769841068089582, 0.00031964692565718744, -0.3791791533378033, -0.23748751332886348],
] as const;
// [a, b, mean(a) − mean(b), r.statistic, df, r.pvalue, lo, hi] with r = scipy.stats.ttest_ind(a, b, equal_var=False),
//   df = (va + vb)² / (va²/(na − 1) + vb²/(nb − 1)), va = var(a, ddof=1)/na, and
//   (lo, hi) = scipy.stats.t.interval(0.95, df, loc=mean(a) − mean(b), scale=√(va + vb))
const WELCH = [
  [[1, 2, 3, 4.5], [0.5, 1.2, 3.3], 0.9583333333333333, 0.8520388767955075, 4.520914121372723, 0.4369871478506956, -2.0275679858602285, 3.9442346525268945],
  [[0.71, 0.74, 0.69, 0.73, 0.7], [0.6, 0.72], 0.05399999999999994, 0.889438848377285, 1.0481989105103755, 0.5316388593319564, -0.6384484832121005, 0.7464484832121003],
  [[5, 5.5, 6], [1, 9, 2, 8], 0.5, 0.24253562503633302, 3.1193284029582244, 0.8234432549931625, -5.921056944181525, 6.921056944181525],
] as const;

describe('paired and Welch differences', () => {
  test('pairedDifference matches scipy.stats.ttest_rel and its confidence interval', () => {
    for (const [a, b, c, mean, sd, se, t, p, lo, hi] of PAIRED) {
      const r = pairedDifference(a, b, c);
      const what = `paired(${a}; ${b}; ${c})`;
      assert.equal(r.n, a.length);
      assert.equal(r.df, a.length - 1);
      assert.equal(r.confidence, c);
      close(r.mean, mean, 1e-12, `${what}.mean`);
      close(r.sd, sd, 1e-10, `${what}.sd`);
      close(r.se, se, 1e-10, `${what}.se`);
      close(r.t, t, 1e-10, `${what}.t`);
      close(r.p, p, 1e-9, `${what}.p`);
      close(r.lo, lo, 1e-9, `${what}.lo`);
      close(r.hi, hi, 1e-9, `${what}.hi`);
    }
    assert.equal(pairedDifference([1, 2, 3], [0, 1, 2]).confidence, 0.95);
  });

  test('welchDifference matches scipy.stats.ttest_ind(equal_var=False)', () => {
    for (const [a, b, mean, t, df, p, lo, hi] of WELCH) {
      const r = welchDifference(a, b);
      const what = `welch(${a}; ${b})`;
      assert.deepEqual([r.na, r.nb], [a.length, b.length]);
      close(r.mean, mean, 1e-12, `${what}.mean`);
      close(r.t, t, 1e-10, `${what}.t`);
      close(r.df, df, 1e-10, `${what}.df`);
      close(r.p, p, 1e-9, `${what}.p`);
      close(r.lo, lo, 1e-9, `${what}.lo`);
      close(r.hi, hi, 1e-9, `${what}.hi`);
    }
  });

  test('all differences equal (sd = 0): the interval is [mean, mean], p = 0 if mean ≠ 0 else 1, never NaN', () => {
    const up = pairedDifference([2, 3, 4], [1, 2, 3]);
    assert.deepEqual([up.mean, up.sd, up.se, up.lo, up.hi, up.t, up.p], [1, 0, 0, 1, 1, Infinity, 0]);
    const down = pairedDifference([1, 2], [3, 4]);
    assert.deepEqual([down.lo, down.hi, down.t, down.p], [-2, -2, -Infinity, 0]);
    const same = pairedDifference([5, 6, 7], [5, 6, 7]);
    assert.deepEqual([same.mean, same.lo, same.hi, same.t, same.p], [0, 0, 0, 0, 1]);
    const w = welchDifference([1, 1], [3, 3, 3]);
    assert.deepEqual([w.mean, w.lo, w.hi, w.t, w.p, w.df], [-2, -2, -2, -Infinity, 0, 3]);
    const w1 = welchDifference([1, 1, 1], [2, 4]); // one side constant: ν = nb − 1
    close(w1.df, 1, 1e-15, 'welch df with one constant side');
    for (const r of [up, down, same, w, w1]) noNaN(r, 'sd = 0 result');
  });

  test('bad inputs: ConfigErrors naming the lengths, the index and value, or the confidence', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => pairedDifference([1, 2, 3], [1, 2]), /^a paired difference needs one b per a \(pairs by index, aligned by seed\); got 3 values in a and 2 in b$/],
      [() => pairedDifference([1], [2]), /^a paired interval needs at least 2 pairs; got 1$/],
      [() => pairedDifference([], []), /^a paired interval needs at least 2 pairs; got 0$/],
      [() => pairedDifference([1, NaN], [1, 2]), /^a\[1\] must be a finite number; got NaN$/],
      [() => pairedDifference([1, 2], [1, Infinity]), /^b\[1\] must be a finite number; got Infinity$/],
      [() => pairedDifference([1, 2], [1, 2], 1), /^confidence must be a number in \(0, 1\), e\.g\. 0\.95; got 1$/],
      [() => pairedDifference([1, 2], [1, 2], 0), /^confidence must be a number in \(0, 1\), e\.g\. 0\.95; got 0$/],
      [() => pairedDifference([1, 2], [1, 2], 95), /^confidence must be a number in \(0, 1\), e\.g\. 0\.95; got 95$/],
      [() => pairedDifference([1, 2], [1, 2], NaN), /^confidence must be a number in \(0, 1\), e\.g\. 0\.95; got NaN$/],
      [() => pairedDifference([1.7e308, 0], [-1.7e308, 0]), /^a\[0\] − b\[0\] overflows/],
      [() => pairedDifference([1e300, -1e300], [0, 0]), /^the spread of a − b overflows/],
      [() => welchDifference([1], [1, 2, 3]), /^Welch's interval needs at least 2 values on each side; got 1 in a and 3 in b$/],
      [() => welchDifference([1, 2], []), /^Welch's interval needs at least 2 values on each side; got 2 in a and 0 in b$/],
      [() => welchDifference([1, 2], [1, NaN]), /^b\[1\] must be a finite number; got NaN$/],
      [() => welchDifference([1, 2], [1, 3], 1.5), /^confidence must be a number in \(0, 1\)/],
      [() => welchDifference([1e300, -1e300], [0, 1]), /^Welch's difference of a and b overflows/],
    ];
    for (const [f, re] of bad) assert.throws(f, (e: unknown) => e instanceof ConfigError && re.test(e.message), String(f));
  });
});
