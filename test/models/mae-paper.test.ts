/**
 * Paper A's model, mae_vit_base_patch16_dec512d8b, runs one training step. On this project's wasm engine,
 * AdamW's two moment buffers for 117M parameters do not fit the WebAssembly heap, and a 224² step takes
 * ~8 s on a shared core; so the step here is a plain SGD update at a REDUCED image size of 32² (2×2 patches,
 * 1 visible), which changes no parameter count (the position tables are fixed). Not an engines test: the
 * pure-JS engine would take minutes.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Mae, MAE_PRESETS } from '../../lib/models/mae';
import { initTestEngine } from '../residual/engine';

before(initTestEngine);

test('mae_vit_base_patch16_dec512d8b (at 32²): one SGD step on 2 images, finite loss, every parameter gets a finite gradient', () => {
  const p = MAE_PRESETS.mae_vit_base_patch16_dec512d8b;
  const mae = new Mae({ ...p, encoder: { ...p.encoder, image: 32 } }, 'mae-paper-step');
  assert.equal(mae.paramCount(), 117038848);
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1);
  const vars = mae.params().map((q) => q.variable);
  const { value, grads } = tf.variableGrads(() => mae.loss(x, 1), vars);
  const l0 = value.dataSync()[0];
  assert.ok(Number.isFinite(l0), `loss ${l0}`);
  // Zero-initialised head: the first step moves only the head; the head's gradient is non-zero.
  const headGrad = tf.tidy(() => tf.norm(grads[mae.pred.w.name]).dataSync()[0]);
  assert.ok(headGrad > 0);
  for (const v of vars) {
    const g = grads[v.name];
    assert.ok(g, `no gradient for ${v.name}`);
    tf.tidy(() => {
      assert.ok(Number.isFinite(tf.sum(g).dataSync()[0]), `non-finite gradient for ${v.name}`);
      v.assign(tf.sub(v, tf.mul(g, 1e-2)));
    });
  }
  tf.dispose([value, ...Object.values(grads)]);
  const l1 = tf.tidy(() => mae.loss(x, 1).dataSync()[0]);
  assert.ok(l1 < l0, `the step lowers the loss on its batch: ${l0} -> ${l1}`);
  x.dispose();
  mae.dispose();
});
