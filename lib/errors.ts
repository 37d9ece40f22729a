/**
 * The project's own errors. Every message names the bad value and what is allowed,
 * in the style of tfjs-layers' errors.ts: `alphaMin must be in (0, 1]; got 1.3`.
 */
import * as os from 'os';
import { inspect } from 'util';

/**
 * How an error of bad input prints through `console.error` / `util.inspect` (which is how the tslab
 * kernel shows a failed cell): the name, the message and the one project frame that raised it, without
 * the ~10 frames of tslab's and node's internals below it. `.stack` itself is left whole.
 */
function inputErrorInspect(this: Error): string {
  const frame = (this.stack ?? '').split('\n').slice(1).find((l) => /[\\/](lib|scripts)[\\/]/.test(l) && !/node_modules/.test(l));
  return `${this.name}: ${this.message}${frame ? `\n${frame}` : ''}`;
}

/** An invalid configuration value (caught before any work starts). */
export class ConfigError extends Error {
  override name = 'ConfigError';
  [inspect.custom](): string {
    return inputErrorInspect.call(this);
  }
}

/** A dataset, corpus, tokenizer or checkpoint that is missing or malformed. */
export class DataError extends Error {
  override name = 'DataError';
  [inspect.custom](): string {
    return inputErrorInspect.call(this);
  }
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
  [inspect.custom](): string {
    return inputErrorInspect.call(this);
  }
}

/** The longest string `show` prints whole: a 100 kB value is cut, with its length, not echoed in full. */
const SHOW_MAX = 200;

/** Formats a value for an error message: strings quoted (cut after 200 characters), objects as JSON (80). */
export function show(value: unknown): string {
  if (typeof value === 'string') return value.length > SHOW_MAX ? `'${value.slice(0, SHOW_MAX)}…' (${value.length} characters)` : `'${value}'`;
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

/** Seeds combine with step counters into derived seeds: integers in [0, 2^31 - 1] keep every combination exact. */
export const SEED_MAX = 2 ** 31 - 1;

/** A seed: an integer in [0, 2^31 - 1] (`1e300` is an integer to JavaScript, and breaks the samplers). */
export function checkSeed(name: string, value: unknown): number {
  return checkNumber(name, value, { lo: 0, hi: SEED_MAX, integer: true });
}

/** A non-empty list of seeds (`seeds[i]` named in the message). */
export function checkSeeds(seeds: unknown, name = 'seeds'): number[] {
  if (!Array.isArray(seeds) || seeds.length === 0) throw new ConfigError(`${name} must be a non-empty list of integers; got ${show(seeds)}`);
  seeds.forEach((s, i) => checkSeed(`${name}[${i}]`, s));
  return seeds as number[];
}

/** The softmax temperature τ of ANCRe's routing: below 1e-4 the logits c/τ overflow float32 and the loss turns NaN. */
export const TAU_RANGE: Interval = { lo: 1e-4, hi: 1e4 };

export function checkTau(name: string, value: unknown): number {
  if (!(typeof value === 'number' && value > 0)) throw new ConfigError(`${name} must be > 0; got ${show(value)}`);
  if (!(value >= TAU_RANGE.lo! && value <= TAU_RANGE.hi!)) {
    throw new ConfigError(`${name} must be in [${TAU_RANGE.lo}, ${TAU_RANGE.hi}]; got ${show(value)} (below ${TAU_RANGE.lo} the routing logits c/τ overflow float32)`);
  }
  return value;
}

/**
 * The memory a run may plan on: 3/4 of the machine's memory, and at most 4 GiB on the wasm engines
 * (a wasm32 heap cannot grow past 4 GiB; beyond it tfjs fails with `memory access out of bounds`).
 * `$REPRO_MEMORY_LIMIT_GB` overrides it (a GPU machine, a cluster node).
 */
export function memoryLimitBytes(): number {
  const env = process.env.REPRO_MEMORY_LIMIT_GB;
  if (env !== undefined) return checkNumber('REPRO_MEMORY_LIMIT_GB', Number(env), { lo: 0, loOpen: true }) * 2 ** 30;
  const native = ['tfjs-node', 'tfjs-node-gpu'].includes(process.env.REPRO_ENGINE ?? '');
  return Math.min(0.75 * os.totalmem(), native ? Infinity : 4 * 2 ** 30);
}

/** Throws a ConfigError before any allocation when `bytes` (an estimate of what `what` needs) exceeds the limit. */
export function checkMemory(what: string, bytes: number, limit = memoryLimitBytes()): void {
  if (!(bytes <= limit)) {
    const gb = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
    throw new ConfigError(`${what} needs about ${gb(bytes)} of memory; at most ${gb(limit)} is available (REPRO_MEMORY_LIMIT_GB overrides): use a smaller size`);
  }
}

/** Throws a ConfigError unless `value` is an object whose keys are all in `allowed` (list entries the merge cannot check). */
export function checkKeys(where: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${where} must be an object; got ${show(value)}`);
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) throw new ConfigError(`unknown key '${k}' in ${where}; expected one of ${allowed.join(', ')}`);
  }
}
