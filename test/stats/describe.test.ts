/** lib/stats/describe.ts: meanStd and median against numpy/scipy, the n < 2 convention, every bad input. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { meanStd, median } from '../../lib/stats';
import { ConfigError } from '../../lib/errors';
import { close } from './close';

// [xs, numpy.mean(xs), numpy.std(xs, ddof=1), scipy.stats.sem(xs), numpy.median(xs)]
const MEANSTD = [
  [[2.5, 3.1, 4.7, 1.2, 3.3], 2.96, 1.2720062892926278, 0.5688585061331157, 3.1],
  [[0.1, 0.2], 0.15000000000000002, 0.07071067811865477, 0.05, 0.15000000000000002],
  [[7, 7, 7, 8], 7.25, 0.5, 0.25, 7.0],
  [[-1000.0, 2500.0, 12.25], 504.0833333333333, 1801.0899535651554, 1039.859769525573, 12.25],
] as const;

describe('meanStd and median', () => {
  test('match numpy.mean, numpy.std(ddof=1), scipy.stats.sem and numpy.median', () => {
    for (const [xs, mean, std, se, med] of MEANSTD) {
      const r = meanStd(xs);
      assert.equal(r.n, xs.length);
      close(r.mean, mean, 1e-12, `mean(${xs})`);
      close(r.std, std, 1e-12, `std(${xs})`);
      close(r.se, se, 1e-12, `se(${xs})`);
      close(median(xs), med, 1e-15, `median(${xs})`);
    }
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
  });

  test('one value: std and se are null (not NaN, not 0); the input is not reordered', () => {
    assert.deepEqual(meanStd([0.42]), { n: 1, mean: 0.42, std: null, se: null });
    assert.equal(median([0.42]), 0.42);
    const xs = [3, 1, 2];
    median(xs);
    assert.deepEqual(xs, [3, 1, 2]);
  });

  test('no values, a non-finite value or a non-list: ConfigErrors naming it', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => meanStd([]), /^a mean needs at least 1 value; xs is empty$/],
      [() => median([]), /^a median needs at least 1 value; xs is empty$/],
      [() => meanStd([1, NaN, 3]), /^xs\[1\] must be a finite number; got NaN$/],
      [() => meanStd([1, 2, Infinity]), /^xs\[2\] must be a finite number; got Infinity$/],
      [() => meanStd([1, '2' as unknown as number]), /^xs\[1\] must be a finite number; got '2'$/],
      [() => median([1, -Infinity]), /^xs\[1\] must be a finite number; got -Infinity$/],
      [() => meanStd(null as unknown as number[]), /^xs must be a list of finite numbers; got null$/],
      [() => meanStd([1, null as unknown as number], 'knn'), /^knn\[1\] must be a finite number; got null$/],
    ];
    for (const [f, re] of bad) assert.throws(f, (e: unknown) => e instanceof ConfigError && re.test(e.message), String(f));
  });
});

test('median with allowInfinity: a time never reached (+∞) sorts last and can be the median; NaN is still an error', () => {
  assert.equal(median([3, Infinity, 1], 'times', { allowInfinity: true }), 3);
  assert.equal(median([Infinity, Infinity, 1], 'times', { allowInfinity: true }), Infinity);
  assert.equal(median([1, 2, 3, Infinity], 'times', { allowInfinity: true }), 2.5);
  assert.throws(() => median([1, NaN], 'times', { allowInfinity: true }), /times\[1\] must be a number \(±Infinity allowed here\); got NaN/);
  assert.throws(() => median([1, Infinity]), /must be a finite number/);
});
