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
import { mergeChecked, type DeepPartial } from '../config';
import type { Experiment } from './types';

/** For each key of `O` the config does not have: a type whose name says so and lists the valid keys. */
type UnknownKeys<O, C> = { [K in Exclude<keyof O, keyof C>]: { 'unknown key; the valid keys are': keyof C } };

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
  return overrides as DeepPartial<C>;
}
