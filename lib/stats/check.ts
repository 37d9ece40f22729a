/** Input checks shared by lib/stats: every bad value is a ConfigError that names it and what is allowed. */
import { ConfigError, show } from '../errors';

/** A list of finite numbers; `name[i]` and its value are named when one is not finite. */
export function checkFinite(name: string, xs: unknown): readonly number[] {
  if (!Array.isArray(xs)) throw new ConfigError(`${name} must be a list of finite numbers; got ${show(xs)}`);
  xs.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new ConfigError(`${name}[${i}] must be a finite number; got ${show(x)}`);
  });
  return xs as readonly number[];
}

/** A confidence level strictly inside (0, 1). */
export function checkConfidence(confidence: unknown, name = 'confidence'): number {
  if (typeof confidence !== 'number' || !(confidence > 0 && confidence < 1)) {
    throw new ConfigError(`${name} must be a number in (0, 1), e.g. 0.95; got ${show(confidence)}`);
  }
  return confidence;
}

/** Degrees of freedom: a finite number > 0 (need not be an integer: Welch's df is not). */
export function checkDf(df: unknown, name = 'df'): number {
  if (typeof df !== 'number' || !Number.isFinite(df) || !(df > 0)) throw new ConfigError(`${name} must be a finite number > 0; got ${show(df)}`);
  return df;
}

/** A probability strictly inside (0, 1). */
export function checkOpenProbability(name: string, p: unknown): number {
  if (typeof p !== 'number' || !(p > 0 && p < 1)) throw new ConfigError(`${name} must be a probability in (0, 1); got ${show(p)}`);
  return p;
}
