import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  Llama,
  LLAMA_DEFAULTS,
  LLAMA_PRESETS,
  LLAMA_PRESET_NAMES,
  LLAMA_NOMINAL_PARAMS,
  llamaParamCount,
  type LlamaConfig,
} from '../../lib/models/llama';
import { Rotary } from '../../lib/models/transformer';
import { tokenCrossEntropy, perplexity, evalWindowStarts } from '../../lib/metrics/perplexity';
import { ConfigError, DataError } from '../../lib/errors';
import { initTestEngine } from '../residual/engine';

before(initTestEngine);

const tiny = (over: Partial<LlamaConfig> = {}): LlamaConfig => ({
  ...LLAMA_DEFAULTS,
  vocabSize: 40,
  width: 16,
  depth: 2,
  heads: 2,
  mlpHidden: 24,
  maxSeqLen: 12,
  seed: 1,
  ...over,
});

describe('Llama: shapes, causality, bad inputs', () => {
  test('logits are [B, T, V]; a sequence longer than maxSeqLen is a ConfigError naming the length', () => {
    const m = new Llama(tiny(), 'shape');
    const x = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 4], 'int32');
    m.logits(x).dispose(); // builds the per-length caches (rotary tables, causal masks)
    const n0 = tf.memory().numTensors;
    const y = m.logits(x);
    assert.deepEqual(y.shape, [2, 4, 40]);
    y.dispose();
    const long = tf.zeros([1, 13], 'int32') as tf.Tensor2D;
    assert.throws(() => m.logits(long), (e: Error) => e instanceof ConfigError && /sequence length 13 .*\[1, 12\]/.test(e.message));
    const flat = tf.zeros([4], 'int32');
    assert.throws(() => m.logits(flat as unknown as tf.Tensor2D), /must be \[batch, sequence\]; got shape \[4\]/);
    // (the rejected calls allocate nothing that survives)
    assert.equal(tf.memory().numTensors, n0 + 2, 'only the two rejected inputs remain');
    tf.dispose([x, long, flat]);
    m.dispose();
  });

  for (const kind of ['residual', 'ancre'] as const) {
    test(`${kind}: changing future tokens leaves earlier logits unchanged (causal mask)`, () => {
      const m = new Llama(tiny({ wiring: { kind }, depth: 3 }), `causal-${kind}`);
      const a = tf.tensor2d([[3, 9, 1, 22, 5, 7]], [1, 6], 'int32');
      const b = tf.tensor2d([[3, 9, 1, 30, 0, 11]], [1, 6], 'int32');
      const la = m.logits(a).arraySync()[0];
      const lb = m.logits(b).arraySync()[0];
      for (let t = 0; t < 3; t++) for (let v = 0; v < 40; v++) assert.ok(Math.abs(la[t][v] - lb[t][v]) < 1e-5, `position ${t} changed`);
      assert.ok(la[3].some((v, i) => Math.abs(v - lb[3][i]) > 1e-4), 'position 3 sees its own (changed) token');
      tf.dispose([a, b]);
      m.dispose();
    });
  }

  test('official init (linearInitStd 0.02): every Linear ~ N(0, 0.02²); 0 keeps the Xavier-uniform models exactly', () => {
    const big = tiny({ width: 64, heads: 2, mlpHidden: 128, vocabSize: 256, linearInitStd: 0.02 });
    const n0 = tf.memory().numTensors;
    const m = new Llama(big);
    const mats = m.params().filter((p) => p.variable.rank === 2);
    // embedding, head, and per layer qkv/out/gate/up/down (however the attention packs them): all rank 2.
    assert.ok(mats.length >= 2 + 2 * 5, `rank-2 parameters: ${mats.map((p) => p.name).join(', ')}`);
    for (const p of mats) {
      const v = Array.from(p.variable.dataSync() as Float32Array);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      assert.ok(Math.abs(sd - 0.02) < 0.002 && Math.abs(mean) < 0.002, `${p.name}: mean ${mean}, std ${sd}`);
    }
    // Norm gains stay at 1.
    for (const p of m.params().filter((q) => q.variable.rank === 1)) assert.ok(p.variable.dataSync().every((x) => x === 1), p.name);
    m.dispose();
    assert.equal(tf.memory().numTensors, n0, 'no leaked tensors');
    // linearInitStd 0 (the default): the same weights as a config without the field (the earlier models).
    const { linearInitStd: _, ...without } = tiny();
    const a = new Llama(tiny({ linearInitStd: 0 }), 'a');
    const b = new Llama(without as LlamaConfig, 'b');
    a.params().forEach((p, i) => assert.deepEqual(Array.from(p.variable.dataSync()), Array.from(b.params()[i].variable.dataSync()), p.name));
    a.dispose();
    b.dispose();
    assert.throws(() => new Llama(tiny({ linearInitStd: 0.02, zeroInitBranches: true })), (e: unknown) => e instanceof ConfigError && /linearInitStd 0\.02 re-initialises every Linear.*zeroInitBranches false/.test((e as Error).message));
    assert.throws(() => new Llama(tiny({ linearInitStd: -1 })), (e: unknown) => e instanceof ConfigError && /linearInitStd must be .*got -1/.test((e as Error).message));
  });

  test('invalid configs: ConfigError naming the value', () => {
    assert.throws(() => new Llama(tiny({ width: 18, heads: 4 })), /divisible by heads/);
    assert.throws(() => new Llama(tiny({ maxSeqLen: 0 })), /maxSeqLen must be/);
    assert.throws(() => new Llama(tiny({ vocabSize: 1 })), /vocabSize must be .*got 1/);
    assert.throws(() => new Llama(tiny({ wiring: { kind: 'ancre', tau: -1 } })), /tau must be > 0; got -1/);
  });
});

describe('rotary embeddings', () => {
  test('exact on a known case: a head of width 4 at position p rotates each pair (x_i, x_{i+2}) by p·θ_i', () => {
    const r = new Rotary(4, 10000);
    const x = tf.tensor4d([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4], [1, 1, 3, 4]); // same vector at positions 0, 1, 2
    const y = r.apply(x).arraySync()[0][0];
    for (let p = 0; p < 3; p++) {
      const th = [p * 1, p * Math.pow(10000, -0.5)]; // θ_i = base^(−2i/Dh)
      const [x0, x1, x2, x3] = [1, 2, 3, 4];
      const want = [
        x0 * Math.cos(th[0]) - x2 * Math.sin(th[0]),
        x1 * Math.cos(th[1]) - x3 * Math.sin(th[1]),
        x2 * Math.cos(th[0]) + x0 * Math.sin(th[0]),
        x3 * Math.cos(th[1]) + x1 * Math.sin(th[1]),
      ];
      want.forEach((w, i) => assert.ok(Math.abs(y[p][i] - w) < 1e-5, `p=${p} i=${i}: ${y[p][i]} vs ${w}`));
    }
    x.dispose();
    r.dispose();
  });
});

describe('parameter counts of the paper configs (embeddings + head counted, as the names do)', () => {
  test('analytic count equals a built model (small config, every part)', () => {
    for (const kind of ['residual', 'ancre'] as const) {
      const c = tiny({ wiring: { kind }, depth: 4 });
      const m = new Llama(c, `count-${kind}`);
      const a = llamaParamCount(c);
      assert.equal(m.paramCount(), a.total);
      assert.equal(a.wiring, kind === 'ancre' ? (4 * 5) / 2 - 1 : 0);
      m.dispose();
    }
  });

  test('60M, 130M, 350M, 1B: counts round to their names; exact values pinned', () => {
    const exact: Record<string, number> = {
      'llama-60m': 58_073_600,
      'llama-130m': 134_105_856,
      'llama-350m': 367_969_280,
      'llama-1b': 1_339_082_752,
    };
    for (const name of LLAMA_PRESET_NAMES) {
      const c = LLAMA_PRESETS[name];
      const n = llamaParamCount(c).total;
      assert.equal(n, exact[name], name);
      // The GaLore/ANCRe names are rounded: within 4% for 60M–350M; "1B" is the usual name of this 1.339B config.
      const rel = n / LLAMA_NOMINAL_PARAMS[name] - 1;
      assert.ok(name === 'llama-1b' ? rel > 0 && rel < 0.35 : Math.abs(rel) < 0.06, `${name}: ${n} vs ${LLAMA_NOMINAL_PARAMS[name]}`);
      assert.equal(c.vocabSize, 32000);
      assert.equal(c.maxSeqLen, 256);
    }
    assert.deepEqual(
      LLAMA_PRESET_NAMES.map((k) => [LLAMA_PRESETS[k].depth, LLAMA_PRESETS[k].width, LLAMA_PRESETS[k].mlpHidden, LLAMA_PRESETS[k].heads]),
      [[8, 512, 1376, 8], [12, 768, 2048, 12], [24, 1024, 2736, 16], [24, 2048, 5461, 32]],
    );
  });

  test('LLaMA-60M builds with exactly the analytic count and takes one gradient step on a tiny batch', () => {
    const t0 = Date.now();
    const c = LLAMA_PRESETS['llama-60m'];
    const m = new Llama(c, 'lm60m');
    assert.equal(m.paramCount(), llamaParamCount(c).total);
    const x = tf.tensor2d([[5, 17, 31999, 0, 42, 7, 7, 1000]], [1, 8], 'int32');
    const y = tf.tensor2d([[17, 31999, 0, 42, 7, 7, 1000, 3]], [1, 8], 'int32');
    const vars = m.params().map((p) => p.variable);
    const { value, grads } = tf.variableGrads(() => m.loss(x, y), vars);
    const l0 = value.dataSync()[0];
    assert.ok(Math.abs(l0 - Math.log(32000)) < 1, `initial loss ${l0} near log V = ${Math.log(32000).toFixed(2)}`);
    // Plain SGD: the shared AdamW's update of 58M parameters alone takes ~10 s on this engine.
    for (const v of vars) tf.tidy(() => v.assign(tf.sub(v, tf.mul(grads[v.name], 0.5))));
    tf.dispose([value, ...Object.values(grads)]);
    const l1 = tf.tidy(() => m.loss(x, y).dataSync()[0]);
    assert.ok(l1 < l0, `one step lowers the loss: ${l0} -> ${l1}`);
    tf.dispose([x, y]);
    m.dispose();
    console.log(`LLaMA-60M: build + one SGD step (batch 1 × 8 tokens) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});

describe('perplexity', () => {
  test('uniform logits give perplexity = vocabulary size exactly; tokens counted', () => {
    const V = 37;
    const tokens = Int32Array.from({ length: 101 }, (_, i) => (i * 7) % V);
    const n0 = tf.memory().numTensors;
    const r = perplexity((x) => tf.zeros([x.shape[0], x.shape[1], V]), tokens, { seqLen: 10, windows: null, batch: 3 });
    assert.equal(tf.memory().numTensors, n0, 'no tensor leaks');
    assert.equal(r.tokens, 100);
    assert.ok(Math.abs(r.perplexity - V) < 1e-4, `${r.perplexity}`);
  });

  test('a known non-uniform case: log-probability of each target computed by hand', () => {
    const logits = tf.tensor2d([[0, Math.log(3)], [Math.log(2), Math.log(2)]]); // p = [1/4, 3/4], [1/2, 1/2]
    const t = tf.tensor1d([1, 0], 'int32');
    const ce = tf.tidy(() => tokenCrossEntropy(logits, t).dataSync()[0]);
    assert.ok(Math.abs(ce - (-Math.log(0.75) - Math.log(0.5))) < 1e-6);
    tf.dispose([logits, t]);
  });

  test("tokenCrossEntropy's analytic gradient equals autodiff of logSoftmax", () => {
    const l = tf.randomNormal([6, 11], 0, 2, 'float32', 4);
    const t = tf.tensor1d([0, 3, 10, 5, 5, 2], 'int32');
    const g1 = tf.grad((x: tf.Tensor) => tokenCrossEntropy(x, t))(l);
    const g2 = tf.grad((x: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(t, 11)))))(l);
    const d = tf.max(tf.abs(tf.sub(g1, g2))).dataSync()[0];
    assert.ok(d < 1e-6, `max difference ${d}`);
    tf.dispose([l, t, g1, g2]);
  });

  test('windows evenly spaced and identical for every call; bad held-out text is a DataError', () => {
    assert.deepEqual(evalWindowStarts(101, 10, 4), [0, 20, 50, 70]);
    assert.deepEqual(evalWindowStarts(101, 10, 100), evalWindowStarts(101, 10, null));
    assert.throws(() => evalWindowStarts(5, 10, null), (e: Error) => e instanceof DataError && /5 tokens/.test(e.message));
  });
});
