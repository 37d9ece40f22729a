import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DiT, DIT_DEFAULTS, DIT_PAPER_CONFIGS, ditParamCount, patchify, unpatchify, type DitConfig } from '../../lib/models/dit';
import { flowMatchingLoss, sampleImages, samplerNfe, stepSeed, SAMPLER_DEFAULTS } from '../../lib/models/diffusion';
import { WIRING_KINDS, type WiringConfig } from '../../lib/residual';
import { train, TRAIN_DEFAULTS } from '../../lib/train/loop';
import { initTestEngine } from '../residual/engine';
import { arrayOf, scalarOf, snapshot, valuesOf } from '../backend/compare';

before(initTestEngine);

const tiny = (over: Partial<DitConfig> = {}): DitConfig => ({
  ...DIT_DEFAULTS,
  imageSize: 8,
  patch: 4,
  width: 16,
  depth: 2,
  heads: 2,
  mlpRatio: 2,
  classes: 3,
  freqDim: 16,
  seed: 1,
  ...over,
});

function batch(B: number, S: number, seed = 2): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return {
    x: tf.randomUniform([B, S, S, 1], -1, 1, 'float32', seed) as tf.Tensor4D,
    y: tf.tensor1d(Array.from({ length: B }, (_, i) => i % 3), 'int32'),
  };
}

describe('DiT shapes and init', () => {
  test('patchify/unpatchify round trip and token order', async () => {
    const x = tf.range(0, 2 * 8 * 8 * 2).reshape([2, 8, 8, 2]);
    const p = patchify(x, 4);
    assert.deepEqual(p.shape, [2, 4, 32]);
    // token 1 is the top-right 4×4 patch: its first pixel is (row 0, col 4), channel 0
    assert.equal(((await p.array()) as number[][][])[0][1][0], 4 * 2);
    assert.deepEqual(await arrayOf(() => unpatchify(p, 4, 2)), await x.array());
    tf.dispose([x, p]);
  });

  test('forward: prediction [B, S, S, C], one state per block [B, T, D]; adaLN-Zero makes the output exactly 0', async () => {
    for (const longSkips of [false, true]) {
      const m = new DiT(tiny({ depth: 4, longSkips }), `shape-${longSkips}`);
      const { x, y } = batch(3, 8);
      const t = tf.tensor1d([0.1, 0.5, 0.9]);
      m.predict(x, t, y).dispose(); // warm-up: engine caches
      const before = tf.memory().numTensors;
      const out = tf.tidy(() => {
        const o = m.forward(x, t, y);
        assert.equal(o.states.length, 4);
        for (const s of o.states) assert.deepEqual(s.shape, [3, 4, 16]);
        return o.out;
      });
      assert.deepEqual(out.shape, [3, 8, 8, 1]);
      assert.equal(await scalarOf(() => tf.max(tf.abs(out))), 0);
      out.dispose();
      assert.equal(tf.memory().numTensors, before, 'forward leaks nothing');
      tf.dispose([x, y, t]);
      m.dispose();
    }
  });

  test('learnSigma predicts 2C channels and returns the first C', () => {
    const m = new DiT(tiny({ learnSigma: true }), 'sigma');
    const { x, y } = batch(2, 8);
    const out = m.predict(x, tf.tensor1d([0.3, 0.3]), y);
    assert.deepEqual(out.shape, [2, 8, 8, 1]);
    tf.dispose([x, y, out]);
    m.dispose();
  });

  test('parameter count: analytic = built, for skips, ANCRe, learnSigma, no CFG row', () => {
    const configs: DitConfig[] = [
      tiny(),
      tiny({ depth: 4, longSkips: true }),
      tiny({ depth: 4, wiring: { kind: 'ancre', tau: 0.01 } }),
      tiny({ learnSigma: true, classDropout: 0 }),
    ];
    configs.forEach((c, i) => {
      const m = new DiT(c, `count${i}`);
      assert.equal(ditParamCount(c), m.paramCount(), `config ${i}`);
      m.dispose();
    });
    // long skips add depth/2 Linear(D, D)
    assert.equal(ditParamCount(tiny({ depth: 4, longSkips: true })) - ditParamCount(tiny({ depth: 4 })), 2 * (16 * 16 + 16));
  });

  test("paper configs match the papers' parameter counts (DiT-S/2 33M, DiT-B/2 130M, SiT-XL/2 675M)", () => {
    const close = (name: keyof typeof DIT_PAPER_CONFIGS, millions: number) => {
      const n = ditParamCount(DIT_PAPER_CONFIGS[name]) / 1e6;
      assert.ok(Math.abs(n - millions) / millions < 0.01, `${name}: ${n.toFixed(2)}M vs ${millions}M`);
    };
    close('DiT-S/2', 33);
    close('DiT-B/2', 130);
    close('SiT-XL/2', 675);
  });

  test('config errors name the value', () => {
    assert.throws(() => new DiT(tiny({ depth: 3, longSkips: true })), /depth must be even with longSkips.*got 3/);
    assert.throws(() => new DiT(tiny({ imageSize: 10 })), /imageSize must be divisible by patch; got imageSize 10, patch 4/);
    assert.throws(() => new DiT(tiny({ wiring: { kind: 'decay' } as unknown as WiringConfig })), /unknown wiring 'decay'/);
  });
});

describe('long skips', () => {
  test('on: the skip weights get gradients and change the output; off: no skip parameters', async () => {
    const m = new DiT(tiny({ depth: 4, longSkips: true }), 'skips-on');
    // Give adaLN and the final layer random weights so every path is live.
    for (const p of m.params()) {
      if (/adaLN\/w|final\/linear\/w/.test(p.name)) p.variable.assign(tf.tidy(() => tf.randomNormal(p.variable.shape, 0, 0.2, 'float32', 9)));
    }
    const { x, y } = batch(2, 8);
    const t = tf.tensor1d([0.2, 0.7]);
    const skipVars = m.params().filter((p) => p.name.includes('/skip/'));
    assert.equal(skipVars.length, 4); // 2 blocks × (w, b)
    const { grads, value } = tf.variableGrads(() => tf.tidy(() => tf.mean(tf.square(m.forward(x, t, y).out)) as tf.Scalar), skipVars.map((p) => p.variable));
    for (const p of skipVars) assert.ok((await scalarOf(() => tf.max(tf.abs(grads[p.variable.name])))) > 0, `${p.name} gets a gradient`);
    const out1 = m.predict(x, t, y);
    skipVars[0].variable.assign(tf.tidy(() => tf.zerosLike(skipVars[0].variable)));
    const out2 = m.predict(x, t, y);
    assert.ok((await scalarOf(() => tf.max(tf.abs(tf.sub(out1, out2))))) > 1e-4, 'a skip weight changes the output');
    tf.dispose([x, y, t, value, out1, out2, ...Object.values(grads)]);
    m.dispose();
    const off = new DiT(tiny({ depth: 4 }), 'skips-off');
    assert.equal(off.params().filter((p) => p.name.includes('/skip/')).length, 0);
    off.dispose();
  });
});

describe('every wiring trains (flow matching, AdamW, EMA)', () => {
  const wirings: WiringConfig[] = WIRING_KINDS.map((kind) => ({ kind }) as WiringConfig);
  for (const wiring of wirings) {
    test(`${wiring.kind}: 4 steps lower the loss, move the weights (and wiring scalars), leak nothing`, async () => {
      const m = new DiT(tiny({ depth: 2, longSkips: true, wiring }), `train-${wiring.kind}`);
      const { x, y } = batch(8, 8, 4);
      const snap = await snapshot(m.params().map((p) => p.variable));
      const lossAt = () => scalarOf(() => flowMatchingLoss(m, x, y, 123));
      const l0 = await lossAt();
      const before = tf.memory().numTensors;
      const result = await train(
        { ...TRAIN_DEFAULTS, steps: 4, schedule: { lr: 3e-3, warmupFraction: 0, minRatio: 1 }, optimizer: { ...TRAIN_DEFAULTS.optimizer, weightDecay: 0 }, ema: 0.9, logEvery: 1, checkpointEvery: 0 },
        { params: m.params(), loss: () => flowMatchingLoss(m, x, y, 123) },
        { checkpointFile: null },
      );
      result.dispose();
      assert.equal(tf.memory().numTensors, before, 'training leaks nothing');
      const l1 = await lossAt();
      assert.ok(Number.isFinite(l1) && l1 < l0, `loss ${l0} -> ${l1}`);
      const now = await snapshot(m.params().map((p) => p.variable));
      const changed = m.params().filter((p, i) => now[i].some((v, j) => v !== snap[i][j]));
      const wiringVars = m.params().filter((p) => p.name.startsWith('wiring/'));
      for (const p of wiringVars) assert.ok(changed.includes(p), `${p.name} moved`);
      for (const p of m.params().filter((q) => /attn\/qkv\/w|mlp\/fc1\/w|adaLN\/w|skip\/w|final\/linear\/w/.test(q.name))) {
        assert.ok(changed.includes(p), `${p.name} moved`);
      }
      tf.dispose([x, y]);
      m.dispose();
    });
  }
});

describe('sampler', () => {
  test('deterministic per seed, independent of the batch size, different across seeds; NFE count', async () => {
    const m = new DiT(tiny(), 'sampler');
    for (const p of m.params()) if (/final\/linear\/w/.test(p.name)) p.variable.assign(tf.tidy(() => tf.randomNormal(p.variable.shape, 0, 0.3, 'float32', 5)));
    const labels = [0, 1, 2, 1, 0];
    const cfg = { ...SAMPLER_DEFAULTS, steps: 3 };
    await sampleImages(m, labels, cfg, 7); // warm-up: engine caches
    const before = tf.memory().numTensors;
    const a = await sampleImages(m, labels, cfg, 7);
    const b = await sampleImages(m, labels, { ...cfg, batch: 2 }, 7);
    const c = await sampleImages(m, labels, cfg, 8);
    const g = await sampleImages(m, labels, { ...cfg, cfgScale: 2, solver: 'euler' }, 7);
    assert.equal(tf.memory().numTensors, before, 'sampling leaks nothing');
    assert.equal(a.length, 5 * 64);
    assert.deepEqual(Array.from(a), Array.from(await sampleImages(m, labels, cfg, 7)), 'same seed, same images, bit for bit');
    // another batch size changes only the BLAS summation order
    assert.ok(a.every((v, i) => Math.abs(v - b[i]) < 1e-4), 'batch size does not change the samples');
    assert.ok(a.some((v, i) => Math.abs(v - c[i]) > 0.1), 'another seed gives other samples');
    assert.ok(a.every(Number.isFinite) && g.every(Number.isFinite));
    assert.equal(samplerNfe(cfg), 5);
    assert.equal(samplerNfe({ ...cfg, solver: 'euler', cfgScale: 2 }), 6);
    m.dispose();
  });

  test('an untrained model (zero velocity) returns its initial noise', async () => {
    const m = new DiT(tiny(), 'sampler0');
    const a = await sampleImages(m, [0, 1], { ...SAMPLER_DEFAULTS, steps: 2 }, 3);
    const z = await valuesOf(() => tf.randomNormal([64], 0, 1, 'float32', stepSeed(3, 0, 11)));
    assert.deepEqual(Array.from(a.subarray(0, 64)), Array.from(z));
    m.dispose();
  });

  test('mid-trunk features [B, D] with the null label', () => {
    const m = new DiT(tiny({ depth: 4 }), 'feat');
    assert.equal(m.midBlock, 1);
    const { x, y } = batch(3, 8);
    const t = tf.tensor1d([0.1, 0.1, 0.1]);
    const f = m.midFeatures(x, t);
    assert.deepEqual(f.shape, [3, 16]);
    tf.dispose([x, y, t, f]);
    m.dispose();
  });
});
