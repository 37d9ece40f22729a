/**
 * Typed override objects for notebooks' config cells.
 *
 * In `const overrides = { wiring: { kind: 'decayed' } }` TypeScript widens `'decayed'` to `string`, and
 * passing the object on fails with "Type 'string' is not assignable to type 'WiringKind'"; a lone
 * typo gives "has no properties in common with type DeepPartial<…>" on a later cell. Written as
 * `overridesFor(experiment, { … })`, the object is typed against the experiment's config where it is
 * written (string values stay literals, and a misspelt key is an error on that line, whose message
 * names the key and prints the allowed ones), and its keys are checked at run time too (a ConfigError
 * listing the valid keys), before any work.
 */
import * as path from 'path';
import { checkPreset, configHash, mergeChecked, type DeepPartial, type PresetName } from '../config';
import { ConfigError, show } from '../errors';
import type { Experiment } from './types';

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** One member of the union `U` (the last one TypeScript holds: for an interface's keys, the last declared). */
type LastOf<U> = UnionToIntersection<U extends unknown ? () => U : never> extends () => infer L ? L : never;
/**
 * The members of a union of string literals as ONE literal, `"seeds, data, train, …"`, in declaration order.
 * A message type must spell the key names out: written as `keyof C`, tsc prints `keyof MaeSweepConfig`.
 */
export type KeyList<U extends string, Acc extends string = ''> = [U] extends [never]
  ? Acc
  : KeyList<Exclude<U, LastOf<U>>, Acc extends '' ? LastOf<U> & string : `${LastOf<U> & string}, ${Acc}`>;

/**
 * For each key of `O` the config does not have: a type whose name says so and lists the valid keys, so a
 * typo reads `… to type '{ "unknown key 'rowz'; valid keys:": "seeds, data, train, …"; }'`.
 */
type UnknownKeys<O, C> = { [K in Exclude<keyof O, keyof C>]: { [M in `unknown key '${K & string}'; valid keys:`]: KeyList<keyof C & string> } };

/**
 * Returns `overrides` unchanged, typed as the experiment's `DeepPartial` config, after checking its keys
 * against the experiment's defaults (unknown keys → ConfigError naming the key and the valid ones).
 * Values are validated when the config is resolved (`resolveConfig`, `runExperiment`).
 *
 * `const O` keeps string values as literals (`'decayed'`, not `string`); a top-level typo fails to
 * compile with a message listing the valid keys, a nested one with TypeScript's "does not exist in type".
 */
export function overridesFor<C extends object, const O>(
  exp: Experiment<C>,
  overrides: O & DeepPartial<C> & UnknownKeys<O, C>,
): DeepPartial<C> {
  mergeChecked(exp.defaults, overrides, `${exp.name} overrides`);
  return Object.keys(overrides as object).length ? markTweak(overrides as DeepPartial<C>) : (overrides as DeepPartial<C>);
}

/** Marks overrides as a researcher's tweak (a config cell's), not one of a study's reference configs. */
const TWEAK = Symbol.for('repro.tweak');

function markTweak<T extends object>(o: T): T {
  const t = Object.isExtensible(o) ? o : ({ ...o } as T);
  // enumerable: a spread ({ ...overrides, depths: [8] }) keeps the mark; symbol keys never reach configs or hashes
  Object.defineProperty(t, TWEAK, { value: true, enumerable: true });
  return t;
}

/** True for overrides made by `overridesFor` with something in them, or by `addRows` with rows added. */
export function isTweak(overrides: unknown): boolean {
  return typeof overrides === 'object' && overrides !== null && (overrides as { [TWEAK]?: boolean })[TWEAK] === true;
}

/**
 * Where a study's tables and figures go: its results folder for the reference configs, and
 * `<dir>/tweaks/<config hash>/` for a tweak, so a tweaked run never overwrites the committed reference
 * tables and figures (its records join runs.jsonl as always: new configs get new run ids).
 */
export function exportDirFor(dir: string, config: object, overrides: unknown): string {
  return isTweak(overrides) ? path.join(dir, 'tweaks', configHash(config)) : dir;
}

/** The keys of `C` that hold a list (rows, wirings, sweeps, seeds). */
type ListKey<C> = { [K in keyof C]: C[K] extends readonly unknown[] ? K : never }[keyof C] & string;

/**
 * Overrides that ADD items to one of the preset's lists instead of replacing it: `{ rows: [...preset rows,
 * ...extra] }` (merged into `overrides` when given). A plain `{ rows: [newRow] }` replaces the whole list,
 * which leaves a one-row table; this keeps the study's rows and appends yours (same run ids for the old rows).
 * With nothing to add it returns `overrides` as they are.
 *
 *   const overrides = addRows(experiment, preset, 'rows', [{ name: 'α_min=0.65', wiring: { kind: 'decayed', alphaMin: 0.65 } }]);
 */
export function addRows<C extends object, K extends ListKey<C>>(
  exp: Experiment<C>,
  preset: PresetName,
  key: K,
  extra: C[K],
  overrides: DeepPartial<C> = {} as DeepPartial<C>,
): DeepPartial<C> {
  checkPreset(preset);
  if (!Array.isArray(extra)) throw new ConfigError(`addRows: the rows to add to '${key}' must be a list; got ${show(extra)}`);
  if (!extra.length) return overrides;
  const base = mergeChecked(mergeChecked(exp.defaults, exp.presets[preset], `${exp.name} preset '${preset}'`), overrides, `${exp.name} overrides`);
  const current = (base as Record<string, unknown>)[key];
  if (!Array.isArray(current)) throw new ConfigError(`addRows: ${exp.name}'s '${key}' is not a list`);
  return markTweak({ ...overrides, [key]: [...current, ...(extra as unknown[])] } as DeepPartial<C>);
}
