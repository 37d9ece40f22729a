/**
 * A model's trainable parameters as the optimiser, the checkpoint and the overhead counts see them.
 * Weight decay applies to weight matrices only: never to biases, norm gains, embeddings'
 * position tables or wiring scalars (MAE's `param_groups_weight_decay`, nanoGPT's `configure_optimizers`).
 */
import * as tf from '@tensorflow/tfjs';

export interface Param {
  /** Unique, path-like: `enc/block3/attn/qkv/w`, `wiring/c`. */
  name: string;
  variable: tf.Variable;
  /** Whether decoupled weight decay applies to it. */
  decay: boolean;
}

/** Total number of scalars in a parameter list. */
export function countParams(params: readonly Param[]): number {
  return params.reduce((n, p) => n + p.variable.size, 0);
}

/** Throws when two parameters share a name (checkpoints are keyed by name). */
export function checkUniqueNames(params: readonly Param[]): void {
  const seen = new Set<string>();
  for (const p of params) {
    if (seen.has(p.name)) throw new Error(`duplicate parameter name '${p.name}'`);
    seen.add(p.name);
  }
}

/** Disposes every variable of a parameter list. */
export function disposeParams(params: readonly Param[]): void {
  for (const p of params) p.variable.dispose();
}
