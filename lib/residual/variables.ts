/**
 * Variable naming. TF.js keeps one global registry of variable names and throws on a duplicate,
 * so two models (or two wirings) in one process need distinct names: a `#2`, `#3`, … suffix is added
 * on collision. The prefix before the first '/' (e.g. `wiring/`) is what optimisers match on.
 */
import * as tf from '@tensorflow/tfjs';

export function uniqueVariableName(base: string): string {
  const taken = tf.engine().registeredVariables;
  if (!(base in taken)) return base;
  for (let i = 2; ; i++) {
    const name = `${base}#${i}`;
    if (!(name in taken)) return name;
  }
}

/** A variable under a unique name; `trainable` false for frozen scalars (ANCRe's c_0). */
export function makeVariable(init: tf.Tensor, base: string, trainable = true): tf.Variable {
  const v = tf.variable(init, trainable, uniqueVariableName(base));
  init.dispose();
  return v;
}
