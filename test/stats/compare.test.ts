/** lib/stats/compare.ts: the four words, their reasons (sentences with checkable numbers), mdd, and every bad input. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { compare, minDetectableDifference, pairedDifference } from '../../lib/stats';
import { ConfigError } from '../../lib/errors';
import { noNaN } from './close';

// scipy.stats.ttest_rel(A, B): mean −0.30833, CI95 [−0.39871, −0.21796], p = 0.00032 (see differences.test.ts)
const A = [3.1, 2.9, 3.3, 3.0, 3.2, 3.05];
const B = [3.4, 3.35, 3.6, 3.2, 3.55, 3.3];

describe('compare', () => {
  test("an interval entirely on the good side is 'better', on the bad side 'worse'", () => {
    const lower = compare(A, B, { lowerIsBetter: true });
    assert.equal(lower.word, 'better');
    assert.equal(lower.n, 6);
    assert.deepEqual(lower.diff, pairedDifference(A, B));
    assert.equal(lower.mdd, minDetectableDifference(lower.diff!.sd, 6));
    assert.equal(lower.reason, 'a − b = −0.3083, 95% CI [−0.3987, −0.2180] over 6 seeds (paired t, p < 0.001): the whole interval is below 0 and lower is better');
    const higher = compare(A, B, { lowerIsBetter: false, label: 'ANCRe − residual accuracy' });
    assert.equal(higher.word, 'worse');
    assert.equal(higher.reason, 'ANCRe − residual accuracy = −0.3083, 95% CI [−0.3987, −0.2180] over 6 seeds (paired t, p < 0.001): the whole interval is below 0 and higher is better');
    assert.equal(compare(B, A, { lowerIsBetter: false }).word, 'better');
    assert.equal(compare(B, A, { lowerIsBetter: true }).word, 'worse');
  });

  test("an interval containing 0 is 'no detectable difference', with the smallest difference these seeds detect", () => {
    const r = compare([1, 2, 3, 4.5], [0.5, 1.2, 3.3, 3], { lowerIsBetter: true });
    assert.equal(r.word, 'no detectable difference');
    assert.equal(r.mdd, minDetectableDifference(r.diff!.sd, 4, { alpha: 0.05, power: 0.8 }));
    assert.equal(
      r.reason,
      'a − b = 0.63, 95% CI [−0.56, 1.81] over 4 seeds (paired t, p = 0.19): it contains 0; with the observed sd of the differences (0.746), 4 seeds detect a true difference of 1.59 or more (power 0.8, α = 0.05)',
    );
    const c90 = compare([0.71, 0.74, 0.69], [0.7, 0.72, 0.7], { lowerIsBetter: false, confidence: 0.9 });
    assert.equal(c90.word, 'no detectable difference');
    assert.equal(c90.mdd, minDetectableDifference(c90.diff!.sd, 3, { alpha: 0.1 }));
    assert.match(c90.reason, /^a − b = 0\.0067, 90% CI \[−0\.0191, 0\.0324\] over 3 seeds \(paired t, p = 0\.53\): it contains 0; .* 3 seeds detect a true difference of 0\.0351 or more \(power 0\.8, α = 0\.1\)$/);
    // a wider confidence makes the same data less decisive
    assert.equal(compare([2, 3.1, 4], [1, 2, 3.05], { lowerIsBetter: false, confidence: 0.5 }).word, 'better');
  });

  test("too few seeds is 'not enough seeds': 'one seed' when n = 1, minPairs when asked for more", () => {
    const one = compare([0.7123], [0.7001], { lowerIsBetter: false });
    assert.deepEqual({ ...one, reason: '' }, { word: 'not enough seeds', n: 1, diff: null, mdd: null, reason: '' });
    assert.equal(one.reason, 'one seed: a − b = 0.0122 on it, but one seed cannot separate a difference from seed-to-seed noise (a paired interval needs at least 2 seeds)');
    assert.equal(compare([], [], { lowerIsBetter: true }).reason, 'no seeds: there is nothing to compare');
    const two = compare([1, 2], [1, 3], { lowerIsBetter: false, minPairs: 3 });
    assert.equal(two.word, 'not enough seeds');
    assert.equal(two.reason, '2 seeds, fewer than the 3 this comparison asks for (minPairs)');
    assert.match(compare([1], [2], { lowerIsBetter: false, minPairs: 3 }).reason, /^one seed: .*; this comparison asks for 3\)$/);
    assert.equal(compare([1, 2], [1, 3], { lowerIsBetter: false }).word, 'no detectable difference'); // default minPairs = 2
  });

  test('equal differences: a point interval, mdd null, no NaN anywhere', () => {
    const zero = compare([1, 2, 3], [1, 2, 3], { lowerIsBetter: true });
    assert.equal(zero.word, 'no detectable difference');
    assert.equal(zero.mdd, null);
    assert.equal(zero.reason, 'a − b = 0.000, 95% CI [0.000, 0.000] over 3 seeds (paired t, p = 1.0): all 3 differences are exactly 0');
    const shift = compare([2, 3], [1, 2], { lowerIsBetter: true });
    assert.equal(shift.word, 'worse');
    assert.equal(shift.mdd, null);
    assert.equal(shift.reason, 'a − b = 1.00, 95% CI [1.00, 1.00] over 2 seeds (paired t, p < 0.001): the whole interval is above 0 (all 2 differences are equal, so the interval is a point) and lower is better');
    for (const r of [zero, shift, compare(A, B, { lowerIsBetter: true }), compare([1], [2], { lowerIsBetter: true })]) noNaN(r, r.word);
  });

  test('bad inputs: ConfigErrors naming the value and what is allowed', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => compare([1, 2], [1, 2], {} as never), /^lowerIsBetter must be true or false \(is a lower value of the metric better\?\); got undefined$/],
      [() => compare([1, 2], [1, 2], { lowerIsBetter: 'yes' } as never), /^lowerIsBetter must be true or false .*; got 'yes'$/],
      [() => compare([1, 2], [1, 2], undefined as never), /^compare needs options with lowerIsBetter \(true or false\); got undefined$/],
      [() => compare([1, 2, 3], [1, 2], { lowerIsBetter: true }), /^compare pairs a and b by seed and needs one b per a; got 3 values in a and 2 in b$/],
      [() => compare([1], [], { lowerIsBetter: true }), /^compare pairs a and b by seed and needs one b per a; got 1 values in a and 0 in b$/],
      [() => compare([1, NaN], [1, 2], { lowerIsBetter: true }), /^a\[1\] must be a finite number; got NaN$/],
      [() => compare([1, 2], [null as unknown as number, 2], { lowerIsBetter: true }), /^b\[0\] must be a finite number; got null$/],
      [() => compare([1, 2], [1, 2], { lowerIsBetter: true, confidence: 1 }), /^confidence must be a number in \(0, 1\), e\.g\. 0\.95; got 1$/],
      [() => compare([1, 2], [1, 2], { lowerIsBetter: true, minPairs: 1 }), /^minPairs must be an integer ≥ 2 \(a paired interval needs 2 pairs\); got 1$/],
      [() => compare([1, 2], [1, 2], { lowerIsBetter: true, minPairs: 2.5 }), /^minPairs must be an integer ≥ 2 .*; got 2\.5$/],
      [() => compare([1, 2], [1, 3], { lowerIsBetter: true, power: 1 }), /^power must be in \(1 − confidence, 1\) = \(0\.05, 1\); got 1$/],
      [() => compare([1], [1], { lowerIsBetter: true, confidence: 0.1 }), /^power must be in \(1 − confidence, 1\) = \(0\.9, 1\); got 0\.8$/],
    ];
    for (const [f, re] of bad) assert.throws(f, (e: unknown) => e instanceof ConfigError && re.test(e.message), String(f));
  });
});
