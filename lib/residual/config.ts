/**
 * Wiring kinds, their typed config, defaults and validation.
 *
 * Paper A: "Residual Connections Harm Generative Representation Learning", arXiv 2404.10947
 *   (decayed identity shortcuts, x_{k+1} = α_k x_k + f_k(x_k), α_k = 1 − (1 − α_min)·k/(n − 1)).
 * Paper B: "ANCRe: Adaptive Neural Connection Reassignment for Efficient Depth Scaling", arXiv 2602.09009
 *   (h_{l+1} = Block_l(h_l) + Σ_{i≤l} softmax(c_l / τ)_i h_i).
 */
import { ConfigError, checkOneOf, show, checkTau } from '../errors';

/** Every wiring this library builds; the runtime list is {@link WIRING_KINDS}. */
export type WiringKind =
  | 'residual'
  | 'decayed'
  | 'ancre'
  | 'scaled'
  | 'learnable-alpha'
  | 'rezero'
  | 'constant-average'
  | 'plain';

export const WIRING_KINDS: readonly WiringKind[] = [
  'residual',
  'decayed',
  'ancre',
  'scaled',
  'learnable-alpha',
  'rezero',
  'constant-average',
  'plain',
];

/**
 * The kind of a wiring added with `registerWiring` (./registry.ts), which hands it out inside a config
 * (`scaledSkip({ gamma: 0.8 })`): a plain string at run time, checked against the registry by
 * `validateWiring`; the brand keeps a misspelt built-in kind (`'decay'`) a compile error.
 */
export type RegisteredWiringKind = string & { readonly __registeredWiring: true };

/** How ANCRe normalises its routing logits (paper B and its code). */
export type AncreNormalisation = 'incoming' | 'outgoing';
export const ANCRE_NORMALISATIONS: readonly AncreNormalisation[] = ['incoming', 'outgoing'];

/**
 * One interface for every kind (JSON-friendly, so experiment configs can hold it and
 * `mergeChecked` can override single fields). Fields a kind does not use are ignored,
 * but they are still validated: a bad value is rejected whatever the kind.
 */
export interface WiringConfig {
  /** Which wiring: a built-in kind, or one added with `registerWiring` (its parameters are further keys). */
  kind: WiringKind | RegisteredWiringKind;
  /**
   * `decayed`, `learnable-alpha` (its initial schedule): the smallest shortcut coefficient, the
   * one on the last sub-layer; in (0, 1]. Default 0.6 (paper A's headline; its released script uses 0.7).
   */
  alphaMin?: number;
  /** `ancre`: softmax temperature τ > 0 of the routing logits. Default 0.01 (paper B). */
  tau?: number;
  /**
   * `ancre`, `constant-average`: 'incoming' = softmax over the sources i of each target l
   * (the paper's equation and every official run); 'outgoing' = softmax over the destinations of each source (a class in
   * the official code that is not exported and that no official experiment uses: an extra variant, not the official one).
   * Default 'incoming'.
   */
  normalisation?: AncreNormalisation;
}

/** A config with every field filled in. */
export type ResolvedWiringConfig = Required<WiringConfig>;

export const WIRING_DEFAULTS: ResolvedWiringConfig = {
  kind: 'residual',
  alphaMin: 0.6,
  tau: 0.01,
  normalisation: 'incoming',
};

/**
 * The parameters of the kinds added with `registerWiring` (./registry.ts, which also keeps their builders):
 * their names with defaults, and their check. Kept here so validation needs nothing above this file.
 */
export interface WiringKindParams {
  defaults: { [name: string]: number | string | boolean };
  validate?(params: { [name: string]: unknown }): void;
}
const registeredParams = new Map<string, WiringKindParams>();

/** Records a registered kind's parameters (called by `registerWiring`; not meant for other callers). */
export function setWiringKindParams(kind: string, params: WiringKindParams | null): void {
  if (params) registeredParams.set(kind, params);
  else registeredParams.delete(kind);
}

function registeredWiring(kind: unknown): WiringKindParams | undefined {
  return typeof kind === 'string' ? registeredParams.get(kind) : undefined;
}

/** The kinds added with `registerWiring`, in registration order. */
export function registeredWiringKinds(): string[] {
  return [...registeredParams.keys()];
}

/** The keys of every wiring config; a registered kind adds its parameters' names. */
export const WIRING_CONFIG_KEYS: readonly string[] = ['kind', 'alphaMin', 'tau', 'normalisation'];

/**
 * Checks a wiring config (kind, known keys, α_min, τ, normalisation, …); a ConfigError names the value and
 * what is allowed, prefixed with `where` when given (`rows[3] 'α_min=0.65'.wiring: alphaMin must be …`), so a
 * study's error says which row is wrong.
 */
export function validateWiring(config: WiringConfig, where?: string): void {
  if (where === undefined) return checkWiring(config);
  try {
    checkWiring(config);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${where}: ${e.message}`);
    throw e;
  }
}

function checkWiring(config: WiringConfig): void {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError(`the wiring config must be an object such as { kind: 'decayed', alphaMin: 0.6 } (kinds: ${[...WIRING_KINDS, ...registeredWiringKinds()].join(', ')}); got ${show(config)}`);
  }
  const custom = registeredWiring(config.kind);
  const known = [...WIRING_CONFIG_KEYS, ...Object.keys(custom?.defaults ?? {})];
  for (const k of Object.keys(config)) {
    if (!known.includes(k)) throw new ConfigError(`unknown key '${k}' in wiring config; expected one of ${known.join(', ')}`);
  }
  checkOneOf('wiring', config.kind, [...WIRING_KINDS, ...registeredWiringKinds()]);
  const { alphaMin, tau, normalisation } = config;
  if (alphaMin !== undefined && !(typeof alphaMin === 'number' && alphaMin > 0 && alphaMin <= 1)) {
    throw new ConfigError(`alphaMin must be in (0, 1]; got ${show(alphaMin)}`);
  }
  if (tau !== undefined) checkTau('tau', tau);
  if (normalisation !== undefined) checkOneOf('normalisation', normalisation, ANCRE_NORMALISATIONS);
  if (custom?.validate) custom.validate(withDefaults(custom.defaults, config));
}

/** Validates and fills defaults (a registered kind's parameters too). */
export function resolveWiring(config: WiringConfig): ResolvedWiringConfig {
  validateWiring(config);
  return withDefaults({ ...WIRING_DEFAULTS, ...registeredWiring(config.kind)?.defaults }, config);
}

function withDefaults<T extends object>(defaults: T, config: object): T {
  const out = { ...defaults };
  for (const [k, v] of Object.entries(config)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/**
 * Paper A's schedule over n sub-layers: α_k = 1 − (1 − α_min)·k/(n − 1), k = 0…n−1
 * (= `linspace(1, α_min, n)` in the official code). α_0 = 1, α_{n−1} = α_min; n = 1 gives [1].
 */
export function decayedSchedule(n: number, alphaMin: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`number of sub-layers must be an integer >= 1; got ${show(n)}`);
  if (!(alphaMin > 0 && alphaMin <= 1)) throw new ConfigError(`alphaMin must be in (0, 1]; got ${show(alphaMin)}`);
  if (n === 1) return [1];
  return Array.from({ length: n }, (_, k) => 1 - ((1 - alphaMin) * k) / (n - 1));
}
