import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { ResMlpClassifier, type ResMlpConfig } from '../../lib/models/resmlp';
import { WIRING_KINDS, type WiringConfig } from '../../lib/residual';
import { AdamW } from '../../lib/train/adamw';
import { ConfigError } from '../../lib/errors';
import { initTestEngine } from '../residual/engine';
import { readable } from '../../lib/backend/webgpu';
import { scalarOf, snapshot, valuesOf } from '../backend/compare';

before(initTestEngine);

const small = (over: Partial<ResMlpConfig> = {}): ResMlpConfig => ({
  inputs: 12,
  width: 8,
  blocks: 3,
  layersPerBlock: 2,
  classes: 4,
  wiring: { kind: 'residual' },
  ...over,
});

function batch(B: number, P: number, C: number, seed = 1): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const x = tf.randomNormal([B, P], 0, 1, 'float32', seed) as tf.Tensor2D;
  const y = tf.tensor1d(Array.from({ length: B }, (_, i) => (i * 7 + seed) % C), 'int32');
  return { x, y };
}

/** One AdamW step; returns the loss before and after. */
async function adamStep(model: ResMlpClassifier, opt: AdamW, x: tf.Tensor2D, y: tf.Tensor1D, lr: number): Promise<[number, number]> {
  const vars = model.params.map((p) => p.variable);
  const { value, grads } = tf.variableGrads(() => model.loss(x, y), vars);
  for (const v of vars) assert.ok(grads[v.name], `no gradient for ${v.name}`);
  const l0 = (await value.data())[0];
  await opt.stepAsync(grads, lr);
  tf.dispose([value, ...Object.values(grads)]);
  const l1 = await scalarOf(() => model.loss(x, y));
  return [l0, l1];
}

describe('ResMlpClassifier', () => {
  test('shapes and parameter count: input, K·L hidden layers with LayerNorm, head', async () => {
    const c = small();
    const m = new ResMlpClassifier(c, 0);
    const { x } = batch(5, c.inputs, c.classes);
    const logits = m.logits(x);
    assert.deepEqual(logits.shape, [5, 4]);
    const dnl = (i: number, o: number) => i * o + o + 2 * o; // Dense w, b + LayerNorm g, b
    assert.equal(m.paramCount(), dnl(12, 8) + 3 * 2 * dnl(8, 8) + (8 * 4 + 4));
    // Decay only on Dense weights.
    for (const p of m.params) assert.equal(p.decay, /\/dense\/w|\/head\/w/.test(p.name), p.name);
    // LeCun uniform init: |w| ≤ √(1/fanIn).
    const w = m.params.find((p) => p.name.includes('block0/layer0/dense/w'))!.variable;
    assert.ok((await scalarOf(() => tf.max(tf.abs(w)))) <= Math.sqrt(1 / 8) + 1e-7);
    tf.dispose([x, logits]);
    m.dispose();
  });

  test('the same seed gives the same network; another seed another', async () => {
    const c = small();
    const { x } = batch(3, c.inputs, c.classes);
    const out = async (seed: number) => {
      const m = new ResMlpClassifier(c, seed);
      const v = Array.from(await valuesOf(() => m.logits(x)));
      m.dispose();
      return v;
    };
    assert.deepEqual(await out(4), await out(4));
    assert.notDeepEqual(await out(4), await out(5));
    x.dispose();
  });

  test('residual wiring equals the hand-written x + F(x) trunk; plain equals F(x)', async () => {
    const c = small({ blocks: 2, layersPerBlock: 1 });
    const { x } = batch(3, c.inputs, c.classes);
    for (const kind of ['residual', 'plain'] as const) {
      const m = new ResMlpClassifier({ ...c, wiring: { kind } }, 9);
      const p = (name: string) => m.params.find((q) => q.name === `resmlp/${name}`)!.variable;
      const layer = (pre: string, h: tf.Tensor) => {
        const z = tf.add(tf.matMul(h as tf.Tensor2D, p(`${pre}/dense/w`) as tf.Tensor2D), p(`${pre}/dense/b`));
        const { mean, variance } = tf.moments(z, -1, true);
        const n = tf.add(tf.mul(tf.mul(tf.sub(z, mean), tf.rsqrt(tf.add(variance, 1e-6))), p(`${pre}/norm/g`)), p(`${pre}/norm/b`));
        return tf.mul(n, tf.sigmoid(n));
      };
      const expected = tf.tidy(() => {
        let h = layer('input', x);
        for (const l of [0, 1]) h = kind === 'residual' ? tf.add(h, layer(`block${l}/layer0`, h)) : layer(`block${l}/layer0`, h);
        return tf.add(tf.matMul(h as tf.Tensor2D, p('head/w') as tf.Tensor2D), p('head/b'));
      });
      const got = m.logits(x);
      const diff = await scalarOf(() => tf.max(tf.abs(tf.sub(got, expected))));
      assert.ok(diff < 1e-4, `${kind}: max |diff| ${diff}`);
      tf.dispose([got, expected]);
      m.dispose();
    }
    x.dispose();
  });

  for (const kind of WIRING_KINDS) {
    test(`${kind}: builds, one AdamW step is finite, lowers the loss, moves the wiring scalars, leaks nothing`, async () => {
      const c = small({ wiring: { kind } as WiringConfig });
      const m = new ResMlpClassifier(c, 2);
      const opt = new AdamW(m.params, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, clipNorm: 0 });
      const { x, y } = batch(8, c.inputs, c.classes);
      const wiringBefore = await snapshot(m.wiring.variables);
      const [l0, l1] = await adamStep(m, opt, x, y, 1e-3);
      assert.ok(Number.isFinite(l0) && Number.isFinite(l1), `loss ${l0} -> ${l1}`);
      assert.ok(l1 < l0, `one step lowers the loss: ${l0} -> ${l1}`);
      const wiringAfter = await snapshot(m.wiring.variables);
      m.wiring.variables.forEach((v, i) => assert.notDeepEqual(wiringAfter[i], wiringBefore[i], `${v.name} did not move`));
      const before = tf.memory().numTensors;
      await adamStep(m, opt, x, y, 1e-3);
      assert.equal(tf.memory().numTensors, before, 'a training step leaks tensors');
      const n0 = tf.memory().numTensors;
      opt.dispose();
      m.dispose();
      tf.dispose([x, y]);
      assert.equal(tf.memory().numTensors, n0 - 2 * m.params.length - m.params.length - 2, 'dispose frees every variable');
    });
  }

  test('ANCRe exposes its K×K routing matrix, uniform at init', async () => {
    const m = new ResMlpClassifier(small({ blocks: 4, wiring: { kind: 'ancre', tau: 0.01 } }), 0);
    await readable(m.wiring.variables);
    const p = m.wiring.coefficients();
    assert.equal(p.length, 4);
    p.forEach((row, l) => row.forEach((v, i) => assert.ok(Math.abs(v - (i <= l ? 1 / (l + 1) : 0)) < 1e-6, `p[${l}][${i}] = ${v}`)));
    assert.equal(m.wiring.overhead().trainable, 1 + 2 + 3 + 4 - 1);
    m.dispose();
  });

  test('bad configs are rejected with the value', () => {
    assert.throws(() => new ResMlpClassifier(small({ blocks: 0 }), 0), (e: unknown) => e instanceof ConfigError && /model\.blocks must be .*got 0/.test(e.message));
    assert.throws(() => new ResMlpClassifier(small({ layersPerBlock: 1.5 }), 0), /layersPerBlock must be .*got 1\.5/);
    assert.throws(() => new ResMlpClassifier(small({ width: -3 }), 0), /width .*got -3/);
    assert.throws(
      () => new ResMlpClassifier(small({ wiring: { kind: 'decay' } as unknown as WiringConfig }), 0),
      (e: unknown) => e instanceof ConfigError && /unknown wiring 'decay'; expected one of residual/.test(e.message),
    );
    assert.throws(() => new ResMlpClassifier(small({ wiring: { kind: 'ancre', tau: 0 } }), 0), /tau must be > 0; got 0/);
  });
});
