import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { patchify, unpatchify, sincos2d, VitEncoder, VIT_DEFAULTS, extractFeatures, type VitConfig } from '../../lib/models/vit';
import { initTestEngine } from '../residual/engine';

before(initTestEngine);

const tiny = (over: Partial<VitConfig> = {}): VitConfig => ({ ...VIT_DEFAULTS, width: 16, depth: 4, heads: 2, seed: 1, ...over });

describe('ViT pieces', () => {
  test('patchify takes patches row by row, pixels in (row, col, channel) order; unpatchify inverts it', () => {
    const img = tf.tensor3d(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4]); // [B, H, W]
    const p = patchify(img, 2);
    assert.deepEqual(p.shape, [1, 4, 4]);
    assert.deepEqual(Array.from(p.dataSync()).slice(0, 8), [0, 1, 4, 5, 2, 3, 6, 7]);
    assert.deepEqual(Array.from(unpatchify(p, 2, 1).dataSync()), Array.from(img.dataSync()));
    const rgb = tf.randomUniform([2, 6, 6, 3], 0, 1, 'float32', 2);
    const q = patchify(rgb, 3);
    assert.deepEqual(q.shape, [2, 4, 27]);
    assert.deepEqual(Array.from(unpatchify(q, 3, 3).dataSync()), Array.from(rgb.dataSync()));
    tf.dispose([img, p, rgb, q]);
  });

  test("sin-cos table: cls row 0, then [sincos(col), sincos(row)] with MAE's frequencies", () => {
    const D = 8;
    const t = sincos2d(D, 3);
    assert.equal(t.length, 10 * D);
    assert.deepEqual(Array.from(t.subarray(0, D)), new Array(D).fill(0));
    const row = 1 + 1 * 3 + 2; // patch (r = 1, c = 2)
    const w = [1, 1 / 100]; // 10000^(−j/2), j = 0, 1
    const want = [Math.sin(2 * w[0]), Math.sin(2 * w[1]), Math.cos(2 * w[0]), Math.cos(2 * w[1]), Math.sin(w[0]), Math.sin(w[1]), Math.cos(w[0]), Math.cos(w[1])];
    Array.from(t.subarray(row * D, row * D + D)).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `${i}: ${v} vs ${want[i]}`));
    assert.throws(() => sincos2d(6, 2), /divisible by 4; got 6/);
  });

  test('encoder: zero-initialised branches make every block the identity at step 0; features are the token mean', () => {
    const enc = new VitEncoder(tiny(), 'vit-t1');
    const x = tf.randomUniform([3, 28, 28], 0, 1, 'float32', 3);
    const before = tf.memory().numTensors;
    const [h0, feats, f] = tf.tidy(() => {
      const tokens = enc.embed(patchify(x, 7));
      const cls = tf.add(tf.zeros([3, 1, 16]), enc.cls);
      const h0 = tf.concat([cls, tokens], 1);
      const { states } = enc.run(tokens);
      return [h0, states, enc.features(x)];
    }) as unknown as [tf.Tensor, tf.Tensor[], tf.Tensor];
    assert.equal(feats.length, 4);
    for (const s of feats) assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(s, h0))).dataSync()[0]) === 0);
    assert.deepEqual(f.shape, [3, 16]);
    assert.ok(tf.tidy(() => tf.max(tf.abs(tf.sub(f, tf.mean(h0, 1)))).dataSync()[0]) < 1e-6);
    tf.dispose([h0, f, ...feats]);
    assert.equal(tf.memory().numTensors, before);
    // Batched extraction equals one big batch.
    const imgs = x.dataSync() as Float32Array;
    const a = extractFeatures(enc, imgs, 3, 2);
    const b = extractFeatures(enc, imgs, 3, 8);
    assert.equal(a.blocks.length, 4);
    a.blocks[3].forEach((v, i) => assert.ok(Math.abs(v - b.blocks[3][i]) < 1e-5, `${i}: ${v} vs ${b.blocks[3][i]}`));
    x.dispose();
    enc.dispose();
  });

  test('bad configs are rejected with the value', () => {
    assert.throws(() => new VitEncoder(tiny({ patch: 5 })), /patch must divide image 28; got 5/);
    assert.throws(() => new VitEncoder(tiny({ width: 18, heads: 3 })), /width must be divisible by 4/);
    assert.throws(() => new VitEncoder(tiny({ width: 20, heads: 8 })), /divisible by heads; got width 20, heads 8/);
    assert.throws(() => new VitEncoder(tiny({ depth: 0 })), /vit.depth/);
    assert.throws(() => new VitEncoder(tiny({ wiring: { kind: 'decay' as never } })), /unknown wiring 'decay'|expected one of/);
  });
});
