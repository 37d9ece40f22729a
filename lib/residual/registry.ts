/**
 * The extension point for new wirings: `registerWiring(kind, definition)` adds a kind that
 * `validateWiring`, `resolveWiring` and `makeWiring` accept like a built-in one, so every model family
 * runs it without an edit to this library (docs/adding-a-wiring.md).
 *
 *   export const scaledSkip = registerWiring('scaled-skip', {
 *     defaults: { gamma: 0.9 },
 *     validate: (p) => checkNumber('gamma', p.gamma, { lo: 0, hi: 1 }),
 *     build: (config, blocks, perBlock) => new ScaledSkip(config, blocks, perBlock),
 *   });
 *   new Llama({ ...LLAMA_DEFAULTS, wiring: scaledSkip({ gamma: 0.8 }) });
 *
 * The built-in kinds (WIRING_KINDS) cannot be replaced; a registered kind can (a notebook cell rerun).
 * The registry lives in the process that registers: worker processes see a kind only when the module
 * that registers it is loaded there too (import it from lib/residual/index.ts or from the study).
 */
import { ConfigError, show } from '../errors';
import {
  setWiringKindParams,
  WIRING_CONFIG_KEYS,
  WIRING_KINDS,
  type RegisteredWiringKind,
  type ResolvedWiringConfig,
  type WiringConfig,
  type WiringKindParams,
} from './config';
import type { Wiring } from './types';

/** A registered wiring's own parameters: plain JSON scalars (they join the run id). */
export type WiringParams = { [name: string]: number | string | boolean };

export interface WiringDefinition<P extends WiringParams> {
  /** Every parameter of the kind with its default value; these are the only keys its config may add. */
  defaults: P;
  /** Throws a ConfigError naming the bad value and the valid range. Gets the parameters with defaults filled in. */
  validate?(params: P): void;
  /** Builds the wiring for `blocks` blocks of `sublayersPerBlock` branches; `config` is resolved and valid. */
  build(config: ResolvedWiringConfig & P, blocks: number, sublayersPerBlock: number): Wiring;
}

/** Makes a config of a registered kind: `scaledSkip({ gamma: 0.8 })` is `{ kind: 'scaled-skip', gamma: 0.8 }`. */
export type WiringConfigMaker<P extends WiringParams> = (params?: Partial<P>) => WiringConfig;

const registered = new Map<string, WiringDefinition<WiringParams>>();

/**
 * Adds (or, for a kind registered before, replaces) a wiring kind. The name is kebab-case and not a built-in
 * kind; the parameter names are not the base config keys. Returns a maker of configs of this kind.
 */
export function registerWiring<P extends WiringParams>(kind: string, definition: WiringDefinition<P>): WiringConfigMaker<P> {
  if (typeof kind !== 'string' || !/^[a-z][a-z0-9-]*$/.test(kind)) {
    throw new ConfigError(`a wiring kind must be kebab-case (a-z, 0-9, '-'); got ${show(kind)}`);
  }
  if ((WIRING_KINDS as readonly string[]).includes(kind)) throw new ConfigError(`'${kind}' is a built-in wiring and cannot be registered again`);
  for (const k of Object.keys(definition.defaults)) {
    if (WIRING_CONFIG_KEYS.includes(k)) throw new ConfigError(`wiring '${kind}': parameter '${k}' clashes with the wiring config key of that name`);
  }
  definition.validate?.(definition.defaults);
  registered.set(kind, definition as unknown as WiringDefinition<WiringParams>);
  setWiringKindParams(kind, definition as unknown as WiringKindParams);
  return (params = {}) => ({ kind: kind as RegisteredWiringKind, ...params }) as WiringConfig;
}

/** The definition of a registered kind, or undefined (built-in or unknown kinds). */
export function registeredWiring(kind: unknown): WiringDefinition<WiringParams> | undefined {
  return typeof kind === 'string' ? registered.get(kind) : undefined;
}

/** Removes a registered kind (tests); false when it was not registered. */
export function unregisterWiring(kind: string): boolean {
  setWiringKindParams(kind, null);
  return registered.delete(kind);
}

