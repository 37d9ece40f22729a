/**
 * lib/stats/power.ts: the minimal detectable difference of a two-sided paired t-test against scipy, which
 * solves the same equation P(T' > t_c) + P(T' < −t_c) = power with scipy.stats.nct; every bad input.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { minDetectableDifference, normalQuantile, pairedTPower, studentTQuantile } from '../../lib/stats';
import { ConfigError } from '../../lib/errors';
import { close } from './close';

// [sd, n, alpha, power, Δ]: with df = n − 1, tc = scipy.stats.t.ppf(1 − alpha/2, df),
//   δ = scipy.optimize.brentq(lambda d: nct.sf(tc, df, d) + nct.sf(tc, df, −d) − power, 1e-6, 60, xtol=1e-14),
//   Δ = δ·sd/√n  (test/stats/scipy-reference.py)
const MDD = [
  [1, 2, 0.05, 0.8, 11.549888435882322],
  [1, 3, 0.05, 0.8, 3.264043549699572],
  [1, 5, 0.05, 0.8, 1.681996965955554],
  [1, 10, 0.05, 0.8, 0.9960013714554448],
  [2.5, 5, 0.05, 0.8, 4.204992414888886],
  [1, 5, 0.01, 0.9, 3.0270740892153802],
  [0.3, 30, 0.05, 0.8, 0.15877068453388588],
] as const;

describe('minimal detectable difference', () => {
  test('matches scipy (nct) to 1e-9 relative for n = 2, 3, 5, 10, 30, and scales with sd', () => {
    for (const [sd, n, alpha, power, want] of MDD) close(minDetectableDifference(sd, n, { alpha, power }), want, 1e-9, `mdd(sd=${sd}, n=${n}, α=${alpha}, power=${power})`);
    close(minDetectableDifference(1, 5), MDD[2][4], 1e-9, 'defaults α = 0.05, power = 0.8');
  });

  test('the power at the returned difference is the target; at δ = 0 it is α', () => {
    for (const n of [3, 5, 10]) {
      const delta = (minDetectableDifference(1, n) * Math.sqrt(n)) / 1;
      close(pairedTPower(delta, n - 1), 0.8, 1e-10, `power at n = ${n}`);
      close(pairedTPower(0, n - 1), 0.05, 1e-12, `power at δ = 0, n = ${n}`);
    }
  });

  test('is above the normal approximation (z_(1−α/2) + z_power)·sd/√n, which it approaches for large n', () => {
    const approx = (n: number) => (normalQuantile(0.975) + normalQuantile(0.8)) / Math.sqrt(n);
    for (const n of [3, 5, 10, 100]) assert.ok(minDetectableDifference(1, n) > approx(n));
    assert.ok(minDetectableDifference(1, 1000) / approx(1000) < 1.001);
    assert.ok(studentTQuantile(0.975, 2) > normalQuantile(0.975));
  });

  test('bad inputs: ConfigErrors naming the value and what is allowed', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => minDetectableDifference(1, 1), /^a paired t-test needs n ≥ 2 pairs \(an integer\); got 1$/],
      [() => minDetectableDifference(1, 2.5), /^a paired t-test needs n ≥ 2 pairs \(an integer\); got 2\.5$/],
      [() => minDetectableDifference(1, NaN), /^a paired t-test needs n ≥ 2 pairs \(an integer\); got NaN$/],
      [() => minDetectableDifference(0, 5), /^sd must be a finite number > 0; got 0$/],
      [() => minDetectableDifference(-1, 5), /^sd must be a finite number > 0; got -1$/],
      [() => minDetectableDifference(Infinity, 5), /^sd must be a finite number > 0; got Infinity$/],
      [() => minDetectableDifference(NaN, 5), /^sd must be a finite number > 0; got NaN$/],
      [() => minDetectableDifference(1, 5, { alpha: 0 }), /^alpha must be a significance level in \(0, 1\), e\.g\. 0\.05; got 0$/],
      [() => minDetectableDifference(1, 5, { alpha: 1.2 }), /^alpha must be a significance level in \(0, 1\)/],
      [() => minDetectableDifference(1, 5, { power: 1 }), /^power must be in \(alpha, 1\) = \(0\.05, 1\); got 1$/],
      [() => minDetectableDifference(1, 5, { power: 0.04 }), /^power must be in \(alpha, 1\) = \(0\.05, 1\); got 0\.04$/],
      [() => pairedTPower(NaN, 3), /^delta \(the noncentrality\) must be a finite number; got NaN$/],
      [() => pairedTPower(1, 0), /^df must be a finite number > 0; got 0$/],
    ];
    for (const [f, re] of bad) assert.throws(f, (e: unknown) => e instanceof ConfigError && re.test(e.message), String(f));
  });
});
