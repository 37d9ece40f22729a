/**
 * Configs: defaults -> preset -> overrides, with unknown keys rejected and a stable hash
 * of the resolved config (nanoGPT's configurator, MAE/DiT's stored args).
 */
import { createHash } from 'crypto';
import { ConfigError, show } from './errors';

/** The three sizes every experiment comes in (see DESIGN.md). */
export const PRESET_NAMES = ['smoke', 'cpu', 'paper'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Reads the preset from `$REPRO_PRESET` (set by the notebook runner), default `cpu`. */
export function presetFromEnv(fallback: PresetName = 'cpu', env: NodeJS.ProcessEnv = process.env): PresetName {
  const p = env.REPRO_PRESET ?? fallback;
  if (env.REPRO_PRESET !== undefined && !(PRESET_NAMES as readonly string[]).includes(p)) {
    throw new ConfigError(`REPRO_PRESET is ${show(p)}; expected one of ${PRESET_NAMES.join(', ')} (or pass the preset explicitly)`);
  }
  return checkPreset(p);
}

export function checkPreset(p: unknown): PresetName {
  if (typeof p !== 'string' || !(PRESET_NAMES as readonly string[]).includes(p)) {
    throw new ConfigError(`unknown preset ${show(p)}; expected one of ${PRESET_NAMES.join(', ')}`);
  }
  return p as PresetName;
}

/**
 * A plain object: `{ … }` or JSON, from any realm (a notebook's vm context has its own Object.prototype), or one
 * without a prototype. A Map, a Date, a class instance or `Object.create({ steps: 5 })` is not one: merged as
 * an object, its entries or inherited keys would be ignored without a word.
 */
function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return false;
  if (Object.prototype.toString.call(x) !== '[object Object]') return false;
  const proto = Object.getPrototypeOf(x);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

/**
 * Merges `override` into `base`, rejecting keys `base` does not have (at any depth).
 * Arrays and non-object values replace; nested plain objects merge.
 * `where` names the config in error messages (e.g. `mae-sweep config`).
 */
export function mergeChecked<T>(base: T, override: unknown, where: string): T {
  if (override === undefined) return structuredClone(base);
  if (!isPlainObject(base)) return structuredClone(override) as T;
  if (!isPlainObject(override)) {
    throw new ConfigError(`${where} must be an object; got ${typeof override === 'object' && override !== null && !Array.isArray(override) ? `${kindOf(override)}: ` : ''}${show(override)}`);
  }
  const out: Record<string, unknown> = structuredClone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(override)) {
    checkKeyName(k, where);
    // Own keys only: `'constructor' in {}` is true through the prototype.
    if (!Object.prototype.hasOwnProperty.call(out, k)) {
      const known = Object.keys(out).join(', ');
      throw new ConfigError(`unknown key '${k}' in ${where}; expected one of ${known}`);
    }
    if (v === undefined) continue;
    checkSameType(out[k], v, `${where}.${k}`);
    out[k] = isPlainObject(out[k]) && isPlainObject(v) ? mergeChecked(out[k], v, `${where}.${k}`) : structuredClone(v);
  }
  return out as T;
}

/** Keys that reach `Object.prototype` through an assignment (`o.__proto__.x = 1`): never config keys. */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** Throws a ConfigError for a key that would pollute prototypes. */
export function checkKeyName(k: string, where: string): void {
  if (FORBIDDEN_KEYS.includes(k)) {
    throw new ConfigError(`key '${k}' in ${where} is not allowed (it would change every object's prototype); config keys are plain field names`);
  }
}

function kindOf(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  if (isPlainObject(x)) return 'an object';
  if (typeof x === 'object') {
    const name = (x as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name && name !== 'Object' ? `a ${name}` : 'an object with a prototype (not plain data)';
  }
  return typeof x === 'number' ? 'a number' : typeof x === 'string' ? 'a string' : typeof x === 'boolean' ? 'true or false' : typeof x;
}

/** An override must have the type of the default it replaces (a null default accepts anything). */
function checkSameType(base: unknown, v: unknown, where: string): void {
  if (base === null || base === undefined) return;
  const want = kindOf(base);
  const got = kindOf(v);
  if (want !== got) throw new ConfigError(`${where} must be ${want}; got ${typeof v === 'object' && v !== null && !Array.isArray(v) ? `${got}: ` : ''}${show(v)}`);
}

/** JSON with object keys sorted, so equal configs serialise (and hash) equally. */
export function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`;
  if (isPlainObject(x)) {
    return `{${Object.keys(x)
      .filter((k) => x[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(x[k])}`)
      .join(',')}}`;
  }
  if (typeof x === 'number' && !Number.isFinite(x)) {
    throw new ConfigError(`configs hold finite numbers only; got ${x}`);
  }
  return JSON.stringify(x);
}

/** A short stable id of a resolved config: the first 12 hex digits of its SHA-256. */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 12);
}
