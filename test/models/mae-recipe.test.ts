/** The 'official' / 'project' model recipe of the MAE: GELU, patch-embedding bias init, weight-decay groups. */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Mae, MAE_DEFAULTS, type MaeConfig } from '../../lib/models/mae';
import { gelu, geluExact } from '../../lib/models/transformer';
import { validateVit } from '../../lib/models/vit';
import { initTestEngine } from '../residual/engine';

before(initTestEngine);

const tiny = (recipe?: 'official' | 'project'): MaeConfig => ({
  ...MAE_DEFAULTS,
  encoder: { ...MAE_DEFAULTS.encoder, width: 16, depth: 2, heads: 2, ...(recipe ? { recipe } : {}) },
  decoderWidth: 16,
  decoderDepth: 2,
  decoderHeads: 2,
});

describe('MAE recipe switch', () => {
  test('exact GELU: x·Φ(x) at known points, its gradient, and how far the tanh form is from it', () => {
    const x = tf.tensor1d([-3, -1, 0, 0.5, 1, 2]);
    // Φ from erf: GELU(1) = 0.8413447, GELU(−1) = −0.1586553, GELU(2) = 1.9544997, GELU(−3) = −0.0040497.
    const want = [-0.0040497, -0.1586553, 0, 0.3457312, 0.8413447, 1.9544997];
    const got = geluExact(x).dataSync();
    want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 2e-6, `GELU(${x.dataSync()[i]}) = ${got[i]}, want ${w}`));
    // d/dx x·Φ(x) = Φ(x) + x·φ(x): at 1, 0.8413447 + 0.2419707 = 1.0833155.
    const g = tf.grad((v: tf.Tensor) => tf.sum(geluExact(v)))(tf.tensor1d([1])).dataSync()[0];
    assert.ok(Math.abs(g - 1.0833155) < 1e-5, `gradient ${g}`);
    const approx = gelu(x).dataSync();
    const gap = Math.max(...Array.from(got, (v, i) => Math.abs(v - approx[i])));
    assert.ok(gap > 1e-5 && gap < 1e-3, `tanh GELU differs from the exact one by ${gap}`);
    x.dispose();
  });

  test('official: every rank > 1 tensor decays (cls, mask tokens), biases and 1-D tensors do not; patch bias ~ U(±1/√P)', () => {
    const before = tf.memory().numTensors;
    const off = new Mae(tiny('official'), 'recipe-off');
    const proj = new Mae(tiny(), 'recipe-proj');
    const flags = (m: Mae) => Object.fromEntries(m.params().map((p) => [p.name.replace(/^recipe-(off|proj)\//, ''), p.decay]));
    const o = flags(off);
    const p = flags(proj);
    assert.equal(o['enc/cls'], true);
    assert.equal(p['enc/cls'], false);
    assert.equal(o['dec/cls'], true);
    assert.equal(o['dec/skip0/mask_token'], true);
    assert.equal(o['enc/patch/w'], true);
    assert.equal(o['enc/patch/b'], false);
    assert.equal(o['enc/trunk/block0/norm1/g'], false);
    assert.equal(o['enc/trunk/block0/mlp/fc1/b'], false);
    for (const m of [off, proj]) for (const q of m.params()) if (q.variable.rank === 1) assert.equal(q.decay, false, q.name);
    const bound = 1 / Math.sqrt(49);
    const b = off.encoder.patchEmbed.b!.dataSync();
    assert.ok(b.some((v) => v !== 0) && b.every((v) => Math.abs(v) <= bound), 'official patch bias: PyTorch default init');
    assert.ok(proj.encoder.patchEmbed.b!.dataSync().every((v) => v === 0), 'project patch bias: zeros');
    // The patch weight is drawn before the bias, so it is the same under both recipes.
    assert.deepEqual(off.encoder.patchEmbed.w.dataSync(), proj.encoder.patchEmbed.w.dataSync());
    const x = tf.randomUniform([2, 28, 28], 0, 1, 'float32', 3);
    const l = tf.tidy(() => off.loss(x, 1).dataSync()[0]);
    assert.ok(Number.isFinite(l));
    x.dispose();
    off.dispose();
    proj.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  test('an unknown recipe is a ConfigError listing the valid ones', () => {
    assert.throws(() => validateVit({ ...MAE_DEFAULTS.encoder, recipe: 'paper' as never }), /unknown vit.recipe 'paper'; expected one of official, project/);
  });
});
