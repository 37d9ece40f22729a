/**
 * The project's own errors. Every message names the bad value and what is allowed,
 * in the style of tfjs-layers' errors.ts: `alphaMin must be in (0, 1]; got 1.3`.
 */

/** An invalid configuration value (caught before any work starts). */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A dataset, corpus, tokenizer or checkpoint that is missing or malformed. */
export class DataError extends Error {
  override name = 'DataError';
}

/** Training stopped because the loss (or a gradient) was not finite. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(
    message: string,
    readonly step: number,
    readonly value: number,
    readonly lastCheckpoint: string | null,
  ) {
    super(message);
  }
}

/** A missing system tool (Jupyter, the project kernel, Chromium, ...). */
export class EnvironmentError extends Error {
  override name = 'EnvironmentError';
}

/** Formats a value for an error message: strings quoted, objects as JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return String(value);
  }
}

/**
 * Checks a string-literal union at run time, like tfjs-layers' checkStringTypeUnionValue:
 * `unknown wiring 'decay'; expected one of residual, decayed, ancre`.
 */
export function checkOneOf<T extends string>(
  what: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`unknown ${what} ${show(value)}; expected one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** An interval for range checks; `lo`/`hi` may be open or closed, either may be absent. */
export interface Interval {
  lo?: number;
  hi?: number;
  loOpen?: boolean;
  hiOpen?: boolean;
  integer?: boolean;
}

export function describeInterval(r: Interval): string {
  const lo = r.lo === undefined ? '(-inf' : `${r.loOpen ? '(' : '['}${r.lo}`;
  const hi = r.hi === undefined ? 'inf)' : `${r.hi}${r.hiOpen ? ')' : ']'}`;
  return `${r.integer ? 'an integer in ' : ''}${lo}, ${hi}`;
}

/** Throws a ConfigError unless `value` is a finite number inside `range`. */
export function checkNumber(name: string, value: unknown, range: Interval = {}): number {
  const bad = (): never => {
    throw new ConfigError(`${name} must be ${describeInterval(range)}; got ${show(value)}`);
  };
  if (typeof value !== 'number' || !Number.isFinite(value)) return bad();
  if (range.integer && !Number.isInteger(value)) return bad();
  if (range.lo !== undefined && (range.loOpen ? value <= range.lo : value < range.lo)) return bad();
  if (range.hi !== undefined && (range.hiOpen ? value >= range.hi : value > range.hi)) return bad();
  return value;
}

/** A positive integer (counts, sizes, steps). */
export function checkPositiveInt(name: string, value: unknown): number {
  return checkNumber(name, value, { lo: 1, integer: true });
}
