import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Llama, LLAMA_DEFAULTS, type LlamaConfig } from '../../lib/models/llama';
import { AdamW, ADAMW_DEFAULTS } from '../../lib/train/adamw';
import { WIRING_KINDS, type WiringConfig } from '../../lib/residual';
import { initTestEngine } from '../residual/engine';
import { scalarOf, snapshot } from '../backend/compare';

before(initTestEngine);

const tiny = (over: Partial<LlamaConfig> = {}): LlamaConfig => ({
  ...LLAMA_DEFAULTS,
  vocabSize: 50,
  width: 16,
  depth: 3,
  heads: 2,
  mlpHidden: 24,
  maxSeqLen: 8,
  seed: 5,
  ...over,
});

function batch(B: number, T: number, V: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  return {
    x: tf.randomUniform([B, T], 0, V, 'int32', seed) as tf.Tensor2D,
    y: tf.randomUniform([B, T], 0, V, 'int32', seed + 1) as tf.Tensor2D,
  };
}

/** One AdamW step; returns the loss before it. */
async function adamStep(m: Llama, opt: AdamW, x: tf.Tensor2D, y: tf.Tensor2D, lr: number): Promise<number> {
  const vars = m.params().map((p) => p.variable);
  const { value, grads } = tf.variableGrads(() => m.loss(x, y), vars);
  for (const v of vars) assert.ok(grads[v.name], `no gradient for ${v.name}`);
  const l = (await value.data())[0];
  await opt.stepAsync(grads, lr);
  tf.dispose([value, ...Object.values(grads)]);
  return l;
}

describe('Llama: one AdamW training step with every wiring', () => {
  for (const kind of WIRING_KINDS) {
    test(`${kind}: loss finite and lower after a few steps, every parameter moves, no tensor leaks`, async () => {
      const m = new Llama(tiny({ wiring: { kind } as WiringConfig }), `lm-${kind}`);
      const opt = new AdamW(m.params(), { ...ADAMW_DEFAULTS, weightDecay: 0 });
      const { x, y } = batch(2, 8, 50, 3);
      const before0 = await snapshot(m.params().map((p) => p.variable));
      const l0 = await adamStep(m, opt, x, y, 1e-2);
      const n0 = tf.memory().numTensors; // the first step built the masks and rotary tables
      for (let i = 0; i < 4; i++) await adamStep(m, opt, x, y, 1e-2);
      assert.equal(tf.memory().numTensors, n0, 'tensors leaked by a training step');
      const l1 = await scalarOf(() => m.loss(x, y));
      assert.ok(Number.isFinite(l0) && Number.isFinite(l1));
      assert.ok(l1 < l0, `five steps on one batch lower the loss: ${l0} -> ${l1}`);
      const after = await snapshot(m.params().map((p) => p.variable));
      m.params().forEach((p, i) => assert.ok(after[i].some((v, j) => v !== before0[i][j]), `parameter ${p.name} did not change`));
      opt.dispose();
      m.dispose();
      tf.dispose([x, y]);
    });
  }
});
