import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Mae, MAE_DEFAULTS, MAE_PRESETS, randomMasking, normalisePatches, officialMaeParamCount, type MaeConfig } from '../../lib/models/mae';
import { patchify } from '../../lib/models/vit';
import { train, TRAIN_DEFAULTS } from '../../lib/train';
import { WIRING_KINDS, type WiringConfig } from '../../lib/residual';
import { initTestEngine } from '../residual/engine';
import { scalarOf, scalarsOf, valuesOf } from '../backend/compare';

before(initTestEngine);

const tiny = (over: Partial<MaeConfig> = {}, enc: Partial<MaeConfig['encoder']> = {}): MaeConfig => ({
  ...MAE_DEFAULTS,
  encoder: { ...MAE_DEFAULTS.encoder, width: 16, depth: 4, heads: 2, seed: 5, ...enc },
  decoderWidth: 16,
  decoderDepth: 2,
  decoderHeads: 2,
  ...over,
});

function images(B: number, seed = 1): tf.Tensor3D {
  return tf.randomUniform([B, 28, 28], 0, 1, 'float32', seed) as tf.Tensor3D;
}

const read = (t: tf.Tensor) => Array.from(t.dataSync());

describe('MAE masking', () => {
  test('exactly 25% of the patches stay visible, per image; deterministic per seed; ids_restore inverts the shuffle', () => {
    const before = tf.memory().numTensors;
    const m = randomMasking(5, 16, 0.75, 11);
    const mask = read(m.mask);
    const keep = read(m.idsKeep);
    for (let b = 0; b < 5; b++) {
      const row = mask.slice(b * 16, b * 16 + 16);
      assert.equal(row.filter((v) => v === 0).length, 4);
      const kept = keep.slice(b * 4, b * 4 + 4);
      assert.equal(new Set(kept).size, 4);
      for (const i of kept) assert.equal(row[i], 0, `kept patch ${i} of image ${b} is unmasked`);
    }
    const again = randomMasking(5, 16, 0.75, 11);
    assert.deepEqual(read(again.mask), mask);
    assert.deepEqual(read(again.idsRestore), read(m.idsRestore));
    const other = randomMasking(5, 16, 0.75, 12);
    assert.notDeepEqual(read(other.mask), mask);
    // restore[i] is patch i's rank in the shuffle: the kept ones are ranks 0..3 in order of idsKeep.
    const restore = read(m.idsRestore);
    for (let b = 0; b < 5; b++) keep.slice(b * 4, b * 4 + 4).forEach((i, r) => assert.equal(restore[b * 16 + i], r));
    // len_keep = ⌊L (1 − r)⌋ as in MAE: 49 patches keep 12.
    const m49 = randomMasking(1, 49, 0.75, 1);
    assert.equal(read(m49.mask).filter((v) => v === 0).length, 12);
    tf.dispose([m, again, other, m49].flatMap((x) => [x.mask, x.idsKeep, x.idsRestore]));
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('MAE model', () => {
  test('zero-initialised branch outputs, skip outputs and prediction head; skips from blocks 4, 2 (1-based), deepest first', () => {
    const mae = new Mae(tiny(), 'mae-z');
    const zero = (t: tf.Tensor) => read(t).every((v) => v === 0);
    for (const stack of [mae.encoder.stack, mae.decoder]) {
      for (const b of stack.blocks) {
        assert.ok(zero(b.attn.proj.w) && zero((b.mlp as { fc2: { w: tf.Tensor } }).fc2.w));
        assert.ok(!zero(b.attn.qkv.w));
      }
    }
    assert.ok(zero(mae.pred.w));
    assert.deepEqual(mae.skipFrom, [3, 1]);
    for (const s of mae.skipLayers) assert.ok(zero(s.fc2.w) && !zero(s.fc1.w));
    const deeper = new Mae(tiny({ decoderDepth: 1 }, { depth: 8 }), 'mae-z8');
    assert.deepEqual(deeper.skipFrom, [7], 'a 1-block decoder takes only the deepest skip');
    mae.dispose();
    deeper.dispose();
  });

  test('normalised-pixel targets: per patch mean 0 and unbiased variance 1 (torch .var())', async () => {
    const t = Array.from(await valuesOf(() => normalisePatches(patchify(images(2), 7)).target));
    for (let i = 0; i < t.length; i += 49) {
      const p = t.slice(i, i + 49);
      const mean = p.reduce((a, b) => a + b) / 49;
      const v = p.reduce((a, b) => a + (b - mean) ** 2, 0) / 48;
      assert.ok(Math.abs(mean) < 1e-5 && Math.abs(v - 1) < 1e-3, `patch ${i / 49}: mean ${mean}, var ${v}`);
    }
  });

  test('shapes, and the loss at step 0 is the mean over MASKED patches of target² (zero head)', async () => {
    const mae = new Mae(tiny({ normPixLoss: false }), 'mae-l');
    const x = images(3);
    const before = tf.memory().numTensors;
    const loss = mae.loss(x, 42);
    // pred = 0 at init (zero head), so loss = Σ_masked mean_P(t²) / #masked.
    const want = await scalarOf(() => {
      const t = patchify(x, 7); // [B, L, P]
      const m = randomMasking(3, 16, 0.75, 42);
      const perPatch = tf.mean(tf.square(t), -1);
      return tf.div(tf.sum(tf.mul(perPatch, m.mask)), tf.sum(m.mask));
    });
    const got = (await loss.data())[0];
    assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
    loss.dispose();
    // The same loss with the visible/masked roles swapped would differ: the mask matters.
    const visibleOnly = await scalarOf(() => {
      const t = patchify(x, 7);
      const m = randomMasking(3, 16, 0.75, 42);
      return tf.div(tf.sum(tf.mul(tf.mean(tf.square(t), -1), tf.sub(1, m.mask))), tf.sum(tf.sub(1, m.mask)));
    });
    assert.notEqual(visibleOnly.toFixed(6), want.toFixed(6));
    const { recon, mask } = await mae.reconstruct(x, 42);
    assert.deepEqual(recon.shape, [3, 28, 28, 1]);
    assert.deepEqual(mask.shape, [3, 16]);
    tf.dispose([recon, mask]);
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    mae.dispose();
  });

  test('maskedLoss ignores visible patches entirely', async () => {
    const mae = new Mae(tiny({ normPixLoss: false }), 'mae-m');
    const { a, b } = await scalarsOf(() => {
      const target = tf.randomUniform([2, 4, 3], 0, 1, 'float32', 1);
      const mask = tf.tensor2d([[1, 0, 0, 1], [0, 1, 0, 0]]);
      const keepMask = mask.expandDims(-1);
      // pred equals the target on masked patches and is garbage on visible ones.
      const pred = tf.add(tf.mul(target, keepMask), tf.mul(tf.sub(1, keepMask), 100));
      const off = tf.add(target, tf.mul(keepMask, 0.5)); // error 0.5 on masked patches only
      return { a: mae.maskedLoss(target, pred, mask), b: mae.maskedLoss(target, off, mask) };
    });
    assert.equal(a, 0);
    assert.ok(Math.abs(b - 0.25) < 1e-6);
    mae.dispose();
  });

  for (const skips of [true, false]) {
    test(`skips ${skips ? 'on' : 'off'}: the encoder learns through the decoder after a few steps; parameters as expected`, async () => {
      const mae = new Mae(tiny({ skips }), `mae-s${skips}`);
      const names = mae.params().map((p) => p.name);
      assert.equal(names.some((n) => n.includes('/skip')), skips);
      assert.equal(names.some((n) => n.includes('latent_norm')), !skips);
      const x = images(8, 3);
      const r = await train({ ...TRAIN_DEFAULTS, steps: 4, logEvery: 1, checkpointEvery: 0, schedule: { lr: 1e-2, warmupFraction: 0, minRatio: 1 } }, {
        params: mae.params(),
        loss: (s) => mae.loss(x, s),
      });
      r.dispose();
      const qkv = mae.encoder.stack.blocks[0].attn.qkv.w;
      const { value, grads } = tf.variableGrads(() => mae.loss(x, 99), [qkv]);
      const g = await scalarOf(() => tf.norm(grads[qkv.name]));
      tf.dispose([value, ...Object.values(grads)]);
      assert.ok(g > 0, `the first encoder block gets a gradient after 4 steps: ${g}`);
      x.dispose();
      mae.dispose();
    });
  }

  test('bad configs are rejected with the value and the range', () => {
    assert.throws(() => new Mae(tiny({ maskRatio: 1 })), /maskRatio must be \(0, 1\); got 1/);
    assert.throws(() => new Mae(tiny({ maskRatio: 0.97 })), /leaves no visible patch out of 16/);
    assert.throws(() => new Mae(tiny({ decoderWidth: 18 })), /decoderWidth must be divisible by 4/);
    assert.throws(() => new Mae(tiny({ decoderHeads: 3 })), /decoderWidth must be divisible by decoderHeads; got 16, 3/);
    assert.throws(() => new Mae(tiny({ skips: 'yes' as never })), /skips must be true or false/);
    assert.throws(() => new Mae(tiny({}, { wiring: { kind: 'decayed', alphaMin: 1.3 } })), /alphaMin must be in \(0, 1\]; got 1.3/);
  });
});

describe('MAE with every encoder wiring', () => {
  for (const kind of WIRING_KINDS) {
    test(`${kind}: builds, trains one step with a finite loss, leaks nothing; the decoder stays plain residual`, async () => {
      const mae = new Mae(tiny({}, { wiring: { kind } as WiringConfig }), `mae-w-${kind}`);
      assert.equal(mae.decoder.wiring.kind, 'residual');
      assert.equal(mae.encoder.stack.wiring.kind, kind);
      const x = images(4, 2);
      const cfg = { ...TRAIN_DEFAULTS, steps: 1, logEvery: 1, checkpointEvery: 0 };
      const r1 = await train(cfg, { params: mae.params(), loss: (s) => mae.loss(x, s) });
      assert.ok(Number.isFinite(r1.history.loss[0]));
      r1.dispose();
      const before = tf.memory().numTensors;
      const r2 = await train(cfg, { params: mae.params(), loss: (s) => mae.loss(x, s) });
      r2.dispose();
      assert.equal(tf.memory().numTensors, before);
      x.dispose();
      mae.dispose();
    });
  }
});

describe("paper A's model: mae_vit_base_patch16_dec512d8b", () => {
  const paper = MAE_PRESETS.mae_vit_base_patch16_dec512d8b;
  test('parameter count equals the official model (117,038,848 trainable; 111,655,680 for the original MAE ViT-B)', () => {
    // Counted from the official modules (officialMaeParamCount): the original MAE ViT-B/16 has 111,655,680;
    // paper A's code adds 6 skip layers (+5,515,776 = 6 × (1280·512 + 512 + 512·512 + 512 + 768 mask token)),
    // drops the encoder's final norm (−1,536), swaps the decoder mask token for a decoder cls token (±512) and
    // embeds 512-d inputs instead of 768-d latents (−131,072): 117,038,848.
    assert.equal(officialMaeParamCount(paper), 117038848);
    const mae = new Mae({ ...paper, encoder: { ...paper.encoder, image: 32 } }, 'mae-vitb');
    // The position tables are fixed, so the image size changes no parameter count.
    assert.equal(mae.paramCount(), 117038848);
    assert.equal(mae.skipLayers.length, 6);
    assert.deepEqual(mae.skipFrom, [11, 9, 7, 5, 3, 1]);
    mae.dispose();
  });
});
